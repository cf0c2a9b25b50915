"""The task queues and workers that the queue has seen (Taskcluster's worker
metadata): a row per task queue and per worker, kept by claimWork, claimTask,
reclaimTask and declareWorker, and read by the worker-metadata entries.
A part of `Store`."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

from ..timestamps import iso, parse_time
from .collation import COLLATION

SCHEMA = """
CREATE TABLE IF NOT EXISTS task_queues (
    task_queue_id TEXT PRIMARY KEY,
    expires TEXT NOT NULL,
    last_date_active TEXT NOT NULL,
    description TEXT NOT NULL,
    stability TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_workers (
    task_queue_id TEXT NOT NULL,
    worker_group TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    quarantine_until TEXT NOT NULL,
    quarantine_details TEXT NOT NULL,
    expires TEXT NOT NULL,
    first_claim TEXT NOT NULL,
    recent_tasks TEXT NOT NULL,
    last_date_active TEXT NOT NULL,
    PRIMARY KEY (task_queue_id, worker_group, worker_id)
);
"""

RECENT_TASKS = 20  # a worker's record keeps its last 20 claimed runs


class WorkerRows:
    """Task-queue and worker rows, on the store's connection `db`. Times are
    ISO strings (see `Store`); `moment` is the caller's now."""

    db: sqlite3.Connection

    def queue_seen(self, task_queue_id: str, expires: str, moment: str) -> None:
        """Record a task queue as active now, its expiry extended to `expires`."""
        self.db.execute(
            "INSERT INTO task_queues VALUES (?, ?, ?, '', 'experimental')"
            " ON CONFLICT (task_queue_id) DO UPDATE SET"
            " expires = max(expires, excluded.expires),"
            " last_date_active = excluded.last_date_active",
            (task_queue_id, expires, moment),
        )

    def worker_seen(
        self, task_queue_id: str, worker_group: str, worker_id: str, expires: str, moment: str
    ) -> None:
        """Record a worker as active now (first seen now if new), its expiry extended."""
        not_quarantined = iso(parse_time(moment) - timedelta(days=3652))  # as Taskcluster
        self.db.execute(
            "INSERT INTO queue_workers VALUES (?, ?, ?, ?, '[]', ?, ?, '[]', ?)"
            " ON CONFLICT (task_queue_id, worker_group, worker_id) DO UPDATE SET"
            " expires = max(expires, excluded.expires),"
            " last_date_active = excluded.last_date_active",
            (task_queue_id, worker_group, worker_id, not_quarantined, expires, moment, moment),
        )

    def worker_took(
        self, task_queue_id: str, worker_group: str, worker_id: str, task_id: str, run_id: int
    ) -> None:
        """Add a claimed run to a worker's recent tasks."""
        worker = self.worker_row(task_queue_id, worker_group, worker_id)
        if worker is None:
            return
        recent = [*worker["recentTasks"], {"taskId": task_id, "runId": run_id}][-RECENT_TASKS:]
        self._update_worker(worker, recent_tasks=json.dumps(recent))

    def quarantine(
        self,
        task_queue_id: str,
        worker_group: str,
        worker_id: str,
        until: str,
        details: dict[str, Any],
        expires_at_least: str,
    ) -> dict[str, Any] | None:
        """Set a worker's quarantine and note why; None when there is no such worker."""
        worker = self.worker_row(task_queue_id, worker_group, worker_id)
        if worker is None:
            return None
        self._update_worker(
            worker,
            quarantine_until=until,
            quarantine_details=json.dumps([*worker["quarantineDetails"], details]),
            expires=max(worker["expires"], expires_at_least),
        )
        return self.worker_row(task_queue_id, worker_group, worker_id)

    def _update_worker(self, worker: dict[str, Any], **columns: str) -> None:
        sets = ", ".join(f"{name} = ?" for name in columns)
        self.db.execute(
            f"UPDATE queue_workers SET {sets}"
            " WHERE task_queue_id = ? AND worker_group = ? AND worker_id = ?",
            (*columns.values(), worker["taskQueueId"], worker["workerGroup"], worker["workerId"]),
        )

    def task_queue_rows(self, offset: int, limit: int, active_at: str) -> list[dict[str, Any]]:
        """Unexpired task queues, by taskQueueId (as Taskcluster orders text)."""
        rows = self.db.execute(
            f"SELECT * FROM task_queues WHERE expires > ?"
            f" ORDER BY task_queue_id COLLATE {COLLATION} LIMIT ? OFFSET ?",
            (active_at, limit, offset),
        )
        return [_task_queue(r) for r in rows]

    def task_queue_row(self, task_queue_id: str, active_at: str) -> dict[str, Any] | None:
        """One unexpired task queue, or None."""
        row = self.db.execute(
            "SELECT * FROM task_queues WHERE task_queue_id = ? AND expires > ?",
            (task_queue_id, active_at),
        ).fetchone()
        return _task_queue(row) if row else None

    def worker_row(
        self, task_queue_id: str, worker_group: str, worker_id: str
    ) -> dict[str, Any] | None:
        """One worker's record (expired or not), or None."""
        row = self.db.execute(
            "SELECT * FROM queue_workers"
            " WHERE task_queue_id = ? AND worker_group = ? AND worker_id = ?",
            (task_queue_id, worker_group, worker_id),
        ).fetchone()
        return _worker(row) if row else None

    def worker_rows(self, task_queue_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """A queue's workers (expired ones too), by group then id."""
        rows = self.db.execute(
            f"SELECT * FROM queue_workers WHERE task_queue_id = ?"
            f" ORDER BY worker_group COLLATE {COLLATION}, worker_id COLLATE {COLLATION}"
            f" LIMIT ? OFFSET ?",
            (task_queue_id, limit, offset),
        )
        return [_worker(r) for r in rows]


def _task_queue(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "taskQueueId": row["task_queue_id"],
        "expires": row["expires"],
        "lastDateActive": row["last_date_active"],
        "description": row["description"],
        "stability": row["stability"],
    }


def _worker(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "taskQueueId": row["task_queue_id"],
        "workerGroup": row["worker_group"],
        "workerId": row["worker_id"],
        "quarantineUntil": row["quarantine_until"],
        "quarantineDetails": json.loads(row["quarantine_details"]),
        "expires": row["expires"],
        "firstClaim": row["first_claim"],
        "recentTasks": json.loads(row["recent_tasks"]),
        "lastDateActive": row["last_date_active"],
    }
