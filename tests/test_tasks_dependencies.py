"""Dependencies: when a dependent is scheduled (requires all-completed or
all-resolved), what a dependency must be, and listDependentTasks.
"""

from __future__ import annotations

import pytest
from helpers import create_and_claim, expect_error, from_now, make_task, new_queue_id, new_task_id


class TestDependencies:
    """Dependencies, requires and listDependentTasks."""

    @pytest.mark.parametrize("requires, report", [("all-completed", "reportCompleted"),
                                                  ("all-resolved", "reportFailed")])
    def test_dependent_scheduled_by_resolution(self, queue, root_url, requires, report):
        """A dependent stays unscheduled, without runs, until its dependency resolves as
        it requires: completed for all-completed, any resolution for all-resolved."""
        tq = new_queue_id()
        dep_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        definition = make_task(tq, dependencies=[dep_id], requires=requires)
        status = queue.createTask(child, definition)["status"]
        assert status["state"] == "unscheduled"
        assert status["runs"] == []
        assert queue.status(child)["status"]["state"] == "unscheduled"
        getattr(worker, report)(dep_id, 0)
        status = queue.status(child)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == "scheduled"

    def test_all_completed_blocked_by_failure(self, queue, root_url):
        """A failed dependency leaves an all-completed dependent unscheduled."""
        tq = new_queue_id()
        dep_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[dep_id]))
        worker.reportFailed(dep_id, 0)
        assert queue.status(child)["status"]["state"] == "unscheduled"

    def test_retried_exception_is_not_a_resolution(self, queue, root_url):
        """worker-shutdown with retries left does not unblock all-resolved dependents."""
        tq = new_queue_id()
        dep_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[dep_id], requires="all-resolved"))
        worker.reportException(dep_id, 0, {"reason": "worker-shutdown"})
        assert queue.status(dep_id)["status"]["state"] == "pending"
        assert queue.status(child)["status"]["state"] == "unscheduled"

    def test_waits_for_all_dependencies(self, queue, root_url):
        """A dependent with two dependencies waits for both."""
        tq = new_queue_id()
        a, claim_a, worker_a = create_and_claim(queue, root_url, task_queue_id=tq)
        b, claim_b, worker_b = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[a, b]))
        worker_a.reportCompleted(a, 0)
        assert queue.status(child)["status"]["state"] == "unscheduled"
        worker_b.reportCompleted(b, 0)
        assert queue.status(child)["status"]["state"] == "pending"

    def test_created_after_dependency_completed(self, queue, root_url):
        """Depending on an already completed task schedules immediately."""
        dep_id, _, worker = create_and_claim(queue, root_url)
        worker.reportCompleted(dep_id, 0)
        child = new_task_id()
        status = queue.createTask(child, make_task(dependencies=[dep_id]))["status"]
        assert status["state"] == "pending"

    def test_missing_dependency(self, queue):
        """An unknown dependency is a 400 InputError and the task is not kept."""
        child = new_task_id()
        expect_error(queue.createTask, child, make_task(dependencies=[new_task_id()]),
                     status=400, code="InputError")
        expect_error(queue.status, child, status=404)

    def test_dependency_expiring_before_deadline(self, queue):
        """A dependency with expires < this deadline is a 400 InputError."""
        dep = new_task_id()
        queue.createTask(dep, make_task(deadline=from_now(hours=1), expires=from_now(hours=1)))
        child = new_task_id()
        expect_error(queue.createTask, child,
                     make_task(dependencies=[dep], deadline=from_now(hours=2)),
                     status=400, code="InputError")
        expect_error(queue.status, child, status=404)

    def test_self_dependency_needs_schedule_task(self, queue):
        """A task depending on itself stays unscheduled until scheduleTask."""
        task_id = new_task_id()
        status = queue.createTask(task_id, make_task(dependencies=[task_id]))["status"]
        assert status["state"] == "unscheduled"
        assert status["runs"] == []
        status = queue.scheduleTask(task_id)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == "scheduled"

    def test_list_dependent_tasks_pagination(self, queue):
        """listDependentTasks pages with limit and continuationToken."""
        dep = new_task_id()
        queue.createTask(dep, make_task())
        children = set()
        for _ in range(3):
            child = new_task_id()
            children.add(child)
            queue.createTask(child, make_task(dependencies=[dep]))
        res = queue.listDependentTasks(dep)
        assert res["taskId"] == dep
        assert "continuationToken" not in res
        assert {t["status"]["taskId"] for t in res["tasks"]} == children
        for item in res["tasks"]:
            assert item["task"]["dependencies"] == [dep]
        first = queue.listDependentTasks(dep, query={"limit": 2})
        assert len(first["tasks"]) == 2
        assert first.get("continuationToken")
        second = queue.listDependentTasks(
            dep, query={"limit": 2, "continuationToken": first["continuationToken"]})
        assert len(second["tasks"]) == 1
        assert "continuationToken" not in second
        assert {t["status"]["taskId"] for t in first["tasks"] + second["tasks"]} == children

    def test_list_dependent_tasks_empty_and_unknown(self, queue):
        """No dependents gives an empty list; an unknown task is 404."""
        task_id = new_task_id()
        queue.createTask(task_id, make_task())
        assert queue.listDependentTasks(task_id)["tasks"] == []
        expect_error(queue.listDependentTasks, new_task_id(), status=404,
                     code="ResourceNotFound")
