"""No secret in any answer: a wrong key, a forged bewit or a forged certificate is
answered with a 401 that carries neither the MAC, bewit MAC or signature the
server computed nor a token (nor does the log), and nothing taken from a 401
authenticates.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import logging
import urllib.parse

import mohawk
import requests
import taskcluster
from helpers import API, create_and_claim, make_queue, new_task_id, root_queue, s3_artifact
from security_helpers import _sign, assert_error

from tc_notebook.sandbox.auth import certificate_text


def assert_reveals_none(res: requests.Response, secrets: list[str]) -> None:
    """No secret in the answer's body or headers."""
    seen = res.text + json.dumps(dict(res.headers))
    for secret in secrets:
        assert secret not in seen, f"the answer reveals {secret!r}: {res.text[:300]}"


def _mac_of(header: str) -> str:
    return mohawk.util.parse_authorization_header(header)["mac"]


def test_wrong_key_is_answered_without_the_expected_mac(sandbox, pending_task, caplog):
    """A Hawk header signed with a wrong key: 'Bad mac', and neither the MAC the
    server computed nor the root token appears in the answer or the log."""
    caplog.set_level(logging.DEBUG)
    url = f"{sandbox.root_url}{API}/task/{pending_task}/cancel"
    right = _sign(url, "POST", sandbox.credentials)
    wrong = _sign(url, "POST", {"clientId": "root", "accessToken": "not-the-token"})
    # The server would compute the MAC of `right` (same ts and nonce): resign
    # the wrong header's timestamp and nonce with the true key to learn it.
    fields = mohawk.util.parse_authorization_header(wrong)
    expected = mohawk.Sender(
        {"id": "root", "key": sandbox.credentials["accessToken"], "algorithm": "sha256"},
        url, "POST", content=b"", content_type="", ext=fields["ext"],
        _timestamp=fields["ts"], nonce=fields["nonce"],
    ).request_header
    res = requests.post(url, headers={"Authorization": wrong}, timeout=10)
    body = assert_error(res, 401, "AuthenticationFailed")
    assert "Bad mac" in body["message"]
    secrets = [_mac_of(expected), _mac_of(right), sandbox.credentials["accessToken"]]
    assert_reveals_none(res, secrets)
    for secret in secrets:
        assert secret not in caplog.text
    assert taskcluster.Queue(sandbox.client_options()).status(pending_task)["status"][
        "state"] == "pending"


def test_wrong_bewit_is_answered_without_the_expected_mac(sandbox, queue, caplog):
    """A signed URL made with a wrong key: 401, and the right bewit's MAC is not in it."""
    caplog.set_level(logging.DEBUG)
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    s3_artifact(worker, task_id, 0, "private/secret.txt", b"secret bytes")
    forged = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "guess"})
    genuine = root_queue(sandbox)
    args = ("getArtifact", task_id, 0, "private/secret.txt")
    bad_url = forged.buildSignedUrl(*args)
    good_url = genuine.buildSignedUrl(*args)
    good_bewit = urllib.parse.parse_qs(urllib.parse.urlsplit(good_url).query)["bewit"][0]
    good_mac = base64.urlsafe_b64decode(good_bewit + "==").decode().split("\\")[2]
    res = requests.get(bad_url, allow_redirects=False, timeout=10)
    body = assert_error(res, 401, "AuthenticationFailed")
    assert "Bad mac" in body["message"]
    assert_reveals_none(res, [good_mac, good_bewit, sandbox.credentials["accessToken"]])
    assert good_mac not in caplog.text
    assert requests.get(good_url, allow_redirects=False, timeout=10).status_code == 303


def test_forged_certificate_is_answered_without_its_signature(sandbox, queue):
    """Temporary credentials with altered scopes: 401 naming the certificate,
    without the signature the server computed or the temporary token."""
    now = datetime.datetime.now(datetime.timezone.utc)
    temp = taskcluster.createTemporaryCredentials(
        "root", sandbox.credentials["accessToken"], now - datetime.timedelta(minutes=1),
        now + datetime.timedelta(hours=1), ["queue:status:*"])
    genuine = json.loads(temp["certificate"])
    forged = {**genuine, "scopes": ["*"]}
    text = certificate_text(forged, temp["clientId"])
    expected = base64.b64encode(hmac.new(sandbox.credentials["accessToken"].encode(),
                                         text.encode(), hashlib.sha256).digest()).decode()
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}"
    header = _sign(url, "GET", temp, ext={"certificate": forged})
    res = requests.get(url, headers={"Authorization": header}, timeout=10)
    body = assert_error(res, 401, "AuthenticationFailed")
    assert "certificate" in body["message"]
    token = temp["accessToken"]
    token = token.decode() if isinstance(token, bytes) else token
    assert_reveals_none(res, [expected, token, sandbox.credentials["accessToken"]])


def test_replaying_anything_from_a_401_does_not_authenticate(sandbox, pending_task):
    """The attack of the issue: take every token-like word of the 401 and use it
    as the MAC; none of them is accepted."""
    url = f"{sandbox.root_url}{API}/task/{pending_task}/cancel"
    wrong = _sign(url, "POST", {"clientId": "root", "accessToken": "not-the-token"})
    res = requests.post(url, headers={"Authorization": wrong}, timeout=10)
    words = {w.strip("`'\".,;:()") for w in res.text.replace("\\n", " ").split()}
    candidates = [w for w in words if len(w) >= 40]
    mac = _mac_of(wrong)
    for candidate in candidates:
        replay = wrong.replace(f'mac="{mac}"', f'mac="{candidate}"')
        again = requests.post(url, headers={"Authorization": replay}, timeout=10)
        assert again.status_code == 401, again.text
