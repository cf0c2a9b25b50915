"""The official JavaScript client (`taskcluster-client`) against the sandbox."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).with_name("js")


@pytest.fixture(scope="module")
def node_client():
    """The npm package installed in tests/js (installed on first use)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed to run the JavaScript client")
    if not (JS_DIR / "node_modules" / "taskcluster-client").is_dir():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True,
                       timeout=300, capture_output=True)
    return JS_DIR


def run_script(folder: Path, sandbox, script: str) -> dict:
    """What `node script` printed (JSON), run with the sandbox's root credentials."""
    env = dict(os.environ, TASKCLUSTER_ROOT_URL=sandbox.root_url,
               TASKCLUSTER_CLIENT_ID=sandbox.credentials["clientId"],
               TASKCLUSTER_ACCESS_TOKEN=sandbox.credentials["accessToken"])
    run = subprocess.run(["node", script], cwd=folder, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_js_client_flow(node_client, sandbox):
    """createTask, status, claimWork, artifact upload, reports, anonymous 403,
    signed URL and a schema error, all through the JS client."""
    result = run_script(node_client, sandbox, "flow.mjs")
    assert result == {
        "ping": {"alive": True, "uptime": result["ping"]["uptime"]},
        "createdState": "pending",
        "status": "pending",
        "put": 200,
        "reclaim": "string",
        "completed": "completed",
        "list": ["private/x.txt"],
        "anonCode": "InsufficientScopes",
        "anonStatus": 403,
        "signed": "hello js",
        "badCode": "InputValidationError",
    }


def test_js_client_object_artifacts(node_client, sandbox):
    """The JS client's `upload` (inline for a small file, by PUT for a larger one)
    and `downloadArtifact` round-trip object artifacts, public and private."""
    result = run_script(node_client, sandbox, "objects.mjs")
    answer_keys = ["credentials", "expires", "name", "projectId", "storageType", "uploadId"]
    assert result["created"] == {"public/small.txt": answer_keys, "private/large.bin": answer_keys}
    octets = "application/octet-stream"
    assert result["downloaded"] == {"public/small.txt": {"same": True, "contentType": octets},
                                    "private/large.bin": {"same": True, "contentType": octets}}
    assert result["storage"] == [["private/large.bin", "object", False],
                                 ["public/small.txt", "object", False]]
