"""Persistence: SQLite (WAL) for clients, tasks, groups, dependencies and
artifacts; artifact bytes as files under the data directory.

Rows are handed out as plain dicts shaped like Taskcluster's JSON. All
timestamps are ISO-8601 strings with milliseconds and `Z`, which sort in
time order, so SQL compares them as text.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
CREATE TABLE IF NOT EXISTS artifacts (
    task_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    storage_type TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content_length INTEGER,
    expires TEXT NOT NULL,
    present INTEGER NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (task_id, run_id, name)
);
"""

# Priorities, highest first; stored as their index so SQL can order by it.
PRIORITIES = ("highest", "very-high", "high", "medium", "low", "very-low", "lowest")

ROOT_CLIENT_ID = "root"
PARTIAL_SUFFIX = ".partial"  # blob uploads in progress; never served

# Taskcluster's Postgres database sorts text with the en_US.UTF-8 collation
# (in its deployments and its dev rig alike), so it lists tasks by taskId and
# artifacts by name in that order, not byte by byte. For printable ASCII (all
# that taskIds and artifact names hold): letters and digits compare first,
# ignoring case and punctuation (`$` < digits < letters); on a tie, lower case
# comes before upper case; on a tie again, the punctuation marks decide, place
# by place, in the order of _PUNCTUATION. tests/test_order.py checks this
# against the C library's own en_US.UTF-8 where it is installed.
COLLATION = "taskcluster"
_PRIMARY = "$0123456789abcdefghijklmnopqrstuvwxyz"
_PUNCTUATION = " !\"#%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def collation_key(text: str) -> tuple[tuple[int, ...], ...]:
    """A sort key that orders text as Taskcluster's database does (see COLLATION;
    characters beyond printable ASCII, which no name holds, sort after letters)."""
    primary, case, punctuation = [], [], []
    for char in text:
        if char in _PUNCTUATION:
            punctuation.append(_PUNCTUATION.index(char))
            continue
        folded = char.lower()
        index = _PRIMARY.find(folded)
        primary.append(index if index >= 0 else len(_PRIMARY) + ord(char))
        case.append(int(char != folded))
        punctuation.append(len(_PUNCTUATION))
    return tuple(primary), tuple(case), tuple(punctuation)


def _collate(left: str, right: str) -> int:
    a, b = collation_key(left), collation_key(right)
    return (a > b) - (a < b)


class DataDirInUse(RuntimeError):
    """Another sandbox is serving the same data directory."""


class Store:
    """The sandbox's state on disk. Use from one thread (the server's loop)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.blob_dir = self.data_dir / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
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
        self.db.create_collation(COLLATION, _collate)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.root_token = self._ensure_root_client()
        self._remove_partial_uploads()

    def _remove_partial_uploads(self) -> None:
        """Uploads cut short by a crash: their bytes never became a blob."""
        for partial in self.blob_dir.glob(f"*/*/.*{PARTIAL_SUFFIX}"):
            partial.unlink(missing_ok=True)

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

    def client(self, client_id: str) -> tuple[str, list[str]] | None:
        """(accessToken, scopes) of a client, or None."""
        row = self.db.execute(
            "SELECT access_token, scopes FROM clients WHERE client_id = ?", (client_id,)
        ).fetchone()
        return (row["access_token"], json.loads(row["scopes"])) if row else None

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

    def delete_task(self, task_id: str) -> None:
        """Remove a task and its dependency rows (used to undo a failed create)."""
        self.db.execute("DELETE FROM tasks WHERE task_id = ?", (task_id,))
        self.db.execute("DELETE FROM dependencies WHERE dependent_task_id = ?", (task_id,))

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

    def pending_task_ids(self, task_queue_id: str, limit: int) -> list[str]:
        """Claimable tasks of a queue, highest priority first, then oldest."""
        rows = self.db.execute(
            "SELECT task_id FROM tasks WHERE task_queue_id = ? AND state = 'pending'"
            " ORDER BY priority, pending_since, seq LIMIT ?",
            (task_queue_id, limit),
        )
        return [r["task_id"] for r in rows]

    def claims_expired_before(self, moment: str) -> list[str]:
        """Running tasks whose claim ran out before `moment`."""
        rows = self.db.execute(
            "SELECT task_id FROM tasks WHERE state = 'running' AND taken_until < ?", (moment,)
        )
        return [r["task_id"] for r in rows]

    def deadlines_before(self, moment: str) -> list[str]:
        """Unresolved tasks whose deadline is before `moment`."""
        rows = self.db.execute(
            "SELECT task_id FROM tasks WHERE state IN ('unscheduled', 'pending', 'running')"
            " AND deadline < ?",
            (moment,),
        )
        return [r["task_id"] for r in rows]

    def pending_count(self, task_queue_id: str) -> int:
        """How many tasks of a queue are pending."""
        return self.db.execute(
            "SELECT count(*) FROM tasks WHERE task_queue_id = ? AND state = 'pending'",
            (task_queue_id,),
        ).fetchone()[0]

    def group_task_ids(self, task_group_id: str, offset: int, limit: int) -> list[str]:
        """Task ids of a group, ordered as Taskcluster orders taskIds."""
        rows = self.db.execute(
            f"SELECT task_id FROM tasks WHERE task_group_id = ?"
            f" ORDER BY task_id COLLATE {COLLATION} LIMIT ? OFFSET ?",
            (task_group_id, limit, offset),
        )
        return [r["task_id"] for r in rows]

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
        if row["sealed"]:
            group["sealed"] = row["sealed"]
        return group

    def ensure_task_group(self, task_group_id: str, scheduler_id: str, expires: str) -> None:
        """Create a group, or extend its expiry to cover a new task."""
        self.db.execute(
            "INSERT INTO task_groups VALUES (?, ?, ?, NULL) ON CONFLICT (task_group_id)"
            " DO UPDATE SET expires = max(expires, excluded.expires)",
            (task_group_id, scheduler_id, expires),
        )

    # -- dependencies ------------------------------------------------------

    def add_dependencies(self, dependent: str, required: list[str], requires: str) -> None:
        """Record that `dependent` waits for each task in `required`."""
        self.db.executemany(
            "INSERT OR IGNORE INTO dependencies VALUES (?, ?, ?, 0)",
            [(dependent, r, requires) for r in required],
        )

    def satisfy_dependencies(self, required: str, resolution: str) -> list[str]:
        """Mark edges from `required` satisfied by its resolution; return the
        dependents that now have nothing left to wait for."""
        kinds = (
            ("all-completed", "all-resolved") if resolution == "completed" else ("all-resolved",)
        )
        marks = ",".join("?" * len(kinds))
        dependents = [
            r["dependent_task_id"]
            for r in self.db.execute(
                f"SELECT dependent_task_id FROM dependencies WHERE required_task_id = ?"
                f" AND satisfied = 0 AND requires IN ({marks})",
                (required, *kinds),
            )
        ]
        self.db.execute(
            f"UPDATE dependencies SET satisfied = 1 WHERE required_task_id = ?"
            f" AND requires IN ({marks})",
            (required, *kinds),
        )
        return [d for d in dependents if self.unsatisfied_count(d) == 0]

    def unsatisfied_count(self, dependent: str) -> int:
        """How many dependencies of `dependent` are still unsatisfied."""
        return self.db.execute(
            "SELECT count(*) FROM dependencies WHERE dependent_task_id = ? AND satisfied = 0",
            (dependent,),
        ).fetchone()[0]

    def dependent_task_ids(self, required: str, offset: int, limit: int) -> list[str]:
        """Tasks that depend on `required`, ordered as Taskcluster orders taskIds."""
        rows = self.db.execute(
            f"SELECT d.dependent_task_id FROM dependencies d JOIN tasks t"
            f" ON t.task_id = d.dependent_task_id WHERE d.required_task_id = ?"
            f" ORDER BY d.dependent_task_id COLLATE {COLLATION} LIMIT ? OFFSET ?",
            (required, limit, offset),
        )
        return [r["dependent_task_id"] for r in rows]

    # -- artifacts ---------------------------------------------------------

    @staticmethod
    def _artifact_from_row(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "taskId": row["task_id"],
            "runId": row["run_id"],
            "name": row["name"],
            "storageType": row["storage_type"],
            "contentType": row["content_type"],
            "contentLength": row["content_length"],
            "expires": row["expires"],
            "present": bool(row["present"]),
            "details": json.loads(row["details"]),
        }

    def artifact(self, task_id: str, run_id: int, name: str) -> dict[str, Any] | None:
        """One artifact row, or None."""
        row = self.db.execute(
            "SELECT * FROM artifacts WHERE task_id = ? AND run_id = ? AND name = ?",
            (task_id, run_id, name),
        ).fetchone()
        return self._artifact_from_row(row) if row else None

    def put_artifact(self, artifact: dict[str, Any]) -> None:
        """Insert or replace an artifact row."""
        self.db.execute(
            "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                artifact["taskId"],
                artifact["runId"],
                artifact["name"],
                artifact["storageType"],
                artifact["contentType"],
                artifact.get("contentLength"),
                artifact["expires"],
                int(artifact["present"]),
                json.dumps(artifact["details"]),
            ),
        )

    def set_content_length(self, task_id: str, run_id: int, name: str, size: int) -> None:
        """Record the size of an s3 artifact's stored bytes (nothing else of its row)."""
        self.db.execute(
            "UPDATE artifacts SET content_length = ? WHERE task_id = ? AND run_id = ?"
            " AND name = ? AND storage_type = 's3'",
            (size, task_id, run_id, name),
        )

    def artifacts(
        self, task_id: str, run_id: int, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Artifacts of a run ordered by name (as Taskcluster orders names),
        starting after the name `after`."""
        rows = self.db.execute(
            f"SELECT * FROM artifacts WHERE task_id = ? AND run_id = ?"
            f" AND name COLLATE {COLLATION} > ? ORDER BY name COLLATE {COLLATION} LIMIT ?",
            (task_id, run_id, after or "", limit),
        )
        return [self._artifact_from_row(r) for r in rows]

    # -- blobs -------------------------------------------------------------

    def blob_path(self, task_id: str, run_id: int, name: str) -> Path:
        """Where an artifact's bytes live. The name is hashed, so no artifact
        name can point outside the data directory."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        return self.blob_dir / task_id / str(run_id) / digest
