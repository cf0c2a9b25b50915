"""Fuzzing bewits (signed URLs): garbage bewits, valid-looking ones with wrong
MACs, odd expiries or ext, a bewit with a header or on another method, and
generated bewit parts. No answer may carry the bewit MAC the server expected. The
sandbox, and what every answer is checked for: fuzz_world.py.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import mohawk
from fuzz_checks import expected_bewit_mac
from fuzz_requests import API, b64_json, make_bewit, nested
from fuzz_strategies import FUZZ, HAWK_CHARS, NASTY_VALUES, _now
from fuzz_world import Fuzz, _match, _target
from hypothesis import given, settings
from hypothesis import strategies as st


def _bewit(
    fuzz: Fuzz, target: str, client_id: str, exp: str, mac: str | None, ext: str = ""
) -> str:
    """A bewit for `target` with these parts; `mac` None: the MAC root would compute."""
    if mac is None:
        probe = f"{fuzz.root}{target}?bewit={make_bewit(client_id, exp, '', ext)}"
        mac = expected_bewit_mac(probe, fuzz.token) or "x"
    return make_bewit(client_id, exp, mac, ext)


def _send_bewit(fuzz: Fuzz, method: str, target: str, bewit: str, **options: Any) -> None:
    """Send `target?bewit=…`; the MAC root would expect there, for the URL as sent or as
    the official client builds it (parameters quoted whole), is a secret."""
    url = f"{target}{'&' if '?' in target else '?'}bewit={bewit}"
    try:
        sent = mohawk.bewit.parse_bewit(bewit + "=" * (-len(bewit) % 4)).mac
    except (mohawk.exc.HawkFail, ValueError):
        sent = None
    secrets = {}
    for form, candidate in (("sent", url), ("client's", _as_client_builds(method, url))):
        expected = expected_bewit_mac(fuzz.root + candidate, fuzz.token)
        secrets[f"bewit MAC expected for the {form} URL"] = expected if expected != sent else None
    fuzz.request(method, url, secrets=secrets, **options)


def _as_client_builds(method: str, target: str) -> str:
    """`target` as the official client writes it: each URL parameter quoted whole."""
    matched = _match(method, target)
    if not matched:
        return target
    entry, params = matched
    quoted = {name: urllib.parse.quote(value, safe="") for name, value in params.items()}
    return _target(entry, quoted, target.partition("?")[2])


def test_malformed_bewits(fuzz: Fuzz):
    """Garbage bewits, valid-looking ones with wrong MACs, and odd expiries or ext."""
    target = f"{API}/task/{fuzz.world.running}/artifacts/private/fuzz.txt"
    future = str(int(_now()) + 600)
    bewits = ["", "!!!", "=", "%00", "a", "%zz", base64.urlsafe_b64encode(b"a\\b\\c").decode()]
    bewits.append(base64.urlsafe_b64encode("root\\é\\x\\".encode()).decode())
    for client_id, exp, mac, ext in [
        ("root", future, "wrong", ""),
        ("root", future, "", ""),
        ("root", "abc", None, ""),
        ("root", "1e10", None, ""),
        ("root", "-1", None, ""),
        ("root", "9" * 30, None, ""),
        ("root", " 1", None, ""),
        ("nobody", future, "x", ""),
        ("root", future, None, "!!!"),
        ("root", future, None, b64_json([])),
        ("root", future, None, b64_json(nested(1200))),
        ("root", future, "AAAA", b64_json({"authorizedScopes": "x"})),
        ("root", future, None, b64_json({"certificate": {"start": "abc"}})),
    ]:
        bewits.append(_bewit(fuzz, target, client_id, exp, mac, ext))
    for bewit in bewits:
        _send_bewit(fuzz, "GET", target, bewit)
    good = _bewit(fuzz, target, "root", future, None)
    _send_bewit(fuzz, "POST", target, good)
    _send_bewit(fuzz, "GET", target, good, headers={"Authorization": fuzz.sign("GET", target)})
    _send_bewit(fuzz, "GET", f"{API}/ping", good)
    _send_bewit(fuzz, "GET", f"{target}?bewit=x", good)
    fuzz.finish()


def test_bewits_generated(fuzz: Fuzz):
    """Generated bewit parts, with the right MAC or another."""
    target = f"{API}/task/{fuzz.world.running}/artifacts/private/fuzz.txt"
    part = st.text(HAWK_CHARS.filter(lambda c: c != "\\"), max_size=16)

    @settings(FUZZ, max_examples=60)
    @given(
        client_id=st.sampled_from(["root"]) | part,
        exp=st.integers(-(2**64), 2**64).map(str) | part,
        right=st.booleans(),
        ext=part | NASTY_VALUES.map(b64_json),
    )
    def case(client_id: str, exp: str, right: bool, ext: str) -> None:
        """One generated case."""
        mac = None if right else "AAAA"
        _send_bewit(fuzz, "GET", target, _bewit(fuzz, target, client_id, exp, mac, ext))

    case()
    fuzz.finish()
