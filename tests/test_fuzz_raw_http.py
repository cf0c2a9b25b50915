"""Fuzzing HTTP itself on a raw socket: malformed request lines, paths, headers,
Content-Length and chunked bodies, and connections closed halfway. A plain-text
4xx or a closed connection is fine, a 5xx is not, and the sandbox must answer
ping after each. The sandbox, and what every answer is checked for: fuzz_world.py.
"""

from __future__ import annotations

from fuzz_requests import API
from fuzz_world import Fuzz


def _raw_cases(port: int, running: str) -> list[tuple[str, bytes, bool]]:
    """(label, bytes, hang up after sending) of malformed HTTP."""
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    close = b"Connection: close\r\n\r\n"
    ping = f"{API}/ping".encode()
    status = f"{API}/task/{running}/status".encode()
    get = b"GET " + ping + b" HTTP/1.1\r\n" + host
    put = f"PUT {API}/task/{running} HTTP/1.1\r\n".encode() + host

    def line(target: bytes) -> bytes:
        """A GET of `target`, otherwise well-formed."""
        return b"GET " + target + b" HTTP/1.1\r\n" + host + close

    chunked = put + b"Transfer-Encoding: chunked\r\n\r\n"
    return [
        ("garbage request line", b"GARBAGE\r\n\r\n", False),
        ("no version", b"GET " + ping + b"\r\n\r\n", False),
        ("HTTP/9.9", b"GET " + ping + b" HTTP/9.9\r\n" + host + b"\r\n", False),
        ("lower-case method", b"get " + ping + b" HTTP/1.1\r\n" + host + close, False),
        ("no Host", b"GET " + ping + b" HTTP/1.1\r\n" + close, False),
        ("absolute form", line(b"http://evil" + ping), False),
        ("LF in path", line(ping + b"\n/x"), False),
        ("CR in path", line(ping + b"\r/x"), False),
        ("space in path", line(ping + b" x"), False),
        ("NUL in path", line(ping + b"\x00"), False),
        ("raw UTF-8 in path", line(f"{API}/task/é/status".encode()), False),
        ("bad percent-encoding", line(f"{API}/task/%zz%/status".encode()), False),
        ("lone-surrogate bytes", line(f"{API}/task/".encode() + b"\xed\xa0\x80/status"), False),
        ("huge header", get + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n", False),
        ("huge request line", line(ping + b"?" + b"a" * 100_000), False),
        ("many headers", get + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n", False),
        ("header without colon", get + b"Nonsense\r\n\r\n", False),
        ("NUL in header", get + b"X-A: a\x00b\r\n\r\n", False),
        ("folded header", get + b"X-A: a\r\n b\r\n\r\n", False),
        (
            "latin-1 Authorization",
            b"GET "
            + status
            + b" HTTP/1.1\r\n"
            + host
            + b'Authorization: Hawk id="\xff"\r\n'
            + close,
            False,
        ),
        (
            "non-UTF-8 Host, signed",
            b"GET "
            + status
            + b" HTTP/1.1\r\nHost: 127.0.0.1:\xff\r\n"
            + b'Authorization: Hawk id="root", ts="1", nonce="n", mac="x"\r\n'
            + close,
            False,
        ),
        ("Content-Length abc", put + b"Content-Length: abc\r\n\r\n{}", False),
        ("Content-Length -1", put + b"Content-Length: -1\r\n\r\n{}", False),
        ("Content-Length huge", put + b"Content-Length: 99999999999999999999999\r\n\r\n{}", False),
        ("two Content-Lengths", put + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", False),
        (
            "Content-Length and chunked",
            put
            + b"Content-Length: 2\r\n"
            + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            False,
        ),
        ("chunk size ZZ", chunked + b"ZZ\r\n{}\r\n0\r\n\r\n", False),
        ("chunk size -1", chunked + b"-1\r\n{}\r\n0\r\n\r\n", False),
        ("chunk longer than said", chunked + b"1\r\n{}}\r\n0\r\n\r\n", False),
        ("chunk size overflow", chunked + b"F" * 40 + b"\r\n{}\r\n0\r\n\r\n", False),
        ("chunked, no end, hang up", chunked + b"2\r\n{}\r\n", True),
        (
            "closed mid-body",
            put + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"a": ',
            True,
        ),
        ("closed mid-headers", b"GET " + ping + b" HTTP/1.1\r\nHo", True),
        ("Transfer-Encoding gzip", put + b"Transfer-Encoding: gzip\r\n\r\n{}", False),
    ]


def test_raw_http(fuzz: Fuzz):
    """Malformed HTTP: answered without a 5xx (a plain 400 or a closed connection is
    fine), and the server answers ping after each."""
    for label, data, hang_up in _raw_cases(fuzz.port, fuzz.world.running):
        fuzz.raw(label, data, hang_up=hang_up)
    fuzz.finish()
