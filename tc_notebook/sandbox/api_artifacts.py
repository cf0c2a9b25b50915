"""The artifact entries of the Queue v1 table (declared in `api.py`'s order
after the task and worker entries): creating, finishing, listing and
getting artifacts. The 303 and 200 answers are `downloads.py`'s."""

from __future__ import annotations

from .api import GET_ARTIFACT_SCOPES, PAGINATION, Reply, declare
from .dispatch import Call
from .downloads import artifact_content, redirect_to_artifact

CREATE_ARTIFACT_SCOPES = "queue:create-artifact:<taskId>/<runId>"


@declare(
    "createArtifact",
    "POST",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    CREATE_ARTIFACT_SCOPES,
    input="v1/post-artifact-request.json#",
    output="v1/post-artifact-response.json#",
)
async def create_artifact(call: Call) -> Reply:
    """Create an artifact of a running run (s3, object, reference, link or error)."""
    return call.service.artifacts.create_artifact(
        call.params["taskId"], call.run_id(), call.params["name"], call.payload
    )


@declare(
    "finishArtifact",
    "PUT",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    CREATE_ARTIFACT_SCOPES,
    input="v1/finish-artifact-request.json#",
)
async def finish_artifact(call: Call) -> Reply:
    """Mark an object artifact as uploaded, once its object is."""
    call.service.artifacts.finish_artifact(
        call.params["taskId"], call.run_id(), call.params["name"], call.payload["uploadId"]
    )


@declare(
    "getArtifact",
    "GET",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/get-artifact-response.json#",
)
async def get_artifact(call: Call) -> Reply:
    """Redirect to an artifact of a given run (or answer its error)."""
    return redirect_to_artifact(call, call.run_id())


@declare(
    "getLatestArtifact",
    "GET",
    "/task/<taskId>/artifacts/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/get-artifact-response.json#",
)
async def get_latest_artifact(call: Call) -> Reply:
    """Redirect to an artifact of a task's latest run."""
    return redirect_to_artifact(call, None)


@declare(
    "listArtifacts",
    "GET",
    "/task/<taskId>/runs/<runId>/artifacts",
    "queue:list-artifacts:<taskId>:<runId>",
    output="v1/list-artifacts-response.json#",
    query=PAGINATION,
)
async def list_artifacts(call: Call) -> Reply:
    """The artifacts of a given run."""
    return call.service.artifacts.list_artifacts(call.params["taskId"], call.run_id(), *call.page())


@declare(
    "listLatestArtifacts",
    "GET",
    "/task/<taskId>/artifacts",
    "queue:list-artifacts:<taskId>",
    output="v1/list-artifacts-response.json#",
    query=PAGINATION,
)
async def list_latest_artifacts(call: Call) -> Reply:
    """The artifacts of a task's latest run."""
    return call.service.artifacts.list_artifacts(call.params["taskId"], None, *call.page())


@declare(
    "artifactInfo",
    "GET",
    "/task/<taskId>/runs/<runId>/artifact-info/<name>",
    "queue:list-artifacts:<taskId>:<runId>",
    output="v1/artifact-response.json#",
)
async def artifact_info(call: Call) -> Reply:
    """What the queue knows of an artifact of a given run."""
    return call.service.artifacts.artifact_info(
        call.params["taskId"], call.run_id(), call.params["name"]
    )


@declare(
    "latestArtifactInfo",
    "GET",
    "/task/<taskId>/artifact-info/<name>",
    "queue:list-artifacts:<taskId>",
    output="v1/artifact-response.json#",
)
async def latest_artifact_info(call: Call) -> Reply:
    """What the queue knows of an artifact of a task's latest run."""
    return call.service.artifacts.artifact_info(call.params["taskId"], None, call.params["name"])


@declare(
    "artifact",
    "GET",
    "/task/<taskId>/runs/<runId>/artifact-content/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/artifact-content-response.json#",
)
async def artifact(call: Call) -> Reply:
    """Where to download an artifact of a given run, as JSON."""
    return artifact_content(call, call.run_id())


@declare(
    "latestArtifact",
    "GET",
    "/task/<taskId>/artifact-content/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/artifact-content-response.json#",
)
async def latest_artifact(call: Call) -> Reply:
    """Where to download an artifact of a task's latest run, as JSON."""
    return artifact_content(call, None)
