"""The sandbox's Hawk checks (tc_notebook/sandbox/hawk.py) against
`mohawk.Receiver`, whose rules they follow: the same verdict, and the same
reason, for headers signed by mohawk's `Sender` and then spoilt, and for
arbitrary header text."""

from __future__ import annotations

import time
from typing import Any

import mohawk
import mohawk.exc
import mohawk.util
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tc_notebook.sandbox import hawk

SKEW = 15 * 60
KEY = "a-secret-key-of-the-client"
MALFORMED = (ValueError, TypeError, KeyError, IndexError, UnicodeError)
HEADER_CHARS = st.sampled_from(list(' abcXYZ019_!#$%&()*+,-./:;<=>?@[]^`{|}~"\\=é\t'))

# A path segment may carry `;params`, which both sides leave unsigned.
PATHS = st.sampled_from(["/api/queue/v1/ping", "/a/b;c", "/x%20y/é", "/", "/q"])
URLS = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.sampled_from(["http", "https"]),
    st.sampled_from(["127.0.0.1", "LocalHost", "example.com"]),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    PATHS,
    st.sampled_from(["", "?a=1", "?bewit=x&b", "?"]),
)
SPOILS = st.sampled_from(
    [None, "url", "method", "body", "content_type", "key", "mac", "hash", "no-hash", "old"]
)


def verdict(check: Any) -> str:
    """The reason a check gives, or 'ok'."""
    try:
        check()
    except mohawk.exc.TokenExpired:
        return "stale"
    except mohawk.exc.MisComputedContentHash:
        return "hash"
    except mohawk.exc.MacMismatch:
        return "mac"
    except (mohawk.exc.HawkFail, *MALFORMED):
        return "malformed"
    return "ok"


def mohawk_verdict(header: str, key: str, url: str, method: str, body: bytes, ctype: str) -> str:
    def check() -> None:
        mohawk.Receiver(
            lambda cid: {"id": cid, "key": key, "algorithm": "sha256"},
            header, url, method, content=body, content_type=ctype,
            seen_nonce=lambda *_: False, accept_untrusted_content=True,
            timestamp_skew_in_seconds=SKEW,
        )
    return verdict(check)


def our_verdict(header: str, key: str, url: str, method: str, body: bytes, ctype: str) -> str:
    def check() -> None:
        hawk.check_request(hawk.parse_header(header), key, url, method, body, ctype, SKEW)
    return verdict(check)


def spoilt_request(spoil: str | None, sent: dict[str, Any], header: str) -> tuple:
    """The request as the server sees it, with one thing changed after signing."""
    url, method, body, ctype, key = (
        sent["url"], sent["method"], sent["content"], sent["content_type"], KEY
    )
    attributes = mohawk.util.parse_authorization_header(header)
    if spoil == "url":
        url += "x"
    elif spoil == "method":
        method = "PUT" if method != "PUT" else "POST"
    elif spoil == "body":
        body += b"!"
    elif spoil == "content_type":
        ctype = "text/plain"
    elif spoil == "key":
        key = KEY + "x"
    elif spoil == "mac":
        attributes["mac"] = attributes["mac"][::-1]
    elif spoil == "hash" and "hash" in attributes:
        attributes["hash"] = "AAAA" + attributes["hash"][4:]
    elif spoil == "no-hash":
        attributes.pop("hash", None)
    header = "Hawk " + ", ".join(f'{k}="{v}"' for k, v in attributes.items())
    return header, key, url, method, body, ctype


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    url=URLS,
    method=st.sampled_from(["GET", "POST", "put"]),
    body=st.binary(max_size=40),
    ctype=st.sampled_from(["application/json", "Application/JSON; charset=utf-8", "", "text/x"]),
    ext=st.one_of(st.none(), st.text(alphabet="abc =!", max_size=8)),
    app=st.one_of(st.none(), st.just("app-1")),
    hashed=st.booleans(),
    spoil=SPOILS,
)
def test_signed_requests_get_mohawks_verdict(url, method, body, ctype, ext, app, hashed, spoil):
    """Requests signed by mohawk, then spoilt one way or not at all."""
    sent = {"url": url, "method": method, "content": body if hashed else "",
            "content_type": ctype if hashed else ""}
    if not hashed:
        body, ctype = b"", ""
    sender = mohawk.Sender(
        {"id": "client-1", "key": KEY, "algorithm": "sha256"},
        url, method, content=sent["content"], content_type=sent["content_type"],
        ext=ext, app=app, always_hash_content=hashed,
        _timestamp=int(time.time()) - (SKEW + 60 if spoil == "old" else 0),
    )
    sent["content"], sent["content_type"] = body, ctype
    request = spoilt_request(spoil, sent, sender.request_header)
    expected = mohawk_verdict(*request)
    assert our_verdict(*request) == expected
    if spoil is None:
        assert expected == "ok"


@settings(max_examples=500, deadline=None)
@given(text=st.text(HEADER_CHARS, max_size=60), prefix=st.sampled_from(["Hawk ", "hawk ", ""]))
def test_header_text_parses_as_mohawk_parses_it(text, prefix):
    """Any header text: both parsers fail, or both give the same attributes."""
    header = prefix + text

    def parse(parser: Any) -> Any:
        try:
            return parser(header)
        except (mohawk.exc.HawkFail, *MALFORMED):
            return "fails"

    assert parse(hawk.parse_header) == parse(mohawk.util.parse_authorization_header)


@pytest.mark.parametrize("attribute", ['id="a", id="b"', 'nope="1"', 'id="a\\"b"', 'id="é"'])
def test_bad_headers_fail_both_parsers(attribute):
    """Duplicate or unknown keys and characters outside Hawk's are refused."""
    header = f"Hawk {attribute}, ts=\"1\""
    with pytest.raises((mohawk.exc.HawkFail, ValueError)):
        hawk.parse_header(header)
    with pytest.raises((mohawk.exc.HawkFail, ValueError)):
        mohawk.util.parse_authorization_header(header)
