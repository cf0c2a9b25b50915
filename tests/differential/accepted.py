"""Every accepted difference between the sandbox and Taskcluster (the rig).

The differential tests compare each call's status, error code, headers and
body (key sets recursively, values after normalising timestamps, secrets,
continuation tokens and the root URL; see compare.normalise). A difference
listed here does not fail them; anything else does. Each entry names the API
entries it covers (`upload` and `download` are the scenarios' own PUTs and
GETs of artifact bytes), the place in the normalised answer (`body.putUrl`,
`headers.location`; fnmatch patterns, with `[]` for any list index), the kind
of difference (`value`, `keys`, `length`, `status`, `code`), optionally what
each side holds there (an fnmatch pattern for text, the value itself
otherwise; for `keys`, the keys only that side has), optionally the steps
(scenario calls) it is limited to, and why it is accepted.
Keep the list short: fix the sandbox instead whenever the difference is not
a deliberate choice or Taskcluster's own quirk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANY = "*"


@dataclass(frozen=True)
class Accepted:
    """One accepted difference."""

    entries: tuple[str, ...]
    path: str
    kind: str
    reason: str  # why it is accepted, for the reader (never compared)
    sandbox: Any = ANY
    rig: Any = ANY
    steps: tuple[str, ...] = ()  # only these calls (a label's part after `entry: `); () any


ACCEPTED: list[Accepted] = [
    Accepted(
        ("createArtifact",),
        "body.putUrl",
        "value",
        sandbox="<root>/sandbox/blobs/*?expires=*&signature=*",
        rig="<root>/*-bucket/*X-Amz-Signature=*",
        reason="""s3 artifacts: the sandbox stores the bytes itself and hands out a signed
        URL of its own blob store (`<root>/sandbox/blobs/...?expires=&signature=`), where
        Taskcluster hands out a presigned S3 URL (the rig: moto behind
        `<root>/public-bucket/...`). Both take the PUT with the artifact's Content-Type;
        the scenario uploads through either and compares the downloaded bytes.""",
    ),
    Accepted(
        ("getArtifact", "getLatestArtifact", "artifact", "latestArtifact"),
        "body.url",
        "value",
        sandbox="<root>/sandbox/blobs/*",
        rig="<root>/*-bucket/*",
        reason="""s3 artifacts: the download URL is the sandbox's blob store (signed for
        private names), not S3. The bytes behind both are compared by the scenario.""",
    ),
    Accepted(
        ("getArtifact", "getLatestArtifact"),
        "headers.location",
        "value",
        sandbox="/sandbox/blobs/*",
        rig="<root>/*-bucket/*",
        reason="""s3 artifacts: the sandbox redirects to its blob store, with a
        root-relative Location (`/sandbox/blobs/...`) so that jupyter-server-proxy on
        Binder can rewrite it (see downloads.redirect_to_artifact); Taskcluster redirects
        to an absolute S3 URL.""",
    ),
    Accepted(
        ("upload",),
        "headers",
        "keys",
        sandbox=[],
        rig=["content-type"],
        reason="""The answer of an s3 upload (PUT to the putUrl) comes from S3 on
        Taskcluster, whose empty 200 carries a Content-Type; the sandbox's blob store sends
        none. The status is compared, and the bytes are, once downloaded.""",
    ),
    Accepted(
        ("claimWork",),
        "body.tasks[].takenUntil",
        "value",
        sandbox="<time>",
        rig="????-??-??T??:??:??*+00:00",
        reason="""Taskcluster's claimWork answers takenUntil in Postgres' text form
        (`2026-11-28T22:24:08.17+00:00`); everywhere else, and in the sandbox, dates are
        JavaScript's `...08.170Z`. Both parse to the same kind of date.""",
    ),
    Accepted(
        ("claimWork", "reclaimTask", "createArtifact", "artifact", "latestArtifact"),
        "body*.credentials.certificate.issuer",
        "value",
        sandbox="root",
        rig="static/taskcluster/queue",
        reason="""Task credentials (and an object artifact's upload and download
        credentials) are issued by the queue service's own client in Taskcluster
        (`static/taskcluster/queue`); the sandbox has no separate services and issues them
        from its root client. The credentials' name and scopes are compared.""",
    ),
    Accepted(
        ("version",),
        "body.version",
        "value",
        rig="dev",
        reason="""__version__ names the service's version: the rig, built from source, says
        `dev`; the sandbox says tc-notebook's version.""",
    ),
    Accepted(
        ("cancelTaskGroup",),
        "body.taskIds[]",
        "value",
        reason="""The cancelled tasks are listed in no set order by Taskcluster (its query
        has no ORDER BY, so Postgres's row order shows, which updates change); the
        sandbox lists them by taskId. The scenario checks the count, and the status of
        each task.""",
    ),
    Accepted(
        ("createUpload",),
        "body.uploadMethod.putUrl.url",
        "value",
        sandbox="<root>/sandbox/objects/*?expires=*&signature=*",
        rig="<root>/*-bucket/*X-Amz-Signature=*",
        reason="""Objects: the sandbox takes the PUT of an object's bytes itself, at a
        signed URL of its own, where Taskcluster's object service hands out a presigned S3
        URL. The headers to send with the PUT are compared; the bytes are, once
        downloaded.""",
    ),
    Accepted(
        ("getArtifact", "getLatestArtifact", "startDownload"),
        "body.url",
        "value",
        sandbox="<root>/sandbox/objects/*?expires=*&signature=*",
        rig="<root>/*-bucket/*",
        reason="""Objects: the sandbox keeps the bytes itself and serves them from a
        signed URL of its own (`<root>/sandbox/objects/...`), where Taskcluster's object
        service hands out a presigned S3 URL (the rig: moto behind `<root>/public-bucket`).
        The scenarios download through both and compare the bytes.""",
    ),
    Accepted(
        ("getArtifact", "getLatestArtifact", "object.download"),
        "headers.location",
        "value",
        sandbox="/sandbox/objects/*?expires=*&signature=*",
        rig="<root>/*-bucket/*",
        reason="""Objects: the 303 to the bytes leads to the sandbox's object store, with
        a root-relative Location (for jupyter-server-proxy, as for s3 artifacts), where
        Taskcluster leads to an absolute S3 URL. The bytes behind both are compared.""",
    ),
    *[Accepted(("createArtifact",), path, kind, sandbox=sandbox, rig=rig,
               reason="""An object artifact created again (same request or not): the
               sandbox answers 409 RequestConflict, as for any artifact created again
               differently. Taskcluster's queue asks its object service for a new upload
               under a new uploadId, which that service refuses with a 409 the queue does
               not catch: a 500 (its own bug). Nothing is changed on either side.""")
      for path, kind, sandbox, rig in (
          ("status", "status", 409, 500),
          ("code", "code", "RequestConflict", "InternalServerError"),
          ("body.code", "value", "RequestConflict", "InternalServerError"))],
    *[Accepted(("object.download",), path, "value",
               reason="""The Object service's `download` (called as a plain GET, entry
               `object.download`): the text body of its 303 is each web framework's own
               (both name the Location, which differs, see above); status, headers and the
               bytes behind the Location are compared.""")
      for path in ("body.sha256", "body.length")],
    *[Accepted(("createUpload",), path, kind, sandbox=sandbox, rig=rig,
               steps=("objectData not base64",),
               reason="""dataInline with objectData that is not base64: the sandbox
               refuses it (400 InputError), as Taskcluster's object service means to (its
               backend catches a decoding error to answer just that), but Node's decoder
               never raises: it skips what is not base64, and the rig stores what is left
               (here an empty object) and answers 200.""")
      for path, kind, sandbox, rig in (
          ("status", "status", 400, 200),
          ("code", "code", "InputError", None),
          ("body", "keys", ANY, ANY))],
    *[Accepted((entry,), path, kind, sandbox=sandbox, rig=rig, steps=(step,),
               reason="""An object whose `expires` has passed: the sandbox forgets it
               there and then (object, startDownload and finishUpload answer 404, and the
               name is free for a new upload), as artifacts expire in the queue.
               Taskcluster's object service does not look at `expires` when answering:
               it serves the object until its expiration job deletes the row.""")
      for entry, step, (sandbox_status, rig_status) in (
          ("finishUpload", "expired", (404, 200)),
          ("object", "expired", (404, 200)),
          ("startDownload", "expired", (404, 200)),
          ("createUpload", "expired, then another expires", (200, 409)))
      for path, kind, sandbox, rig in (
          ("status", "status", sandbox_status, rig_status),
          ("code", "code", ANY, ANY),
          ("body", "keys", ANY, ANY))],
]
