"""The artifacts table: one row per artifact of a run (its bytes are the
`BlobStore`'s). A part of `Store`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .collation import COLLATION

SCHEMA = f"""
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
CREATE INDEX IF NOT EXISTS artifacts_by_name
    ON artifacts (task_id, run_id, name COLLATE {COLLATION});
"""


class ArtifactRows:
    """Artifact rows, on the store's connection `db`."""

    db: sqlite3.Connection

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
