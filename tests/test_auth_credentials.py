"""Credentials: invalid ones are a 401 (wrong token, unknown client, tampered
payload or path, skewed timestamps, forwarded protocol), signed URLs (bewits),
temporary credentials (claims, certificates, issuers), and authorizedScopes in
`ext`, which restrict what credentials may do.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
import taskcluster
from auth_helpers import _client, _temp_creds
from helpers import (
    API,
    claim_one,
    create_and_claim,
    expect_error,
    hawk_header,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    raw_request,
    s3_artifact,
)


class TestBadCredentials:
    """Invalid credentials are 401 even where anonymous would do."""

    def test_wrong_access_token(self, sandbox, task_id):
        """A wrong accessToken → 401 AuthenticationFailed with WWW-Authenticate."""
        bad = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "nope"})
        with pytest.raises(taskcluster.TaskclusterAuthFailure) as ei:
            bad.status(task_id)
        assert ei.value.status_code == 401
        assert ei.value.body["code"] == "AuthenticationFailed"
        raw = raw_request("GET", f"{sandbox.root_url}{API}/task/{task_id}/status",
                          {"clientId": "root", "accessToken": "nope"})
        assert raw.status_code == 401
        assert raw.headers["WWW-Authenticate"].lower().startswith("hawk")

    def test_unknown_client(self, sandbox, task_id):
        """An unknown clientId → 401."""
        bad = make_queue(sandbox.root_url, {"clientId": "nobody-here", "accessToken": "x"})
        expect_error(bad.task, task_id, status=401, code="AuthenticationFailed")

    def test_public_artifact_with_bad_credentials(self, sandbox, queue, root_url):
        """Bad credentials on a public artifact are 401, not anonymous access."""
        tid, _, worker = create_and_claim(queue, root_url)
        s3_artifact(worker, tid, 0, "public/ok.txt", b"ok")
        bad = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "nope"})
        expect_error(bad.getArtifact, tid, 0, "public/ok.txt", status=401)

    def test_tampered_payload(self, sandbox):
        """A body that does not match the signed payload hash → 401; nothing created."""
        tid = new_task_id()
        url = f"{sandbox.root_url}{API}/task/{tid}"
        signed = json.dumps(make_task()).encode()
        sent = json.dumps(make_task(payload={"evil": True})).encode()
        header = hawk_header(url, "PUT", sandbox.credentials, content=signed,
                             content_type="application/json")
        res = requests.put(url, data=sent, timeout=10, headers={
            "Authorization": header, "Content-Type": "application/json"})
        assert res.status_code == 401
        assert res.json()["code"] == "AuthenticationFailed"
        assert requests.get(f"{url}/status", timeout=10).status_code == 404

    def test_tampered_path(self, sandbox, task_id):
        """A header signed for another URL → 401."""
        other = f"{sandbox.root_url}{API}/task/{new_task_id()}/status"
        header = hawk_header(other, "GET", sandbox.credentials)
        res = requests.get(f"{sandbox.root_url}{API}/task/{task_id}/status", timeout=10,
                           headers={"Authorization": header})
        assert res.status_code == 401

    @pytest.mark.parametrize("skew,expected", [(-16 * 60, 401), (16 * 60, 401),
                                               (-10 * 60, 200), (10 * 60, 200)])
    def test_timestamp_skew(self, sandbox, task_id, skew, expected):
        """Timestamps more than 15 min off are rejected."""
        url = f"{sandbox.root_url}{API}/task/{task_id}/status"
        header = hawk_header(url, "GET", sandbox.credentials, timestamp=int(time.time()) + skew)
        res = requests.get(url, headers={"Authorization": header}, timeout=10)
        assert res.status_code == expected, res.text

    def test_forwarded_proto(self, sandbox, task_id):
        """X-Forwarded-Proto: https makes the server verify the MAC with port 443."""
        host = sandbox.root_url.split("://", 1)[1]
        url = f"{sandbox.root_url}{API}/task/{task_id}/status"
        signed_for = f"https://{host.split(':')[0]}{API}/task/{task_id}/status"
        header = hawk_header(signed_for, "GET", sandbox.credentials)
        ok = requests.get(url, timeout=10, headers={
            "Authorization": header, "X-Forwarded-Proto": "https", "Host": host})
        assert ok.status_code == 200, ok.text
        plain = requests.get(url, timeout=10, headers={"Authorization": header})
        assert plain.status_code == 401


class TestBewit:
    """Signed URLs."""

    @pytest.fixture
    def secret(self, queue, root_url):
        """A task with a private artifact: (taskId, client)."""
        tid, _, worker = create_and_claim(queue, root_url)
        s3_artifact(worker, tid, 0, "private/s.txt", b"signed!")
        return tid

    def test_signed_url(self, queue, secret):
        """A bewit URL authorizes a private download."""
        url = queue.buildSignedUrl("getLatestArtifact", secret, "private/s.txt", expiration=60)
        res = requests.get(url, timeout=10)
        assert res.status_code == 200
        assert res.content == b"signed!"

    def test_expired_bewit(self, queue, secret):
        """A bewit whose expiry has passed → 401."""
        url = queue.buildSignedUrl("getLatestArtifact", secret, "private/s.txt",
                                   expiration=-30)
        res = requests.get(url, allow_redirects=False, timeout=10)
        assert res.status_code == 401
        assert res.json()["code"] == "AuthenticationFailed"

    def test_bewit_for_other_resource(self, queue, secret):
        """A bewit is bound to its URL."""
        url = queue.buildSignedUrl("getLatestArtifact", secret, "private/s.txt")
        tampered = url.replace("private%2Fs.txt", "private%2Fother.txt")
        assert tampered != url
        assert requests.get(tampered, allow_redirects=False, timeout=10).status_code == 401

    def test_header_and_bewit(self, sandbox, queue, secret):
        """Header and bewit together → 401."""
        url = queue.buildSignedUrl("getLatestArtifact", secret, "private/s.txt")
        header = hawk_header(url, "GET", sandbox.credentials)
        res = requests.get(url, headers={"Authorization": header}, allow_redirects=False,
                           timeout=10)
        assert res.status_code == 401

    def test_bewit_with_wrong_key(self, sandbox, secret):
        """A bewit signed with a wrong accessToken → 401."""
        bad = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "wrong"})
        url = bad.buildSignedUrl("getLatestArtifact", secret, "private/s.txt")
        assert requests.get(url, allow_redirects=False, timeout=10).status_code == 401

    def test_bewit_from_temporary_credentials(self, sandbox, secret):
        """Temporary credentials can sign URLs."""
        temp = _temp_creds(sandbox.credentials, ["queue:get-artifact:private/*"])
        client = make_queue(sandbox.root_url, temp)
        url = client.buildSignedUrl("getLatestArtifact", secret, "private/s.txt")
        assert requests.get(url, timeout=10).content == b"signed!"


class TestTemporaryCredentials:
    """Certificates in ext (see temporary-credentials docs)."""

    def test_claim_credentials_drive_the_run(self, queue, root_url):
        """claimWork credentials reclaim, create artifacts and resolve their own run."""
        tq = new_queue_id()
        tid = new_task_id()
        queue.createTask(tid, make_task(tq))
        claim = claim_one(queue, tq)
        worker = taskcluster.Queue({"rootUrl": root_url, "credentials": claim["credentials"],
                                    "maxRetries": 0})
        reclaimed = worker.reclaimTask(tid, 0)
        worker = taskcluster.Queue({"rootUrl": root_url,
                                    "credentials": reclaimed["credentials"], "maxRetries": 0})
        s3_artifact(worker, tid, 0, "public/w.txt", b"w")
        assert worker.reportCompleted(tid, 0)["status"]["state"] == "completed"
        other, _, _ = create_and_claim(queue, root_url)
        expect_error(worker.createArtifact, other, 0, "public/x", {
            "storageType": "s3", "contentType": "text/plain",
            "expires": taskcluster.fromNowJSON("1 day")}, status=403,
            code="InsufficientScopes")

    def test_root_issued(self, sandbox, task_id):
        """Unnamed temporary credentials carry only their certificate's scopes."""
        temp = _temp_creds(sandbox.credentials, ["queue:cancel-task-in-project:none"])
        client = make_queue(sandbox.root_url, temp)
        expect_error(client.createTask, new_task_id(), make_task(), status=403,
                     code="InsufficientScopes")
        assert client.cancelTask(task_id)["status"]["state"] == "exception"

    def test_named(self, sandbox):
        """Named temporary credentials use their own clientId."""
        temp = _temp_creds(sandbox.credentials, ["queue:status:*"], name="my-temp-client")
        assert temp["clientId"] == "my-temp-client"
        client = make_queue(sandbox.root_url, temp)
        body = expect_error(client.createTask, new_task_id(), make_task(), status=403,
                            code="InsufficientScopes")
        assert "my-temp-client" in body["message"]

    def test_expired_certificate(self, sandbox, task_id):
        """A certificate past its expiry → 401."""
        temp = _temp_creds(sandbox.credentials, ["queue:status:*"], start=-7200, expiry=-3600)
        client = make_queue(sandbox.root_url, temp)
        expect_error(client.status, task_id, status=401, code="AuthenticationFailed")

    def test_tampered_certificate(self, sandbox, task_id):
        """Changing the certificate's scopes invalidates its signature → 401."""
        temp = _temp_creds(sandbox.credentials, ["queue:status:*"])
        cert = json.loads(temp["certificate"])
        cert["scopes"] = ["*"]
        temp["certificate"] = json.dumps(cert)
        client = make_queue(sandbox.root_url, temp)
        expect_error(client.status, task_id, status=401, code="AuthenticationFailed")

    def test_issuer_lacking_scopes(self, sandbox, task_id):
        """An issuer cannot grant scopes it does not have → 401."""
        creds, _ = _client(sandbox, ["queue:status:*"])
        temp = _temp_creds(creds, ["queue:create-task:*"])
        client = make_queue(sandbox.root_url, temp)
        expect_error(client.status, task_id, status=401, code="AuthenticationFailed")

    def test_named_without_create_client_scope(self, sandbox, task_id):
        """A named certificate needs auth:create-client:<name> on the issuer → 401."""
        creds, _ = _client(sandbox, ["queue:status:*"])
        temp = _temp_creds(creds, ["queue:status:*"], name="impostor")
        client = make_queue(sandbox.root_url, temp)
        expect_error(client.status, task_id, status=401, code="AuthenticationFailed")


class TestAuthorizedScopes:
    """authorizedScopes in ext restrict a request."""

    def test_restricts_root(self, sandbox, task_id):
        """Root restricted to status scopes cannot create or cancel tasks."""
        client = make_queue(sandbox.root_url, sandbox.credentials,
                            authorizedScopes=["queue:status:*"])
        assert client.status(task_id)["status"]["taskId"] == task_id
        expect_error(client.createTask, new_task_id(), make_task(), status=403,
                     code="InsufficientScopes")
        expect_error(client.cancelTask, task_id, status=403, code="InsufficientScopes")

    def test_allows_within_scopes(self, sandbox, task_id):
        """authorizedScopes that cover the request succeed."""
        client = make_queue(sandbox.root_url, sandbox.credentials,
                            authorizedScopes=["queue:cancel-task-in-project:none"])
        assert client.cancelTask(task_id)["status"]["state"] == "exception"

    def test_overstepping(self, sandbox, task_id):
        """authorizedScopes beyond the client's scopes → 401."""
        creds, _ = _client(sandbox, ["queue:status:*"])
        client = make_queue(sandbox.root_url, creds, authorizedScopes=["*"])
        expect_error(client.status, task_id, status=401, code="AuthenticationFailed")

    def test_anonymous_role_counts(self, sandbox, task_id):
        """A scope the client holds only through the anonymous role may be
        named in authorizedScopes (as in Taskcluster)."""
        creds, _ = _client(sandbox, ["queue:cancel-task:*"])
        client = make_queue(sandbox.root_url, creds, authorizedScopes=["queue:status:*"])
        assert client.status(task_id)["status"]["taskId"] == task_id
        expect_error(client.cancelTask, task_id, status=403, code="InsufficientScopes")

    def test_with_temporary_credentials(self, queue, root_url):
        """authorizedScopes combine with claim credentials."""
        tid, claim, _ = create_and_claim(queue, root_url)
        limited = make_queue(root_url, claim["credentials"],
                             authorizedScopes=[f"queue:resolve-task:{tid}/0"])
        expect_error(limited.createArtifact, tid, 0, "public/x", {
            "storageType": "s3", "contentType": "text/plain",
            "expires": taskcluster.fromNowJSON("1 day")}, status=403,
            code="InsufficientScopes")
        assert limited.reportCompleted(tid, 0)["status"]["state"] == "completed"
