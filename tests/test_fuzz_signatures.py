"""Fuzzing Hawk credentials on reads, downloads and writes: malformed Authorization
headers, wrong MACs and odd ext, certificates of temporary credentials with fields
of the wrong types or values, bad Host and X-Forwarded-* headers, and generated
Hawk attributes and certificate fields. No answer may carry the MAC the server
expected (for any key, for the URL the server or the client signs). The sandbox,
and what every answer is checked for: fuzz_world.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import mohawk
from fuzz_checks import expected_header_mac, url_as_signed
from fuzz_requests import API, Raw, b64_json, dumps, nested
from fuzz_strategies import FUZZ, HAWK_CHARS, NASTY_VALUES, _now
from fuzz_world import GEN_QUEUE, Fuzz, World
from helpers import make_task, new_task_id
from hypothesis import given, settings
from hypothesis import strategies as st

HOSTS = ["127.0.0.1:abc", "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:", ":80", "[::1"]
HOSTS += ["[::1]:abc", "", "a" * 1000, "127.0.0.1:\xb2", "127.0.0.1:%0A", "127.0.0.1:80:80"]
HOSTS += ["user@127.0.0.1:1"]  # "\xb2" is ² in latin-1, as the header goes out
FORWARDED = [
    {"X-Forwarded-Port": "abc"},
    {"X-Forwarded-Port": "99999"},
    {"X-Forwarded-Port": "-1"},
    {"X-Forwarded-Port": "\xb2"},
    {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "abc"},
    {"X-Forwarded-Proto": "gopher"},
]


def _auth_targets(world: World) -> list[tuple[str, str, bytes, str]]:
    """(method, target, body, content type) that authentication is tried on."""
    task = json.dumps(make_task(GEN_QUEUE)).encode()
    return [
        ("GET", f"{API}/task/{world.running}/status", b"", ""),
        ("GET", f"{API}/task/{world.running}/artifacts/private/fuzz.txt", b"", ""),
        ("PUT", f"{API}/task/{new_task_id()}", task, "application/json"),
    ]


def _hawk(attrs: dict[str, str]) -> str:
    """A Hawk Authorization header with exactly these attributes."""
    return "Hawk " + ", ".join(f'{key}="{value}"' for key, value in attrs.items())


@dataclass
class AuthCase:
    """A request that authentication is tried on."""

    method: str
    target: str
    body: bytes
    content_type: str

    def signed(self, fuzz: Fuzz, attrs: dict[str, str], key: str | None = None) -> dict:
        """`attrs` and the mac root (or `key`) computes for them on this request."""
        url = fuzz.root + self.target
        header = _hawk(attrs)
        mac = expected_header_mac(
            header, url, self.method, key or fuzz.token, self.body, self.content_type
        )
        return {**attrs, "mac": mac or "x"}

    def send(
        self,
        fuzz: Fuzz,
        authorization: str,
        headers: dict | None = None,
        keys: dict[str, str] | None = None,
    ) -> None:
        """Send with this Authorization; the MAC each key would expect is a secret."""
        headers = {**(headers or {}), "Authorization": authorization}
        if self.content_type:
            headers["Content-Type"] = self.content_type
        urls = {
            "server's": url_as_signed(fuzz.root, self.target, headers),
            "client's": fuzz.root + self.target,
        }
        sent = _hawk_mac(authorization)
        secrets: dict[str, str | None] = {}
        for name, key in {"root": fuzz.token, **(keys or {})}.items():
            for where, url in urls.items():
                mac = expected_header_mac(
                    authorization, url, self.method, key, self.body, self.content_type
                )
                if mac and mac != sent:
                    secrets[f"MAC expected with the {name} key for the {where} URL"] = mac
        fuzz.request(self.method, self.target, self.body, headers=headers, secrets=secrets)


def _auth_cases(world: World) -> list[AuthCase]:
    """The requests that authentication is tried on."""
    return [AuthCase(*each) for each in _auth_targets(world)]


def _hawk_mac(header: str) -> str | None:
    """The mac attribute of a Hawk header, if it parses."""
    try:
        return mohawk.util.parse_authorization_header(header).get("mac")
    except (mohawk.exc.HawkFail, ValueError):
        return None


MALFORMED_HEADERS = ["garbage", "Hawk", "Hawk ", "Hawk  ", "hawk", "Basic cm9vdDp4", "Bearer x"]
MALFORMED_HEADERS += ["Hawk ,", "Hawk id=root", 'Hawk id="root", id="root"', 'Hawk foo="bar"']
MALFORMED_HEADERS += ['Hawk id="ro\\"ot"', 'Hawk id="root" ts="1"', 'Hawk id="root",,ts="1"']
MALFORMED_HEADERS += ["Hawk " + "a" * 5000]
TIMESTAMPS = ["abc", "", "-1", "0", "1e10", " 1", "1.5", "9" * 400, str(2**64), "0x10"]
EXTS = [
    "!!!",
    "e30",
    b64_json([]),
    b64_json(None),
    b64_json(1),
    b64_json(nested(1200)),
    b64_json({"certificate": "[" * 1200}),
    b64_json({"certificate": "{"}),
    b64_json({"certificate": nested(1200)}),
    b64_json({"certificate": []}),
    *[b64_json({"authorizedScopes": v}) for v in ["x", [1], ["\ud800"], Raw("NaN"), {}, [["*"]]]],
]


def _header_cases(fuzz: Fuzz, case: AuthCase) -> list[str]:
    """Malformed Authorization headers for one request; MACs right where it matters."""
    good = {"id": "root", "ts": _now(), "nonce": "fuzz01"}
    headers = list(MALFORMED_HEADERS)
    for missing in ("id", "ts", "nonce", "mac"):
        headers.append(_hawk({k: v for k, v in case.signed(fuzz, good).items() if k != missing}))
    skewed = [str(int(_now()) + 16 * 60), str(int(_now()) - 16 * 60)]
    for ts in TIMESTAMPS + skewed:
        attrs = case.signed(fuzz, {**good, "ts": ts})
        headers += [_hawk(attrs), _hawk({**attrs, "mac": "AAAA"})]
    headers += [_hawk({**good, "mac": mac}) for mac in ["", "x", "!!!", "A" * 44]]
    for client_id in ["", "nobody", "root ", "a" * 300]:
        headers.append(_hawk(case.signed(fuzz, {**good, "id": client_id})))
    for extra in [
        {"hash": "x"},
        {"hash": ""},
        {"app": "a"},
        {"app": "a", "dlg": "d"},
        {"tsm": "x"},
    ]:
        headers.append(_hawk(case.signed(fuzz, {**good, **extra})))
    for ext in EXTS:
        attrs = case.signed(fuzz, {**good, "ext": ext})
        headers += [_hawk(attrs), _hawk({**attrs, "mac": "AAAA"})]
    wrong = {"clientId": "root", "accessToken": "wrong-token"}
    args = (case.method, case.target, case.body, case.content_type)
    headers.append(fuzz.sign(*args, credentials=wrong))
    headers.append(fuzz.sign(*args, url=f"{fuzz.root}{API}/task/{fuzz.world.victim}/status"))
    return headers


def test_malformed_authorization(fuzz: Fuzz):
    """Malformed Hawk headers, wrong MACs and odd ext, on reads, downloads and writes."""
    for case in _auth_cases(fuzz.world):
        for header in _header_cases(fuzz, case):
            case.send(fuzz, header)
    fuzz.finish()


CERTIFICATE_SPOILS: list[tuple[str, Any]] = [
    ("start", "abc"),
    ("expiry", None),
    ("start", None),
    ("issuer", [1]),
    ("issuer", {}),
    ("issuer", 1),
    ("issuer", "root"),
    ("seed", 12345),
    ("seed", None),
    ("scopes", ["\ud800"]),
    ("scopes", "*"),
    ("scopes", [1]),
    ("scopes", None),
    ("start", Raw("NaN")),
    ("expiry", Raw("NaN")),
    ("start", Raw("1" + "0" * 4000)),
    ("expiry", Raw("Infinity")),
    ("version", "1"),
    ("version", None),
    ("version", Raw("NaN")),
    ("signature", 5),
    ("signature", None),
    ("signature", []),
    ("start", nested(1200)),
    ("scopes", nested(1200)),
]


def _certificate_ext(cert: Any, as_text: bool) -> str:
    """Hawk ext carrying a certificate, as an object or as its JSON text."""
    return b64_json({"certificate": dumps(cert) if as_text else cert})


def test_malformed_certificates(fuzz: Fuzz):
    """Temporary credentials whose certificate has fields of the wrong types or values,
    as an object and as a JSON string, correctly signed by their holder."""
    temp = fuzz.world.temp
    cert = json.loads(temp["certificate"])
    spoilt: list[Any] = [{**cert, field: value} for field, value in CERTIFICATE_SPOILS]
    spoilt += [{k: v for k, v in cert.items() if k != field} for field in cert]
    spoilt += [[], 5, "x", None]
    keys = {"temporary": temp["accessToken"]}
    for case in _auth_cases(fuzz.world):
        args = (case.method, case.target, case.body, case.content_type)
        for each in spoilt:
            for as_text in (False, True):
                header = fuzz.sign(*args, ext=_certificate_ext(each, as_text), credentials=temp)
                case.send(fuzz, header, keys=keys)
    fuzz.finish()


def test_hosts_and_forwarding(fuzz: Fuzz):
    """Bad Host and X-Forwarded-* headers, unsigned and with a header signed for what the
    server would rebuild (or, where that is no URL, for the client's URL)."""
    for case in _auth_cases(fuzz.world):
        args = (case.method, case.target, case.body, case.content_type)
        for headers in [{"Host": host} for host in HOSTS] + FORWARDED:
            try:
                header = fuzz.sign(*args, url=url_as_signed(fuzz.root, case.target, headers))
            except ValueError:
                header = fuzz.sign(*args)
            case.send(fuzz, header, headers)
            typed = {**headers, "Content-Type": case.content_type or None}
            fuzz.request(case.method, case.target, case.body, headers=typed)
    fuzz.finish()


def test_hawk_generated(fuzz: Fuzz):
    """Generated Hawk attributes, with the right MAC, a wrong one or none, and
    sometimes a bad Host or X-Forwarded-* header."""
    cases = _auth_cases(fuzz.world)
    text = st.text(HAWK_CHARS, max_size=24)
    timestamps = st.sampled_from(["now", "", "abc", "1e10", "-1", "9" * 400])
    ext_trees = NASTY_VALUES | st.fixed_dictionaries(
        {}, optional={"certificate": NASTY_VALUES, "authorizedScopes": NASTY_VALUES}
    )
    attrs = st.fixed_dictionaries(
        {
            "id": st.sampled_from(["root"]) | text,
            "ts": timestamps | st.integers(-(2**64), 2**64).map(str),
            "nonce": text,
        },
        optional={"ext": ext_trees.map(b64_json) | text, "hash": text, "app": text, "dlg": text},
    )
    extra_headers = st.sampled_from([{}] * 3 + [{"Host": host} for host in HOSTS] + FORWARDED)

    @settings(FUZZ, max_examples=120)
    @given(index=st.integers(0, len(cases) - 1), attrs=attrs, data=st.data())
    def case(index: int, attrs: dict[str, str], data: st.DataObject) -> None:
        """One generated case."""
        request = cases[index]
        if attrs["ts"] == "now":
            attrs["ts"] = _now()
        mac = data.draw(st.sampled_from(["right", "wrong", "garbage", "absent"]))
        if mac == "right":
            attrs = request.signed(fuzz, attrs)
        elif mac == "wrong":
            attrs = request.signed(fuzz, attrs, "wrong-token")
        elif mac == "garbage":
            attrs = {**attrs, "mac": data.draw(text)}
        request.send(fuzz, _hawk(attrs), data.draw(extra_headers))

    case()
    fuzz.finish()


def test_certificates_generated(fuzz: Fuzz):
    """Generated values in each certificate field, correctly signed by its holder."""
    temp = fuzz.world.temp
    cert = json.loads(temp["certificate"])
    request = _auth_cases(fuzz.world)[0]
    args = (request.method, request.target, request.body, request.content_type)

    @settings(FUZZ, max_examples=60)
    @given(field=st.sampled_from(sorted(cert)), value=NASTY_VALUES, as_text=st.booleans())
    def case(field: str, value: Any, as_text: bool) -> None:
        """One generated case."""
        ext = _certificate_ext({**cert, field: value}, as_text)
        header = fuzz.sign(*args, ext=ext, credentials=temp)
        request.send(fuzz, header, keys={"temporary": temp["accessToken"]})

    case()
    fuzz.finish()
