"""Persistence of the Index: indexed tasks and namespaces, in tables of
their own in the queue's database (Taskcluster's services share one database
too). One connection, then: a task's completion and its indexing, which the
queue's transition listener does at once, are written together.

Rows are plain dicts; timestamps are ISO-8601 strings with milliseconds and
`Z`, compared as text. Lists are sorted as Taskcluster's database sorts
(see `collation`).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..timestamps import iso, now
from .collation import COLLATION

SCHEMA = """
CREATE TABLE IF NOT EXISTS indexed_tasks (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rank INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    data TEXT NOT NULL,
    expires TEXT NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS index_namespaces (
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    expires TEXT NOT NULL,
    PRIMARY KEY (parent, name)
);
"""

_TASK_COLUMNS = "namespace, name, rank, task_id AS taskId, data, expires"


def _task(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "data": json.loads(row["data"])}


class IndexStore:
    """The Index's tables in the queue's database `db` (a `Store`'s, whose
    rows are `sqlite3.Row`s and which knows COLLATION). Use from one thread
    (the server's loop)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(SCHEMA)

    def expire(self) -> None:
        """Delete what expired, as Taskcluster's periodic expiry does."""
        moment = iso(now())
        self.db.execute("DELETE FROM indexed_tasks WHERE expires < ?", (moment,))
        self.db.execute("DELETE FROM index_namespaces WHERE expires < ?", (moment,))

    # -- indexed tasks ---------------------------------------------------------

    def task(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The task indexed at namespace.name (expired or not), or None."""
        row = self.db.execute(
            f"SELECT {_TASK_COLUMNS} FROM indexed_tasks WHERE namespace = ? AND name = ?",
            (namespace, name),
        ).fetchone()
        return _task(row) if row else None

    def put_task(self, task: dict[str, Any]) -> None:
        """Insert or replace the task indexed at task's namespace and name."""
        self.db.execute(
            "INSERT OR REPLACE INTO indexed_tasks (namespace, name, rank, task_id, data, expires)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                task["namespace"],
                task["name"],
                task["rank"],
                task["taskId"],
                json.dumps(task["data"]),
                task["expires"],
            ),
        )

    def delete_task(self, namespace: str, name: str) -> None:
        """Remove the task indexed at namespace.name, if any."""
        self.db.execute(
            "DELETE FROM indexed_tasks WHERE namespace = ? AND name = ?", (namespace, name)
        )

    def tasks(self, namespace: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """Unexpired tasks indexed right under `namespace`, by name."""
        rows = self.db.execute(
            f"SELECT {_TASK_COLUMNS} FROM indexed_tasks WHERE namespace = ? AND expires > ?"
            f" ORDER BY name COLLATE {COLLATION} LIMIT ? OFFSET ?",
            (namespace, iso(now()), limit, offset),
        )
        return [_task(row) for row in rows]

    # -- namespaces ------------------------------------------------------------

    def namespace_expires(self, parent: str, name: str) -> str | None:
        """When the namespace parent.name expires; None when there is none."""
        row = self.db.execute(
            "SELECT expires FROM index_namespaces WHERE parent = ? AND name = ?", (parent, name)
        ).fetchone()
        return row[0] if row else None

    def put_namespace(self, parent: str, name: str, expires: str) -> None:
        """Create the namespace parent.name, or set when it expires."""
        self.db.execute(
            "INSERT OR REPLACE INTO index_namespaces (parent, name, expires) VALUES (?, ?, ?)",
            (parent, name, expires),
        )

    def namespaces(self, parent: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """Unexpired namespaces right under `parent`, by name."""
        rows = self.db.execute(
            "SELECT parent, name, expires FROM index_namespaces WHERE parent = ? AND expires > ?"
            f" ORDER BY name COLLATE {COLLATION} LIMIT ? OFFSET ?",
            (parent, iso(now()), limit, offset),
        )
        return [dict(row) for row in rows]
