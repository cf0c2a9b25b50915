"""Task groups: created implicitly, one schedulerId each, getTaskGroup and
listTaskGroup with its pagination.
"""

from __future__ import annotations

from helpers import ISO_MS, expect_error, make_task, new_task_id

from tc_notebook.timestamps import parse_time


class TestTaskGroups:
    """Task groups: implicit creation, schedulerId, listing, pagination."""

    def test_get_task_group(self, queue):
        """getTaskGroup returns {taskGroupId, schedulerId, expires}."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group, schedulerId="sched-a"))
        res = queue.getTaskGroup(group)
        assert res["taskGroupId"] == group
        assert res["schedulerId"] == "sched-a"
        assert ISO_MS.match(res["expires"]) or parse_time(res["expires"])

    def test_unknown_group_is_404(self, queue):
        """Unknown groups answer 404 for getTaskGroup and listTaskGroup."""
        group = new_task_id()
        expect_error(queue.getTaskGroup, group, status=404, code="ResourceNotFound")
        expect_error(queue.listTaskGroup, group, status=404, code="ResourceNotFound")

    def test_scheduler_id_conflict(self, queue):
        """All tasks in a group must share schedulerId (409 otherwise)."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group, schedulerId="sched-a"))
        other = new_task_id()
        expect_error(queue.createTask, other, make_task(taskGroupId=group,
                                                        schedulerId="sched-b"),
                     status=409, code="RequestConflict")
        expect_error(queue.status, other, status=404)

    def test_list_task_group_pagination(self, queue):
        """listTaskGroup pages with limit; continuationToken is absent on the last page."""
        group = new_task_id()
        ids = set()
        for _ in range(5):
            tid = new_task_id()
            ids.add(tid)
            queue.createTask(tid, make_task(taskGroupId=group))
        seen = []
        pages = 0
        token = None
        while True:
            query = {"limit": 2}
            if token:
                query["continuationToken"] = token
            res = queue.listTaskGroup(group, query=query)
            pages += 1
            assert res["taskGroupId"] == group
            assert res["schedulerId"] == "-"
            assert len(res["tasks"]) <= 2
            for item in res["tasks"]:
                assert set(item) == {"status", "task"}
                assert item["task"]["taskGroupId"] == group
                seen.append(item["status"]["taskId"])
            token = res.get("continuationToken")
            if not token:
                assert "continuationToken" not in res
                break
            assert pages < 10
        assert pages == 3
        assert sorted(seen) == sorted(ids)
        full = queue.listTaskGroup(group)
        assert "continuationToken" not in full
        assert {t["status"]["taskId"] for t in full["tasks"]} == ids

    def test_list_task_group_pagination_handler(self, queue):
        """The client's paginationHandler loop terminates and sees every task."""
        group = new_task_id()
        ids = {new_task_id() for _ in range(3)}
        for tid in ids:
            queue.createTask(tid, make_task(taskGroupId=group))
        seen = []
        queue.listTaskGroup(group, paginationHandler=lambda r: seen.extend(
            t["status"]["taskId"] for t in r["tasks"]), paginationLimit=1)
        assert sorted(seen) == sorted(ids)

    def test_bad_continuation_token(self, queue):
        """An undecodable listTaskGroup token is a 400 InputError."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group))
        expect_error(queue.listTaskGroup, group, query={"continuationToken": "!!not-valid!!"},
                     status=400, code="InputError")

    def test_limit_must_be_numeric(self, queue):
        """limit must match ^[0-9]+$."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group))
        expect_error(queue.listTaskGroup, group, query={"limit": "ten"}, status=400,
                     code="InvalidRequestArguments")
