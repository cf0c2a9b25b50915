"""The sandbox's Object service (`/api/object/v1/`), with the official
client: its upload and download helpers round-trip bytes, and the API answers
Taskcluster's errors for wrong hashes, uploadIds, credentials and input."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests
import taskcluster
import taskcluster.download
import taskcluster.upload
from helpers import expect_error, from_now, raw_request, wait_until
from taskcluster.exceptions import ObjectHashVerificationError

PROJECT = "tutorial"
SCHEMAS = "/schemas/object/v1/"


@pytest.fixture
def objects(sandbox) -> taskcluster.Object:
    return taskcluster.Object(sandbox.client_options())


def new_name(prefix: str = "notes") -> str:
    """A fresh object name, with slashes (the client sends them as %2F)."""
    return f"{PROJECT}/{prefix}/{taskcluster.slugid.nice()}.txt"


def upload(objects: taskcluster.Object, name: str, data: bytes, **options) -> None:
    taskcluster.upload.uploadFromBuf(
        projectId=PROJECT,
        name=name,
        contentType="text/plain",
        contentLength=len(data),
        expires=options.pop("expires", from_now(days=1)),
        data=data,
        objectService=objects,
        **options,
    )


def hashes_of(data: bytes) -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "sha512": hashlib.sha512(data).hexdigest()}


def create(objects, name: str, upload_id: str, methods: dict | None = None, **fields) -> dict:
    body = {
        "projectId": PROJECT,
        "uploadId": upload_id,
        "expires": from_now(days=1),
        "proposedUploadMethods": methods or {},
        **fields,
    }
    return objects.createUpload(name, body)


def inline(data: bytes) -> dict:
    return {
        "dataInline": {"contentType": "text/plain", "objectData": base64.b64encode(data).decode()}
    }


def put_bytes(url: str, data: bytes, headers: dict) -> int:
    """PUT bytes to a putUrl; the answer's status."""
    return requests.put(url, data=data, headers=headers, timeout=30).status_code


def test_ping_and_heartbeat(objects):
    assert objects.ping()["alive"] is True
    assert objects.heartbeat() == {}


@pytest.mark.parametrize("size", [100, 200_000], ids=["dataInline", "putUrl"])
def test_helpers_round_trip(objects, size):
    data = bytes(range(256)) * (size // 256) + b"end"
    name = new_name()
    upload(objects, name, data)
    assert taskcluster.download.downloadToBuf(name=name, objectService=objects) == (
        data,
        "text/plain",
    )
    meta = objects.object(name)
    assert meta["projectId"] == PROJECT
    assert meta["hashes"] == hashes_of(data)


def test_put_url_upload_by_hand(objects):
    name, upload_id, data = new_name(), taskcluster.slugid.nice(), b"x" * 9000
    method = {"putUrl": {"contentType": "application/octet-stream", "contentLength": len(data)}}
    put = create(objects, name, upload_id, method)["uploadMethod"]["putUrl"]
    assert put["headers"]["Content-Length"] == str(len(data))
    wrong_type = {**put["headers"], "Content-Type": "text/html"}
    assert put_bytes(put["url"], data, wrong_type) == 400
    assert put_bytes(put["url"] + "0", data, put["headers"]) == 403  # signature altered
    short = {**put["headers"], "Content-Length": "10"}
    assert put_bytes(put["url"], data[:10], short) == 400  # not the declared length
    assert put_bytes(put["url"], data, put["headers"]) == 200
    expect_error(objects.object, name, status=404, code="ResourceNotFound")  # not finished yet
    objects.finishUpload(
        name, {"projectId": PROJECT, "uploadId": upload_id, "hashes": hashes_of(data)}
    )
    got, content_type = taskcluster.download.downloadToBuf(name=name, objectService=objects)
    assert (got, content_type) == (data, "application/octet-stream")
    assert put_bytes(put["url"], data, put["headers"]) == 404  # finished: immutable


def test_simple_download_and_redirect(sandbox, objects):
    name, data = new_name(), b"simple bytes\n"
    upload(objects, name, data)
    simple = objects.startDownload(name, {"acceptDownloadMethods": {"simple": True}})
    assert simple["method"] == "simple"
    assert requests.get(simple["url"], timeout=30).content == data
    both = objects.startDownload(name, {"acceptDownloadMethods": {"simple": True, "getUrl": True}})
    assert both["method"] == "getUrl" and both["hashes"] == hashes_of(data)
    signed = objects.buildSignedUrl("download", name)
    answer = requests.get(signed, timeout=30, allow_redirects=False)
    assert answer.status_code == 303
    assert requests.get(signed, timeout=30).content == data
    expect_error(
        objects.startDownload,
        name,
        {"acceptDownloadMethods": {}},
        status=406,
        code="NoMatchingMethod",
    )


def test_upload_id_rules(objects):
    name, upload_id = new_name(), taskcluster.slugid.nice()
    first = create(objects, name, upload_id, expires="2100-01-01T00:00:00.000Z")
    assert first["uploadMethod"] == {}
    again = create(objects, name, upload_id, inline(b"hi"), expires="2100-01-01T00:00:00.000Z")
    assert again["uploadMethod"] == {"dataInline": True}
    other = taskcluster.slugid.nice()
    expect_error(create, objects, name, other, status=409, code="RequestConflict")
    expect_error(
        create, objects, new_name(), upload_id, status=409, code="RequestConflict"
    )  # an uploadId names one upload only
    finish = {"projectId": PROJECT, "uploadId": other, "hashes": hashes_of(b"hi")}
    expect_error(objects.finishUpload, name, finish, status=409, code="RequestConflict")
    objects.finishUpload(name, {**finish, "uploadId": upload_id})
    objects.finishUpload(name, {**finish, "uploadId": upload_id})  # idempotent
    expect_error(
        create,
        objects,
        name,
        upload_id,
        expires="2100-01-01T00:00:00.000Z",
        status=409,
        code="RequestConflict",
    )  # finished: immutable
    wrong_project = {**finish, "uploadId": upload_id, "projectId": "other"}
    expect_error(objects.finishUpload, name, wrong_project, status=400, code="InputError")


def test_hashes_cannot_change(objects):
    name, upload_id, data = new_name(), taskcluster.slugid.nice(), b"hashed"
    create(objects, name, upload_id, inline(data), hashes={"sha256": hashes_of(data)["sha256"]})
    finish = {"projectId": PROJECT, "uploadId": upload_id, "hashes": hashes_of(b"other")}
    expect_error(objects.finishUpload, name, finish, status=409, code="RequestConflict")
    objects.finishUpload(name, {**finish, "hashes": {"sha256": hashes_of(data)["sha256"]}})
    body = expect_error(objects.finishUpload, name, finish, status=409, code="RequestConflict")
    assert "already finished" in body["message"]
    new_algorithm = {**finish, "hashes": {"sha512": hashes_of(data)["sha512"]}}
    body = expect_error(objects.finishUpload, name, new_algorithm, status=409)
    assert "without hash algorithm sha512" in body["message"]


def test_wrong_hashes_fail_the_download(objects):
    name, upload_id = new_name(), taskcluster.slugid.nice()
    create(objects, name, upload_id, inline(b"the real bytes"))
    finish = {"projectId": PROJECT, "uploadId": upload_id, "hashes": hashes_of(b"not them")}
    objects.finishUpload(name, finish)
    with pytest.raises(ObjectHashVerificationError):
        taskcluster.download.downloadToBuf(name=name, objectService=objects)


def test_no_hashes_fail_the_download(objects):
    name, upload_id = new_name(), taskcluster.slugid.nice()
    create(objects, name, upload_id, inline(b"unhashed"))
    objects.finishUpload(name, {"projectId": PROJECT, "uploadId": upload_id})
    assert objects.object(name)["hashes"] == {}
    with pytest.raises(ObjectHashVerificationError):
        taskcluster.download.downloadToBuf(name=name, objectService=objects)


VALID = {"projectId": PROJECT, "expires": "2100-01-01T00:00:00Z", "proposedUploadMethods": {}}
MALFORMED = {
    "no uploadId": ({}, "uploadId"),
    "bad uploadId": ({"uploadId": "nope"}, "nope"),
    "bad projectId": ({"projectId": "no spaces"}, "no spaces"),
    "bad expires": ({"expires": "soon"}, "soon"),
    "bad hash": ({"hashes": {"sha256": "XYZ"}}, "XYZ"),
    "negative length": (
        {"proposedUploadMethods": {"putUrl": {"contentType": "a/b", "contentLength": -1}}},
        "-1",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_create_upload(objects, case):
    changes, mentions = MALFORMED[case]
    upload_id = {} if case == "no uploadId" else {"uploadId": taskcluster.slugid.nice()}
    body = {**VALID, **upload_id, **changes}
    answer = expect_error(
        objects.createUpload, new_name(), body, status=400, code="InputValidationError"
    )
    assert SCHEMAS + "create-upload-request.json" in answer["message"]
    assert mentions in answer["message"]


def test_bad_base64_is_an_input_error(objects):
    methods = {"dataInline": {"contentType": "text/plain", "objectData": "not base64!"}}
    body = expect_error(
        create,
        objects,
        new_name(),
        taskcluster.slugid.nice(),
        methods,
        status=400,
        code="InputError",
    )
    assert "base64" in body["message"]


@pytest.mark.parametrize(
    "path, raw",
    [
        ("upload/x", b"not json"),
        ("upload/x", b"[]"),
        ("upload/x", b"null"),
        ("upload/x", b'{"proposedUploadMethods": {"dataInline": 5}}'),
        ("start-download/x", b'{"acceptDownloadMethods": {"simple": false}}'),
        ("start-download/x", b'{"acceptDownloadMethods": []}'),
        ("upload/x", b'{"hashes": {"md5": 5}, "proposedUploadMethods": {}}'),
        ("upload/x", b'{"expires": "0001-01-01T00:00:00+01:00"}'),
        ("upload/%FF", b"{}"),
        ("upload/a%0Ab", b"{}"),
        ("upload/a/b", b"{}"),
    ],
)
def test_malformed_requests_are_4xx(sandbox, path, raw):
    method = "PUT"
    url = f"{sandbox.root_url}/api/object/v1/{path}"
    answer = raw_request(method, url, sandbox.credentials, raw)
    assert 400 <= answer.status_code < 500, answer.text
    finish = f"{sandbox.root_url}/api/object/v1/finish-upload/x"
    assert 400 <= raw_request("POST", finish, sandbox.credentials, raw).status_code < 500


def test_credentials_and_scopes(sandbox, objects):
    name = new_name()
    wrong = {"clientId": "root", "accessToken": "not-the-key"}
    options = {"rootUrl": sandbox.root_url, "credentials": wrong}
    expect_error(
        create,
        taskcluster.Object(options),
        name,
        taskcluster.slugid.nice(),
        status=401,
        code="AuthenticationFailed",
    )
    token = sandbox.add_client("object-reader", ["object:download:elsewhere/*"])
    limited = taskcluster.Object(
        {
            "rootUrl": sandbox.root_url,
            "credentials": {"clientId": "object-reader", "accessToken": token},
        }
    )
    body = expect_error(
        create, limited, name, taskcluster.slugid.nice(), status=403, code="InsufficientScopes"
    )
    assert f"object:upload:{PROJECT}:{name}" in body["message"]
    body = expect_error(limited.object, name, status=403, code="InsufficientScopes")
    assert f"object:download:{name}" in body["message"]


def test_unknown_object_is_404(objects):
    name = new_name("missing")
    expect_error(objects.object, name, status=404, code="ResourceNotFound")
    accept = {"acceptDownloadMethods": {"getUrl": True}}
    expect_error(objects.startDownload, name, accept, status=404, code="ResourceNotFound")
    finish = {"projectId": PROJECT, "uploadId": taskcluster.slugid.nice()}
    expect_error(objects.finishUpload, name, finish, status=404, code="ResourceNotFound")
    expect_error(objects.download, name, status=404, code="ResourceNotFound")


def test_expired_object_is_gone(sandbox, objects):
    name, data = new_name("brief"), b"short-lived"
    upload(objects, name, data, expires=from_now(seconds=2))
    url = objects.startDownload(name, {"acceptDownloadMethods": {"simple": True}})["url"]
    assert requests.get(url, timeout=30).content == data

    def gone() -> bool:
        try:
            objects.object(name)
        except taskcluster.TaskclusterRestFailure as failure:
            return failure.status_code == 404
        return False

    wait_until(gone, timeout=15)
    assert requests.get(url, timeout=30).status_code == 404
    upload(objects, new_name(), b"another")  # an upload sweeps expired objects away
    assert not sandbox.server.service.objects.files.path(name).exists()
