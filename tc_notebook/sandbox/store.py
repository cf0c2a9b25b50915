"""Persistence: SQLite (WAL) for clients, tasks, groups, dependencies and
artifacts, in a data directory that one sandbox at a time holds (artifact
bytes are the `BlobStore`'s, in the same directory).

Rows are handed out as plain dicts shaped like Taskcluster's JSON. All
timestamps are ISO-8601 strings with milliseconds and `Z`, which sort in
time order, so SQL compares them as text.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import taskcluster

from ..terms import ACTIVE
from ..timestamps import iso, now, parse_time
from . import artifact_store, worker_store
from .artifact_store import ArtifactRows
from .collation import COLLATION, collate
from .worker_store import WorkerRows

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    access_token TEXT NOT NULL,
    scopes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT UNIQUE NOT NULL,
    task_group_id TEXT NOT NULL,
    task_queue_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    deadline TEXT NOT NULL,
    expires TEXT NOT NULL,
    state TEXT NOT NULL,
    pending_since TEXT,
    taken_until TEXT,
    retries_left INTEGER NOT NULL,
    definition TEXT NOT NULL,
    runs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_group ON tasks (task_group_id, seq);
CREATE INDEX IF NOT EXISTS tasks_pending ON tasks (task_queue_id, state, priority, pending_since);
CREATE INDEX IF NOT EXISTS tasks_taken ON tasks (state, taken_until);
CREATE INDEX IF NOT EXISTS tasks_deadline ON tasks (state, deadline);
CREATE TABLE IF NOT EXISTS task_groups (
    task_group_id TEXT PRIMARY KEY,
    scheduler_id TEXT NOT NULL,
    expires TEXT NOT NULL,
    sealed TEXT
);
CREATE TABLE IF NOT EXISTS dependencies (
    dependent_task_id TEXT NOT NULL,
    required_task_id TEXT NOT NULL,
    requires TEXT NOT NULL,
    satisfied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (required_task_id, dependent_task_id)
);
CREATE INDEX IF NOT EXISTS dependencies_dependent ON dependencies (dependent_task_id);
"""

# Priorities, highest first; stored as their index so SQL can order by it.
PRIORITIES = ("highest", "very-high", "high", "medium", "low", "very-low", "lowest")

ROOT_CLIENT_ID = "root"
GROUP_EXPIRY_MARGIN = timedelta(hours=1)


def _marks(values: tuple[str, ...]) -> str:
    """As many `?` placeholders as values, for `IN (...)`."""
    return ",".join("?" * len(values))


class DataDirInUse(RuntimeError):
    """Another sandbox is serving the same data directory."""


class Store(ArtifactRows, WorkerRows):
    """The sandbox's state on disk. Use from one thread (the server's loop)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self._lock = open(self.data_dir / "sandbox.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise DataDirInUse(f"another sandbox is using {self.data_dir}") from exc
        db_path = self.data_dir / "queue.sqlite"
        self.db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        os.chmod(db_path, 0o600)
        self.db.row_factory = sqlite3.Row
        self.db.create_collation(COLLATION, collate)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        for schema in (SCHEMA, artifact_store.SCHEMA, worker_store.SCHEMA):
            self.db.executescript(schema)
        self._add_missing_columns()
        self._clients: dict[str, tuple[str, list[str]]] = {}  # see client()
        self.root_token = self._ensure_root_client()

    def _add_missing_columns(self) -> None:
        """Bring a data directory from an older sandbox up to this schema."""
        group_columns = {row["name"] for row in self.db.execute("PRAGMA table_info(task_groups)")}
        if "sealed" not in group_columns:
            self.db.execute("ALTER TABLE task_groups ADD COLUMN sealed TEXT")

    def temporary_credentials(
        self, name: str, until: datetime, scopes: list[str]
    ) -> dict[str, str]:
        """Temporary credentials called `name`, issued now by the root client
        and valid until `until`, with `scopes` (a claim's, an upload's)."""
        issued = taskcluster.createTemporaryCredentials(
            ROOT_CLIENT_ID, self.root_token, now(), until, scopes, name=name
        )
        return {**issued, "accessToken": issued["accessToken"].decode()}

    def close(self) -> None:
        """Close the database and release the data directory."""
        self.db.close()
        self._lock.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """`with store.transaction():` makes the writes inside atomic."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _column(self, sql: str, *params: Any) -> list[Any]:
        """The first column of each row a query selects."""
        return [row[0] for row in self.db.execute(sql, params)]

    # -- clients -----------------------------------------------------------

    def _ensure_root_client(self) -> str:
        token_file = self.data_dir / "root-client.json"
        row = self.db.execute(
            "SELECT access_token FROM clients WHERE client_id = ?", (ROOT_CLIENT_ID,)
        ).fetchone()
        token = row["access_token"] if row else secrets.token_urlsafe(33)
        if not row:
            self.set_client(ROOT_CLIENT_ID, ["*"], token)
        if not token_file.exists():
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"clientId": ROOT_CLIENT_ID, "accessToken": token}, out)
        return token

    def set_client(self, client_id: str, scopes: list[str], access_token: str) -> None:
        """Create or replace a client."""
        self.db.execute(
            "INSERT OR REPLACE INTO clients VALUES (?, ?, ?)",
            (client_id, access_token, json.dumps(scopes)),
        )
        self._clients.pop(client_id, None)

    def client(self, client_id: str) -> tuple[str, list[str]] | None:
        """(accessToken, scopes) of a client, or None. Clients found are kept
        in memory: this store is the only writer of its database."""
        found = self._clients.get(client_id)
        if found is None:
            row = self.db.execute(
                "SELECT access_token, scopes FROM clients WHERE client_id = ?", (client_id,)
            ).fetchone()
            if row is None:
                return None
            found = self._clients[client_id] = (row["access_token"], json.loads(row["scopes"]))
        return found[0], list(found[1])

    # -- tasks -------------------------------------------------------------

    @staticmethod
    def _task_from_row(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "taskId": row["task_id"],
            "definition": json.loads(row["definition"]),
            "runs": json.loads(row["runs"]),
            "retriesLeft": row["retries_left"],
            "takenUntil": row["taken_until"],
        }

    def task(self, task_id: str) -> dict[str, Any] | None:
        """A task as `{taskId, definition, runs, retriesLeft, takenUntil}`."""
        row = self.db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return self._task_from_row(row) if row else None

    def insert_task(self, task: dict[str, Any]) -> None:
        """Store a new task (see `task()` for its shape)."""
        d = task["definition"]
        self.db.execute(
            "INSERT INTO tasks (task_id, task_group_id, task_queue_id, priority, deadline,"
            " expires, state, pending_since, taken_until, retries_left, definition, runs)"
            " VALUES (?, ?, ?, ?, ?, ?, 'unscheduled', NULL, NULL, ?, ?, '[]')",
            (
                task["taskId"],
                d["taskGroupId"],
                d["taskQueueId"],
                PRIORITIES.index(d["priority"]),
                d["deadline"],
                d["expires"],
                task["retriesLeft"],
                json.dumps(d),
            ),
        )
        self.save_runs(task)

    def save_runs(self, task: dict[str, Any]) -> None:
        """Write a task's runs, retriesLeft and takenUntil, and its derived state."""
        runs = task["runs"]
        last = runs[-1] if runs else None
        state = last["state"] if last else "unscheduled"
        self.db.execute(
            "UPDATE tasks SET runs = ?, retries_left = ?, taken_until = ?, state = ?,"
            " pending_since = ? WHERE task_id = ?",
            (
                json.dumps(runs),
                task["retriesLeft"],
                task["takenUntil"],
                state,
                last["scheduled"] if state == "pending" else None,
                task["taskId"],
            ),
        )

    def pending_task_ids(self, task_queue_id: str, limit: int, moment: str) -> list[str]:
        """Claimable tasks of a queue (deadline after `moment`), highest
        priority first, then oldest."""
        return self._column(
            "SELECT task_id FROM tasks WHERE task_queue_id = ? AND state = 'pending'"
            " AND deadline > ? ORDER BY priority, pending_since, seq LIMIT ?",
            task_queue_id,
            moment,
            limit,
        )

    def pending_count(self, task_queue_id: str) -> int:
        """How many tasks of a queue are pending."""
        return self._column(
            "SELECT count(*) FROM tasks WHERE task_queue_id = ? AND state = 'pending'",
            task_queue_id,
        )[0]

    def claims_expired_before(self, moment: str) -> list[str]:
        """Running tasks whose claim ran out before `moment`."""
        return self._column(
            "SELECT task_id FROM tasks WHERE state = 'running' AND taken_until < ?", moment
        )

    def deadlines_before(self, moment: str) -> list[str]:
        """Unresolved tasks whose deadline is before `moment`."""
        return self._column(
            f"SELECT task_id FROM tasks WHERE state IN ({_marks(ACTIVE)}) AND deadline < ?",
            *ACTIVE,
            moment,
        )

    def tasks_by_ids(self, task_ids: list[str], offset: int, limit: int) -> list[dict[str, Any]]:
        """The stored tasks among `task_ids` (unknown ones left out), oldest first."""
        rows = self.db.execute(
            "SELECT * FROM tasks WHERE task_id IN (SELECT value FROM json_each(?))"
            " ORDER BY seq LIMIT ? OFFSET ?",
            (json.dumps(task_ids), limit, offset),
        )
        return [self._task_from_row(r) for r in rows]

    def queued_tasks(
        self, task_queue_id: str, state: str, after: tuple[str, str] | None, limit: int
    ) -> list[tuple[dict[str, Any], str]]:
        """(task, since) for a queue's tasks in `state` (pending or running), by
        the time they became so (`since`: scheduled or started), after the
        (since, taskId) of a previous page's last row."""
        since = "pending_since" if state == "pending" else "json_extract(runs, '$[#-1].started')"
        after_since, after_id = after or ("", "")
        rows = self.db.execute(
            f"SELECT *, {since} AS since FROM tasks WHERE task_queue_id = ? AND state = ?"
            f" AND since > ? AND task_id != ? ORDER BY since, seq LIMIT ?",
            (task_queue_id, state, after_since, after_id, limit),
        )
        return [(self._task_from_row(r), r["since"]) for r in rows]

    def running_count(self, task_queue_id: str) -> int:
        """How many tasks of a queue are claimed (running)."""
        return self._column(
            "SELECT count(*) FROM tasks WHERE task_queue_id = ? AND state = 'running'",
            task_queue_id,
        )[0]

    def set_priority(self, task: dict[str, Any], priority: str) -> None:
        """Give a task a new priority (in its definition too)."""
        task["definition"]["priority"] = priority
        self.db.execute(
            "UPDATE tasks SET priority = ?, definition = ? WHERE task_id = ?",
            (PRIORITIES.index(priority), json.dumps(task["definition"]), task["taskId"]),
        )

    def live_group_task_ids(self, task_group_id: str, before_deadline: str) -> list[str]:
        """A group's tasks whose deadline is after `before_deadline`, by taskId."""
        return self._column(
            f"SELECT task_id FROM tasks WHERE task_group_id = ? AND deadline > ?"
            f" ORDER BY task_id COLLATE {COLLATION}",
            task_group_id,
            before_deadline,
        )

    # -- task groups -------------------------------------------------------

    def task_group(self, task_group_id: str) -> dict[str, Any] | None:
        """`{taskGroupId, schedulerId, expires, sealed?}` or None."""
        row = self.db.execute(
            "SELECT * FROM task_groups WHERE task_group_id = ?", (task_group_id,)
        ).fetchone()
        if not row:
            return None
        group = {
            "taskGroupId": row["task_group_id"],
            "schedulerId": row["scheduler_id"],
            "expires": row["expires"],
        }
        return group | ({"sealed": row["sealed"]} if row["sealed"] else {})

    def seal_task_group(self, task_group_id: str, moment: str) -> None:
        """Seal a group at `moment`, unless it already is."""
        self.db.execute(
            "UPDATE task_groups SET sealed = coalesce(sealed, ?) WHERE task_group_id = ?",
            (moment, task_group_id),
        )

    def group_size(self, task_group_id: str) -> int:
        """How many tasks a group has."""
        return self._column("SELECT count(*) FROM tasks WHERE task_group_id = ?", task_group_id)[0]

    def ensure_task_group(self, task_group_id: str, scheduler_id: str, expires: str) -> None:
        """Create a group, or extend its expiry for a task that expires later;
        as in Taskcluster, a group expires an hour after the task that made it so."""
        last = parse_time(expires)
        extended = iso(
            min(last, datetime.max.replace(tzinfo=last.tzinfo) - GROUP_EXPIRY_MARGIN)
            + GROUP_EXPIRY_MARGIN
        )
        self.db.execute(
            "INSERT INTO task_groups (task_group_id, scheduler_id, expires) VALUES (?, ?, ?)"
            " ON CONFLICT (task_group_id) DO UPDATE SET expires = excluded.expires"
            " WHERE ? > task_groups.expires",
            (task_group_id, scheduler_id, extended, expires),
        )

    def group_task_ids(self, task_group_id: str, offset: int, limit: int) -> list[str]:
        """Task ids of a group, ordered as Taskcluster orders taskIds."""
        return self._column(
            f"SELECT task_id FROM tasks WHERE task_group_id = ?"
            f" ORDER BY task_id COLLATE {COLLATION} LIMIT ? OFFSET ?",
            task_group_id,
            limit,
            offset,
        )

    # -- dependencies ------------------------------------------------------

    def add_dependencies(self, dependent: str, required: list[str], requires: str) -> None:
        """Record that `dependent` waits for each task in `required`."""
        self.db.executemany(
            "INSERT OR IGNORE INTO dependencies VALUES (?, ?, ?, 0)",
            [(dependent, r, requires) for r in required],
        )

    def unsatisfied_count(self, dependent: str) -> int:
        """How many dependencies of `dependent` are still unsatisfied."""
        return self._column(
            "SELECT count(*) FROM dependencies WHERE dependent_task_id = ? AND satisfied = 0",
            dependent,
        )[0]

    def satisfy_dependencies(self, required: str, resolution: str) -> list[str]:
        """Mark edges from `required` satisfied by its resolution; return the
        dependents that now have nothing left to wait for."""
        kinds = (
            ("all-completed", "all-resolved") if resolution == "completed" else ("all-resolved",)
        )
        dependents = self._column(
            f"SELECT dependent_task_id FROM dependencies WHERE required_task_id = ?"
            f" AND satisfied = 0 AND requires IN ({_marks(kinds)})",
            required,
            *kinds,
        )
        self.db.execute(
            f"UPDATE dependencies SET satisfied = 1 WHERE required_task_id = ?"
            f" AND requires IN ({_marks(kinds)})",
            (required, *kinds),
        )
        return [d for d in dependents if self.unsatisfied_count(d) == 0]

    def dependent_task_ids(self, required: str, offset: int, limit: int) -> list[str]:
        """Tasks that depend on `required`, ordered as Taskcluster orders taskIds."""
        return self._column(
            f"SELECT d.dependent_task_id FROM dependencies d JOIN tasks t"
            f" ON t.task_id = d.dependent_task_id WHERE d.required_task_id = ?"
            f" ORDER BY d.dependent_task_id COLLATE {COLLATION} LIMIT ? OFFSET ?",
            required,
            limit,
            offset,
        )
