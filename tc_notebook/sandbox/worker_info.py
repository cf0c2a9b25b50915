"""Worker metadata: the task queues, provisioners and workers the queue has
seen. claimWork, claimTask and reclaimTask record them (`seen`, `took`);
declareWorker and quarantineWorker change a worker's record; the rest are
the read entries (listTaskQueues ... getWorker). Provisioners and worker
types are views of the task queues, as in Taskcluster since task queues
replaced them. Records of queues seen without a worker last 5 days, of
workers (and their queues) 1 day from when last seen."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from ..timestamps import iso, now
from .errors import APIError
from .paging import offset_page
from .runs import not_found
from .scopes import Authorize
from .store import Store

TASK_QUEUE_ID = r"[a-zA-Z0-9-_]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?"
WORKER_LIFETIME = timedelta(days=1)
QUEUE_LIFETIME = timedelta(days=5)  # a queue seen without a worker (claimTask)
QUARANTINED_RECORD = timedelta(days=1)  # a quarantined worker's record lasts at least this


def split_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A record with `provisionerId` and `workerType` from its `taskQueueId`."""
    provisioner_id, worker_type = record["taskQueueId"].split("/", 1)
    return {**record, "provisionerId": provisioner_id, "workerType": worker_type}


class WorkerInfo:
    """The worker-metadata entries and the records behind them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- records -----------------------------------------------------------

    def seen(
        self, task_queue_id: str, worker_group: str | None = None, worker_id: str | None = None
    ) -> None:
        """A queue (and its worker, when known) asked for work now."""
        moment = now()
        if worker_group is None or worker_id is None:
            self.store.queue_seen(task_queue_id, iso(moment + QUEUE_LIFETIME), iso(moment))
            return
        expires = iso(moment + WORKER_LIFETIME)
        self.store.queue_seen(task_queue_id, expires, iso(moment))
        self.store.worker_seen(task_queue_id, worker_group, worker_id, expires, iso(moment))

    def took(
        self, task_queue_id: str, worker_group: str, worker_id: str, claims: list[dict]
    ) -> None:
        """A worker claimed these runs: its recent tasks."""
        for claim in claims:
            self.store.worker_took(
                task_queue_id, worker_group, worker_id, claim["status"]["taskId"], claim["runId"]
            )

    def quarantined(self, task_queue_id: str, worker_group: str, worker_id: str) -> bool:
        """Whether the worker is quarantined now (and so gets no work)."""
        worker = self.store.worker_row(task_queue_id, worker_group, worker_id)
        return worker is not None and worker["quarantineUntil"] > iso(now())

    # -- task queues, provisioners, worker types -----------------------------

    def list_task_queues(self, token: str | None, limit: str | None) -> dict:
        """listTaskQueues: the task queues seen and not expired, by id."""
        active_at = iso(now())
        return offset_page(
            "taskQueues",
            lambda offset, size: self.store.task_queue_rows(offset, size, active_at),
            token,
            limit,
        )

    def get_task_queue(self, task_queue_id: str) -> dict:
        """getTaskQueue."""
        queue = self.store.task_queue_row(task_queue_id, iso(now()))
        if queue is None:
            raise not_found(
                "Task queue with `{{taskQueueId}}` not found. Are you sure it was created?",
                taskQueueId=task_queue_id,
            )
        return queue

    def _all_queues(self, provisioner_id: str | None = None) -> list[dict[str, Any]]:
        queues = [split_fields(q) for q in self.store.task_queue_rows(0, -1, iso(now()))]
        return [q for q in queues if provisioner_id in (None, q["provisionerId"])]

    def _provisioners(self) -> list[dict[str, Any]]:
        """One record per provisioner of the active queues: its latest expiry and activity."""
        found: dict[str, dict[str, Any]] = {}
        for queue in self._all_queues():
            record = found.setdefault(
                queue["provisionerId"],
                {
                    "provisionerId": queue["provisionerId"],
                    "expires": queue["expires"],
                    "lastDateActive": queue["lastDateActive"],
                    "description": "",
                    "stability": "experimental",
                },
            )
            record["expires"] = max(record["expires"], queue["expires"])
            record["lastDateActive"] = max(record["lastDateActive"], queue["lastDateActive"])
        return list(found.values())

    def list_provisioners(self, token: str | None, limit: str | None) -> dict:
        """listProvisioners. As Taskcluster v106 does, it never answers a
        continuation token, though it pages."""
        provisioners = self._provisioners()
        reply = offset_page(
            "provisioners", lambda offset, size: provisioners[offset : offset + size], token, limit
        )
        reply.pop("continuationToken", None)
        return reply

    def get_provisioner(self, provisioner_id: str) -> dict:
        """getProvisioner."""
        for provisioner in self._provisioners():
            if provisioner["provisionerId"] == provisioner_id:
                return provisioner
        raise not_found(
            "Provisioner `{{provisionerId}}` not found. Are you sure it was created?",
            provisionerId=provisioner_id,
        )

    def list_worker_types(self, provisioner_id: str, token: str | None, limit: str | None) -> dict:
        """listWorkerTypes: the active queues of a provisioner."""
        queues = self._all_queues(provisioner_id)
        return offset_page(
            "workerTypes", lambda offset, size: queues[offset : offset + size], token, limit
        )

    def get_worker_type(self, provisioner_id: str, worker_type: str) -> dict:
        """getWorkerType."""
        queue = self.store.task_queue_row(f"{provisioner_id}/{worker_type}", iso(now()))
        if queue is None:
            raise not_found(
                "Worker-type `{{workerType}}` with Provisioner `{{provisionerId}}` not found."
                " Are you sure it was created?",
                workerType=worker_type,
                provisionerId=provisioner_id,
            )
        return split_fields(queue)

    # -- workers -----------------------------------------------------------

    def list_workers(
        self,
        provisioner_id: str,
        worker_type: str,
        token: str | None,
        limit: str | None,
        quarantined: str | None,
    ) -> dict:
        """listWorkers: a queue's workers, paged, then those that are expired
        and not quarantined left out (so a page may be short, as in Taskcluster),
        and filtered by `quarantined` ("true" / "false") when given."""
        moment = iso(now())

        def shown(worker: dict[str, Any]) -> bool:
            held = worker["quarantineUntil"] >= moment
            if quarantined is not None and held != (quarantined == "true"):
                return False
            return worker["expires"] >= moment or held

        def entry(worker: dict[str, Any]) -> dict[str, Any]:
            shape = {
                k: worker[k] for k in ("workerGroup", "workerId", "firstClaim", "lastDateActive")
            }
            if worker["recentTasks"]:
                shape["latestTask"] = worker["recentTasks"][-1]
            if worker["quarantineUntil"] > moment:
                shape["quarantineUntil"] = worker["quarantineUntil"]
            return shape

        task_queue_id = f"{provisioner_id}/{worker_type}"
        reply = offset_page(
            "workers",
            lambda offset, size: self.store.worker_rows(task_queue_id, offset, size),
            token,
            limit,
        )
        reply["workers"] = [entry(w) for w in reply["workers"] if shown(w)]
        return reply

    def _worker_not_found(self, params: dict[str, str]) -> Exception:
        return not_found(
            "Worker with workerId `{{workerId}}`, workerGroup `{{workerGroup}}`, worker-type"
            " `{{workerType}}` and provisionerId `{{provisionerId}}` not found.",
            **params,
        )

    def get_worker(
        self, provisioner_id: str, worker_type: str, worker_group: str, worker_id: str
    ) -> dict:
        """getWorker: a worker's record, kept while it is unexpired or quarantined."""
        task_queue_id, moment = f"{provisioner_id}/{worker_type}", iso(now())
        worker = self.store.worker_row(task_queue_id, worker_group, worker_id)
        queue = self.store.task_queue_row(task_queue_id, moment)
        gone = worker is None or (worker["expires"] < moment and worker["quarantineUntil"] < moment)
        if gone or queue is None:
            raise self._worker_not_found(
                {
                    "workerId": worker_id,
                    "workerGroup": worker_group,
                    "workerType": worker_type,
                    "provisionerId": provisioner_id,
                }
            )
        return _worker_reply(worker)

    def quarantine_worker(
        self, params: dict[str, str], body: dict[str, Any], client_id: str
    ) -> dict:
        """quarantineWorker: no work for the worker until `quarantineUntil`
        (a past time lifts it); each call is noted in quarantineDetails."""
        moment = now()
        details = {
            "clientId": client_id,
            "updatedAt": iso(moment),
            "quarantineUntil": body["quarantineUntil"],
            "quarantineInfo": body.get("quarantineInfo") or "[unspecified]",
        }
        worker = self.store.quarantine(
            f"{params['provisionerId']}/{params['workerType']}",
            params["workerGroup"],
            params["workerId"],
            body["quarantineUntil"],
            details,
            iso(moment + QUARANTINED_RECORD),
        )
        if worker is None:
            raise self._worker_not_found(params)
        return _worker_reply(worker)

    def declare_worker(
        self, params: dict[str, str], body: dict[str, Any], authorize: Authorize
    ) -> dict:
        """declareWorker: a worker says it exists until `expires` (needs a
        scope per property it sets)."""
        authorize(properties=sorted(body))
        task_queue_id = f"{params['provisionerId']}/{params['workerType']}"
        if not re.fullmatch(TASK_QUEUE_ID, task_queue_id):
            # Taskcluster would record it, and then fail to list its task queues.
            raise APIError(
                "InvalidRequestArguments",
                "{{taskQueueId}} is not a task queue id: the workerType must match {{pattern}}",
                taskQueueId=task_queue_id,
                pattern=TASK_QUEUE_ID,
            )
        moment = iso(now())
        self.store.queue_seen(task_queue_id, body["expires"], moment)
        self.store.worker_seen(
            task_queue_id, params["workerGroup"], params["workerId"], body["expires"], moment
        )
        worker = self.store.worker_row(task_queue_id, params["workerGroup"], params["workerId"])
        return _worker_reply(worker)


def _worker_reply(worker: dict[str, Any]) -> dict[str, Any]:
    """A worker's record as getWorker answers it (without the quarantine
    notes, which Taskcluster keeps but does not show here either)."""
    return split_fields({k: v for k, v in worker.items() if k != "quarantineDetails"})
