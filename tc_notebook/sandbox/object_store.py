"""Persistence of the Object service: one row per object (an upload in
progress until it is finished) and its content hashes, in tables of their own
in the queue's database (so the queue can create and finish an object in the
same transaction as its artifact). The bytes are in the blob directory (see
`object_blobs`).

Rows are plain dicts; timestamps are ISO-8601 strings with milliseconds and
`Z`, compared as text. No method opens a transaction of its own: each is one
statement, or a few with no `await` between them, on the server's loop.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from ..timestamps import iso, now

UPLOAD_LIFETIME = timedelta(days=1)  # an unfinished upload is dropped after this

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    name TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    upload_id TEXT UNIQUE,
    upload_expires TEXT,
    expires TEXT NOT NULL,
    content_type TEXT,
    content_length INTEGER
);
CREATE INDEX IF NOT EXISTS objects_expires ON objects (expires);
CREATE INDEX IF NOT EXISTS objects_upload_expires ON objects (upload_expires);
CREATE TABLE IF NOT EXISTS object_hashes (
    name TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (name, algorithm)
);
"""

_COLUMNS = (
    "name, project_id AS projectId, upload_id AS uploadId, upload_expires AS uploadExpires,"
    " expires, content_type AS contentType, content_length AS contentLength"
)


class ObjectRows:
    """The Object service's tables in the queue's database `db` (whose rows
    are `sqlite3.Row`s). Use from one thread (the server's loop)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(SCHEMA)

    def get(self, name: str) -> dict[str, Any] | None:
        """The object `name` (finished or not, expired or not), or None. A
        finished object has `uploadId` None."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM objects WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def uses_upload_id(self, upload_id: str) -> bool:
        """Whether an unfinished upload already has this uploadId."""
        found = self.db.execute("SELECT 1 FROM objects WHERE upload_id = ?", (upload_id,))
        return found.fetchone() is not None

    def insert(self, name: str, project_id: str, upload_id: str, expires: str) -> None:
        """A new, unfinished object; its upload lasts a day (as Taskcluster's)."""
        self.db.execute(
            "INSERT INTO objects (name, project_id, upload_id, upload_expires, expires)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, project_id, upload_id, iso(now() + UPLOAD_LIFETIME), expires),
        )

    def set_content(self, name: str, content_type: str, length: int | None) -> None:
        """What the upload declared of its bytes (content type, length if known)."""
        self.db.execute(
            "UPDATE objects SET content_type = ?, content_length = ? WHERE name = ?",
            (content_type, length, name),
        )

    def mark_finished(self, name: str) -> None:
        """The upload is complete: the object can be downloaded from now on."""
        self.db.execute(
            "UPDATE objects SET upload_id = NULL, upload_expires = NULL WHERE name = ?", (name,)
        )

    def hashes(self, name: str) -> dict[str, str]:
        """`{algorithm: hash}` of an object."""
        rows = self.db.execute(
            "SELECT algorithm, hash FROM object_hashes WHERE name = ? ORDER BY algorithm", (name,)
        )
        return {row[0]: row[1] for row in rows}

    def add_hashes(self, name: str, hashes: dict[str, str]) -> None:
        """Record hashes (the caller has checked that none conflicts)."""
        self.db.executemany(
            "INSERT OR IGNORE INTO object_hashes (name, algorithm, hash) VALUES (?, ?, ?)",
            [(name, algorithm, value) for algorithm, value in hashes.items()],
        )

    def expired(self) -> list[str]:
        """Names of objects past their expiry, and of uploads never finished in time."""
        moment = iso(now())
        rows = self.db.execute(
            "SELECT name FROM objects WHERE expires < ? OR upload_expires < ?", (moment, moment)
        )
        return [row[0] for row in rows]

    def delete(self, name: str) -> None:
        """Forget an object and its hashes."""
        self.db.execute("DELETE FROM object_hashes WHERE name = ?", (name,))
        self.db.execute("DELETE FROM objects WHERE name = ?", (name,))
