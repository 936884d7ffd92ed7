"""The ``verify:`` block of a rule: its schema, parsing and safety validation. Pure: no network, no I/O.

A verify block describes one cheap, read-only request to the provider's official host and how to read the
answer. ``docs/verification.md`` documents every field; ``rulecheck.py`` reports ``verify_problems`` as rule
errors, so a rule that would send a key anywhere but a fixed HTTPS host never ships.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SECRET = "{secret}"
HOST = "{host}"
TYPES = frozenset({"http", "aws-sts", "none"})
RESULTS = frozenset({"live", "invalid", "unknown", "restricted"})
_FIELDS = frozenset(
    {
        "type", "method", "url", "headers", "basic_auth", "read_only", "live", "invalid", "restricted", "answers",
        "identity", "scopes", "details", "admin_scopes", "admin_when_live", "host", "host_patterns",
        "concurrency", "per_second", "trust_invalid", "note", "pair",
    }
)
_EXTRACT_FIELDS = frozenset({"json", "header", "prefix"})
_HOST_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9-]+$")
_PATH_RE = re.compile(r"^[A-Za-z0-9_-]+(\[\])?(\.[A-Za-z0-9_-]+(\[\])?)*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Extract:
    """Where to read one value of the answer: a dotted JSON path (``a.b[].c``) or a response header."""

    json: str | None = None
    header: str | None = None
    prefix: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """One ordered answer rule: status codes plus JSON conditions (all must hold) give a result."""

    status: frozenset[int]
    json: tuple[tuple[str, tuple[Any, ...]], ...]
    result: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """A companion value found near the key (AWS: the secret access key within a few lines of the key id)."""

    rule: str
    lines: int = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifySpec:
    """A parsed, validated verify block."""

    type: str = "http"
    method: str = "GET"
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    basic_auth: tuple[str, str] | None = None
    read_only: bool = False
    live: frozenset[int] = frozenset({200})
    invalid: frozenset[int] = frozenset({401})
    restricted: frozenset[int] = frozenset()
    answers: tuple[Answer, ...] = ()
    identity: tuple[Extract, ...] = ()
    scopes: tuple[Extract, ...] = ()
    details: tuple[Extract, ...] = ()
    admin_scopes: tuple[str, ...] = ()
    admin_when_live: bool = False
    host: str | None = None  # key of a user-given host (--verify-host KEY=HOST) when the URL holds {host}
    host_patterns: tuple[str, ...] = ()
    concurrency: int = 2
    per_second: float = 4.0
    trust_invalid: bool = True
    note: str = ""
    pair: Pair | None = None

    @property
    def official_host(self) -> str | None:
        """The fixed host written in the rule (None when the user supplies it)."""
        host = urlsplit(self.url).hostname
        return None if self.host or host is None else host

    @property
    def reads_json(self) -> bool:
        """The answer must be JSON for the spec to read it."""
        extracts = self.identity + self.scopes + self.details
        return any(e.json for e in extracts) or any(a.json for a in self.answers)


def _ints(value: Any, name: str, problems: list[str]) -> frozenset[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        problems.append(f"verify.{name} must be a list of HTTP status codes")
        return frozenset()
    if any(not 100 <= v <= 599 for v in value):
        problems.append(f"verify.{name}: status codes are between 100 and 599")
    return frozenset(value)


def _extracts(value: Any, name: str, problems: list[str]) -> tuple[Extract, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"verify.{name} must be a list of {{json: PATH}} or {{header: NAME}} entries")
        return ()
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"json": item}
        if not isinstance(item, Mapping) or set(item) - _EXTRACT_FIELDS or ("json" in item) == ("header" in item):
            problems.append(f"verify.{name}[{i}] needs exactly one of 'json' or 'header' (and an optional 'prefix')")
            continue
        path, header = item.get("json"), item.get("header")
        if path is not None and (not isinstance(path, str) or not _PATH_RE.match(path)):
            problems.append(f"verify.{name}[{i}].json must be a dotted path such as 'auth.accessToken.role' or 'acls[]'")
            continue
        if header is not None and (not isinstance(header, str) or not _HEADER_NAME_RE.match(header)):
            problems.append(f"verify.{name}[{i}].header must be a header name")
            continue
        out.append(Extract(json=path, header=header, prefix=str(item.get("prefix", ""))))
    return tuple(out)


def _answers(value: Any, problems: list[str]) -> tuple[Answer, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("verify.answers must be a list")
        return ()
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or set(item) - {"status", "json", "result"}:
            problems.append(f"verify.answers[{i}] has only 'status', 'json' and 'result'")
            continue
        result = item.get("result")
        if result not in RESULTS:
            problems.append(f"verify.answers[{i}].result must be one of {', '.join(sorted(RESULTS))}")
            continue
        cond = item.get("json") or {}
        if not isinstance(cond, Mapping) or not all(isinstance(k, str) and _PATH_RE.match(k) for k in cond):
            problems.append(f"verify.answers[{i}].json maps dotted paths to a value or a list of values")
            continue
        json_cond = tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in cond.items())
        out.append(Answer(status=_ints(item.get("status", []), f"answers[{i}].status", problems), json=json_cond,
                          result=str(result)))
    return tuple(out)


def _check_url(url: Any, host_key: Any, problems: list[str]) -> None:
    """Only HTTPS to a fixed, named host; ``{host}`` only as the whole host and only when the user supplies it."""
    if not isinstance(url, str) or not url:
        problems.append("verify.url is required")
        return
    if SECRET in url:
        problems.append("verify.url must not contain {secret}: send the key in a header, never in the URL")
    parts = urlsplit(url)
    if parts.scheme != "https":
        problems.append("verify.url must use https://")
    if parts.username or parts.password:
        problems.append("verify.url must not carry user information")
    if "{" in url.replace(HOST, "", 1) or HOST in parts.path + parts.query + parts.fragment:
        problems.append("verify.url may hold no placeholder except {host} as the whole host")
    if parts.netloc == HOST:
        if not isinstance(host_key, str) or not _HOST_KEY_RE.match(host_key):
            problems.append("verify.url uses {host}: set 'host: NAME' (the user passes --verify-host NAME=HOST); "
                            "a host taken from scanned content is never used")
        return
    if HOST in parts.netloc:
        problems.append("verify.url: {host} must be the whole host")
        return
    if host_key is not None:
        problems.append("verify.host is only meaningful with {host} in the URL")
    name = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(name)
        problems.append("verify.url must name the provider's official host, not an IP address")
        return
    except ValueError:
        pass
    if not _HOSTNAME_RE.match(name) or name.endswith((".local", ".localhost", ".test", ".example", ".internal")):
        problems.append(f"verify.url host {name!r} is not a public DNS name")


def parse(raw: Mapping[str, Any]) -> tuple[VerifySpec | None, list[str]]:
    """Parse a verify block; return the spec (None when it has errors) and the problems found."""
    problems: list[str] = []
    unknown = set(raw) - _FIELDS
    if unknown:
        problems.append(f"verify: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    kind = raw.get("type", "http")
    if kind not in TYPES:
        problems.append(f"verify.type must be one of {', '.join(sorted(TYPES))}")
        return None, problems
    if kind == "none":
        if not raw.get("note"):
            problems.append("verify.type none needs a 'note' saying why no read-only check exists")
        return (VerifySpec(type="none", note=str(raw.get("note", ""))) if not problems else None), problems
    method = str(raw.get("method", "GET" if kind == "http" else "POST")).upper()
    read_only = raw.get("read_only", False) is True
    if method not in ("GET", "HEAD", "POST"):
        problems.append("verify.method must be GET, HEAD or POST")
    if method == "POST" and not (read_only and raw.get("note")):
        problems.append("verify.method POST needs 'read_only: true' and a 'note' naming why the call changes nothing")
    _check_url(raw.get("url"), raw.get("host"), problems)
    headers_raw = raw.get("headers") or {}
    headers: list[tuple[str, str]] = []
    if not isinstance(headers_raw, Mapping):
        problems.append("verify.headers must be a mapping of header name to value")
    else:
        for k, v in headers_raw.items():
            if not isinstance(k, str) or not _HEADER_NAME_RE.match(k) or not isinstance(v, str):
                problems.append(f"verify.headers: {k!r} must be a header name with a text value")
                continue
            if "{" in v.replace(SECRET, ""):
                problems.append(f"verify.headers.{k}: the only placeholder is {{secret}}")
            if any(c in v for c in "\r\n"):
                problems.append(f"verify.headers.{k}: no line breaks")
            headers.append((k, v))
    basic = raw.get("basic_auth")
    basic_auth: tuple[str, str] | None = None
    if basic is not None:
        if not isinstance(basic, Mapping) or set(basic) - {"username", "password"}:
            problems.append("verify.basic_auth has 'username' and 'password'")
        else:
            basic_auth = (str(basic.get("username", "")), str(basic.get("password", "")))
            if any("{" in part.replace(SECRET, "") for part in basic_auth):
                problems.append("verify.basic_auth: the only placeholder is {secret}")
    sends_secret = any(SECRET in v for _, v in headers) or (basic_auth is not None and SECRET in "".join(basic_auth))
    if kind == "http" and not sends_secret:
        problems.append("verify: no header or basic_auth carries {secret}")
    pair = None
    if kind == "aws-sts":
        p = raw.get("pair")
        if not isinstance(p, Mapping) or not isinstance(p.get("rule"), str):
            problems.append("verify.type aws-sts needs 'pair: {rule: RULE_ID, lines: N}' for the secret access key")
        else:
            pair = Pair(rule=p["rule"], lines=int(p.get("lines", 5)))
        if urlsplit(str(raw.get("url", ""))).hostname not in ("sts.amazonaws.com",):
            problems.append("verify.type aws-sts only talks to https://sts.amazonaws.com/")
    live = _ints(raw.get("live", [200]), "live", problems)
    invalid = _ints(raw.get("invalid", [401]), "invalid", problems)
    restricted = _ints(raw.get("restricted", []), "restricted", problems)
    if live & invalid or live & restricted or invalid & restricted:
        problems.append("verify: live, invalid and restricted status lists must not overlap")
    concurrency, per_second = raw.get("concurrency", 2), raw.get("per_second", 4.0)
    if not isinstance(concurrency, int) or not 1 <= concurrency <= 8:
        problems.append("verify.concurrency must be a whole number from 1 to 8")
    if not isinstance(per_second, int | float) or not 0 < per_second <= 20:
        problems.append("verify.per_second must be a number above 0 and at most 20")
    patterns = raw.get("host_patterns") or []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        problems.append("verify.host_patterns must be a list of host globs")
        patterns = []
    admin_scopes = raw.get("admin_scopes") or []
    if not isinstance(admin_scopes, list) or not all(isinstance(p, str) for p in admin_scopes):
        problems.append("verify.admin_scopes must be a list of scope globs")
        admin_scopes = []
    spec = VerifySpec(
        type=str(kind), method=method, url=str(raw.get("url", "")), headers=tuple(headers), basic_auth=basic_auth,
        read_only=read_only, live=live, invalid=invalid, restricted=restricted, answers=_answers(raw.get("answers"), problems),
        identity=_extracts(raw.get("identity"), "identity", problems), scopes=_extracts(raw.get("scopes"), "scopes", problems),
        details=_extracts(raw.get("details"), "details", problems), admin_scopes=tuple(admin_scopes),
        admin_when_live=raw.get("admin_when_live", False) is True,
        host=raw.get("host") if isinstance(raw.get("host"), str) else None, host_patterns=tuple(patterns),
        concurrency=concurrency if isinstance(concurrency, int) else 2,
        per_second=float(per_second) if isinstance(per_second, int | float) else 4.0,
        trust_invalid=raw.get("trust_invalid", True) is not False, note=str(raw.get("note", "")), pair=pair,
    )
    return (None if problems else spec), problems


def verify_problems(raw: Mapping[str, Any] | None) -> list[str]:
    """Problems with a rule's verify block (empty when it has none)."""
    if raw is None:
        return []
    return parse(raw)[1]


def spec_of(raw: Mapping[str, Any] | None) -> VerifySpec | None:
    """The parsed spec, or None when the rule has no (valid) verify block."""
    return None if raw is None else parse(raw)[0]
