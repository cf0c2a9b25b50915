"""Sizes in ArtifactList for object artifacts, which the queue lists with no
contentLength (as Taskcluster's queue does): the listing asks the object's
storage, signing the request for a private one, and only for the first few."""

from __future__ import annotations

from pathlib import Path

import artifact_fixtures
from artifact_fixtures import run
from helpers import until
from server_requests import requests_to

from tc_notebook.connection import Connection
from tc_notebook.widgets import ArtifactList, artifact_fetch
from tc_notebook.widgets.artifact_names import human_size

# Fixtures from artifact_fixtures, bound here so that pytest finds them by name.
artifact_sandbox = artifact_fixtures.artifact_sandbox
conn = artifact_fixtures.conn
tasks = artifact_fixtures.tasks
task_id = artifact_fixtures.task_id


def _sizes(al: ArtifactList) -> dict[str, int | None]:
    return {entry["name"]: entry["size"] for entry in al.artifacts}


def test_object_sizes_come_from_their_storage(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        objects = [e for e in al.artifacts if e["storageType"] == "object"]
        assert len(objects) >= 15 and all(e["contentLength"] is None for e in objects)
        sizes = _sizes(al)
        assert sizes["public/passwd.txt"] == Path("/etc/passwd").stat().st_size
        assert sizes["public/out/big.txt"] == 200_000
        assert sizes["private/secret.txt"] == Path("/etc/hostname").stat().st_size
        rows = {row["name"]: row for row in al.table.rows}
        assert rows["public/out/big.txt"]["size"] == "195.3 KiB"
        # the error artifact has no bytes, and nothing was asked for it
        assert sizes["public/missing.txt"] is None and rows["public/missing.txt"]["size"] == ""
        al.close()

    run(scenario())


def test_without_credentials_private_sizes_stay_unknown(conn, task_id):
    async def scenario():
        anonymous = Connection(conn.root_url)
        al = ArtifactList(anonymous, task_id)
        await al.refresh()
        assert not al.error
        sizes = _sizes(al)
        assert sizes["public/passwd.txt"] == Path("/etc/passwd").stat().st_size
        assert sizes["private/secret.txt"] is None
        rows = {row["name"]: row for row in al.table.rows}
        assert rows["private/secret.txt"]["size"] == ""
        al.close()

    run(scenario())


def test_only_the_first_objects_are_measured(conn, task_id, monkeypatch):
    monkeypatch.setattr(artifact_fetch, "SIZE_LOOKUPS", 3)

    async def scenario():
        with requests_to("/sandbox/objects/") as fetched:
            al = ArtifactList(conn, task_id)
            await al.refresh()
            # (the sandbox logs a request just after answering it)
            await until(lambda: len(fetched) >= 3, message="the three size requests logged")
        objects = [e for e in al.artifacts if e["storageType"] == "object"]
        measured = [e["name"] for e in objects if e["size"] is not None]
        assert measured == [e["name"] for e in objects[:3]]
        assert len(fetched) == 3, fetched.paths
        al.close()

    run(scenario())


def test_a_size_the_storage_cannot_tell_is_left_blank(conn, task_id, monkeypatch):
    """An answer with neither Content-Range nor a usable Content-Length (here:
    the requests all time out at once) leaves the size unknown, the list whole."""
    monkeypatch.setattr(artifact_fetch, "SIZE_TIMEOUT", artifact_fetch.aiohttp.ClientTimeout(
        total=1e-6))

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        assert not al.error and len(al.names) == 20
        assert all(e["size"] is None for e in al.artifacts if e["storageType"] == "object")
        assert human_size(None) == ""
        al.close()

    run(scenario())
