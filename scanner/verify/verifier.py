"""Opt-in live verification (``--verify``): one cheap, read-only request per found key, to the host in its rule.

Nothing here runs unless the user passes ``--verify``; the engine imports this module only then. Safety rules:

- A key is sent only over HTTPS (certificates verified, redirects never followed) to the official host written in
  its rule, or to a host the user named with ``--verify-host KEY=HOST`` for rules whose URL holds ``{host}``
  (Databricks workspaces, Vault). A host found in scanned content is never used.
- Each key is checked once per run (cache by keyed secret hash), with per-host concurrency and rate limits and one
  global time budget (``--verify-timeout``); whatever is not answered by then is ``unknown``.
- ``CREDSWEEP_VERIFY_BASE_URL_OVERRIDE`` exists for tests only: it maps an official host to a loopback HTTPS
  server and is refused for any other host unless ``CREDSWEEP_VERIFY_ALLOW_NONLOOPBACK_OVERRIDE=1``.
"""

from __future__ import annotations

import base64
import fnmatch
import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scanner import __version__
from scanner.detect.ruleset import Rule
from scanner.detect.verifyspec import SECRET, Extract, VerifySpec, spec_of
from scanner.errors import UsageError
from scanner.model import Finding, Severity, Verification
from scanner.redact import SecretHasher

OVERRIDE_ENV = "CREDSWEEP_VERIFY_BASE_URL_OVERRIDE"
ALLOW_NONLOOPBACK_ENV = "CREDSWEEP_VERIFY_ALLOW_NONLOOPBACK_OVERRIDE"
MAX_BODY = 256 * 1024
_USER_HOST_RE = re.compile(r"^(?:https://)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?/?$")
_STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
_NOT_JSON = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    """How a run verifies. ``enabled`` False means no network call at all."""

    enabled: bool = False
    timeout: float = 30.0  # global budget in seconds for the whole verify phase
    request_timeout: float = 10.0
    hosts: Mapping[str, str] = field(default_factory=dict)  # --verify-host KEY=HOST
    overrides: Mapping[str, str] = field(default_factory=dict)  # test only: official host -> https://loopback:port
    only_live: bool = False


# --------------------------------------------------------------------------- options


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_overrides(text: str, allow_nonloopback: bool = False) -> dict[str, str]:
    """Read the test-only override (``host=https://127.0.0.1:PORT,...`` or a JSON object); refuse non-loopback."""
    text = text.strip()
    if not text:
        return {}
    try:
        pairs = json.loads(text) if text.startswith("{") else dict(p.split("=", 1) for p in text.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"{OVERRIDE_ENV}: expected HOST=https://127.0.0.1:PORT pairs separated by commas") from None
    out: dict[str, str] = {}
    for host, base in pairs.items():
        parts = urlsplit(str(base).strip())
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
            raise UsageError(f"{OVERRIDE_ENV}: {host}: the replacement must be https://HOST[:PORT]")
        if not _is_loopback(parts.hostname) and not allow_nonloopback:
            raise UsageError(f"{OVERRIDE_ENV}: refusing to send keys for {host} to {parts.hostname}: the override "
                             f"is for tests against loopback servers only (set {ALLOW_NONLOOPBACK_ENV}=1 to allow it)")
        out[str(host).strip().lower()] = f"https://{parts.netloc}"
    return out


def parse_hosts(entries: Iterable[str]) -> dict[str, str]:
    """``--verify-host KEY=HOST[:PORT]`` values: the user's own hosts for rules that need one."""
    out: dict[str, str] = {}
    for entry in entries:
        key, sep, host = entry.partition("=")
        m = _USER_HOST_RE.match(host.strip())
        if not sep or not key.strip() or m is None:
            raise UsageError(f"--verify-host {entry!r}: expected KEY=HOST[:PORT], for example databricks=adb-1.azuredatabricks.net")
        out[key.strip().lower()] = m.group(1).lower() + (f":{m.group(2)}" if m.group(2) else "")
    return out


def options_from(enabled: bool, timeout: float | None, hosts: Iterable[str], only_live: bool,
                 env: Mapping[str, str]) -> VerifyOptions:
    """Build options from the CLI flags and the (test-only) override variables."""
    if only_live and not enabled:
        raise UsageError("--only-live needs --verify (without it, no key is checked)")
    if timeout is not None and timeout <= 0:
        raise UsageError("--verify-timeout must be above 0 seconds")
    overrides = parse_overrides(env.get(OVERRIDE_ENV, ""), env.get(ALLOW_NONLOOPBACK_ENV) == "1") if enabled else {}
    return VerifyOptions(enabled=enabled, timeout=timeout or 30.0, hosts=parse_hosts(hosts), overrides=overrides,
                         only_live=only_live)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Request:
    """One prepared request. Its repr never shows headers (they hold the key)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Response:
    """What came back (body capped at MAX_BODY)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


Transport = Callable[[Request, float], Response]


def https_transport(request: Request, timeout: float) -> Response:
    """Send over HTTPS with certificate checks; never follow redirects."""
    import http.client
    import ssl

    parts = urlsplit(request.url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("refusing a non-HTTPS verification request")
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                       context=ssl.create_default_context())
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(request.method, path, body=request.body, headers=dict(request.headers))
        resp = conn.getresponse()
        body = resp.read(MAX_BODY)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def _target_url(spec: VerifySpec, options: VerifyOptions) -> str | None:
    """The URL to call: the rule's host, or the user's host for {host} rules; the test override last."""
    url = spec.url
    if spec.host:
        host = options.hosts.get(spec.host)
        if host is None:
            return None
        url = url.replace("{host}", host, 1)
    parts = urlsplit(url)
    base = options.overrides.get((parts.hostname or "").lower()) or options.overrides.get(parts.netloc.lower())
    if base:
        parts = parts._replace(netloc=urlsplit(base).netloc)
    return urlunsplit(parts)


def build_request(spec: VerifySpec, url: str, secret: str) -> Request:
    """Fill ``{secret}`` into the rule's headers (or basic auth)."""
    headers = [(k, v.replace(SECRET, secret)) for k, v in spec.headers]
    if spec.basic_auth is not None:
        user, pw = (p.replace(SECRET, secret) for p in spec.basic_auth)
        headers.append(("Authorization", "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()))
    names = {k.lower() for k, _ in headers}
    if "user-agent" not in names:
        headers.append(("User-Agent", f"credsweep/{__version__} (+key verification)"))
    if "accept" not in names:
        headers.append(("Accept", "application/json"))
    return Request(spec.method, url, tuple(headers), b"" if spec.method == "POST" else None)


def sts_request(url: str, key_id: str, secret_key: str) -> Request:
    """A SigV4-signed STS GetCallerIdentity request (botocore imported here, only when needed)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url="https://sts.amazonaws.com/", data=_STS_BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key_id, secret_key), "sts", "us-east-1").add_auth(req)
    headers = [(k, str(v)) for k, v in req.headers.items()]
    headers.append(("User-Agent", f"credsweep/{__version__} (+key verification)"))
    return Request("POST", url, tuple(headers), _STS_BODY.encode())


# --------------------------------------------------------------------------- reading the answer


def json_values(doc: Any, path: str) -> list[Any]:
    """Values at a dotted path; ``name[]`` walks every item of a list."""
    current = [doc]
    for seg in path.split("."):
        many = seg.endswith("[]")
        name = seg[:-2] if many else seg
        nxt: list[Any] = []
        for item in current:
            value = item.get(name) if isinstance(item, Mapping) else None
            if value is None:
                continue
            if many:
                nxt.extend(value if isinstance(value, list) else [])
            else:
                nxt.append(value)
        current = nxt
    return current


def _text(value: Any, secret: str) -> str | None:
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        return None
    text = "".join(c for c in text if c.isprintable())[:120]
    if not text or (len(secret) >= 8 and (secret in text or text in secret and len(text) >= 8)):
        return None  # never echo the key (or a piece of it) back into a report
    return text


def _extract(extracts: tuple[Extract, ...], doc: Any, headers: Mapping[str, str], secret: str) -> list[str]:
    out: list[str] = []
    for e in extracts:
        if e.header:
            raw = headers.get(e.header.lower(), "")
            values: list[Any] = [v.strip() for v in raw.split(",") if v.strip()]
        else:
            values = json_values(doc, e.json or "") if doc is not _NOT_JSON else []
        for v in values:
            text = _text(v, secret)
            if text is not None:
                out.append(e.prefix + text)
    return list(dict.fromkeys(out))


def _json_matches(doc: Any, cond: tuple[tuple[str, tuple[Any, ...]], ...]) -> bool:
    if not cond:
        return True
    if doc is _NOT_JSON:
        return False
    return all(any(v in wanted for v in json_values(doc, path)) for path, wanted in cond)


def classify(spec: VerifySpec, resp: Response) -> tuple[str, str]:
    """(live | restricted | invalid | unknown, why) for one answer."""
    try:
        doc: Any = json.loads(resp.body) if resp.body else _NOT_JSON
    except (ValueError, UnicodeDecodeError):
        doc = _NOT_JSON
    status = resp.status
    if status == 429:
        return "unknown", "rate limited (HTTP 429)"
    result = None
    for a in spec.answers:
        if (not a.status or status in a.status) and _json_matches(doc, a.json):
            result = a.result
            break
    if result is None:
        if status in spec.live:
            result = "live"
        elif status in spec.restricted:
            result = "restricted"
        elif status in spec.invalid:
            result = "invalid"
        else:
            return "unknown", f"unexpected answer (HTTP {status})"
    if result in ("live", "restricted") and spec.reads_json and spec.type == "http" and doc is _NOT_JSON:
        return "unknown", f"unexpected answer (HTTP {status}, not JSON)"
    if result == "invalid" and not spec.trust_invalid:
        return "unknown", f"HTTP {status}: {spec.note or 'this check cannot tell a revoked key from one it cannot see'}"
    return result, f"HTTP {status}"


def _sts_fields(body: bytes) -> dict[str, str]:
    text = body.decode("utf-8", "replace")
    return {k: m.group(1) for k in ("Arn", "Account", "UserId", "Code")
            if (m := re.search(rf"<{k}>([^<]{{1,300}})</{k}>", text))}


def read_answer(spec: VerifySpec, resp: Response, secret: str, host: str, now: datetime) -> Verification:
    """Turn one response into a Verification with identity, scopes and details where the answer shows them."""
    if spec.type == "aws-sts":
        fields_ = _sts_fields(resp.body)
        if resp.status == 200 and "Arn" in fields_:
            arn = fields_["Arn"]
            return Verification(status="live", checked_at=now, detail=f"HTTP 200 from {host}; account {fields_.get('Account', '?')}",
                                identity=arn, scopes=("root",) if arn.endswith(":root") else ())
        if resp.status == 403 and fields_.get("Code") in ("InvalidClientTokenId", "SignatureDoesNotMatch"):
            return Verification(status="invalid", checked_at=now, detail=f"HTTP 403 from {host}: {fields_['Code']}")
        why = "rate limited (HTTP 429)" if resp.status == 429 else f"unexpected answer (HTTP {resp.status})"
        return Verification(status="unknown", checked_at=now, detail=f"{why} from {host}")
    result, why = classify(spec, resp)
    if result in ("unknown", "invalid"):
        return Verification(status=result, checked_at=now, detail=f"{why} from {host}")
    try:
        doc: Any = json.loads(resp.body) if resp.body else _NOT_JSON
    except (ValueError, UnicodeDecodeError):
        doc = _NOT_JSON
    identity = _extract(spec.identity, doc, resp.headers, secret)
    scopes = _extract(spec.scopes, doc, resp.headers, secret)
    details = _extract(spec.details, doc, resp.headers, secret)
    if result == "restricted":
        scopes.append("restricted")
    detail = f"{why} from {host}" + (" (key is live but restricted)" if result == "restricted" else "")
    if details:
        detail += "; " + ", ".join(details[:12])
    return Verification(status="live", checked_at=now, detail=detail, identity=", ".join(identity[:6]) or None,
                        scopes=tuple(scopes[:64]))


def is_admin(spec: VerifySpec, v: Verification) -> bool:
    """A live key whose kind or scopes give administrative power."""
    if v.status != "live":
        return False
    if spec.admin_when_live or (spec.type == "aws-sts" and "root" in v.scopes):
        return True
    return any(fnmatch.fnmatchcase(s.lower(), p.lower()) for s in v.scopes for p in spec.admin_scopes)


# --------------------------------------------------------------------------- limits and the run


class _HostLimit:
    """At most ``concurrency`` requests in flight and ``per_second`` started per host."""

    def __init__(self, concurrency: int, per_second: float) -> None:
        self.sem = threading.BoundedSemaphore(concurrency)
        self.lock = threading.Lock()
        self.interval = 1.0 / per_second
        self.next_start = 0.0

    def acquire(self, deadline: float) -> bool:
        if not self.sem.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start >= deadline:
            self.sem.release()
            return False
        time.sleep(max(0.0, start - time.monotonic()))
        return True

    def release(self) -> None:
        self.sem.release()


@dataclass(frozen=True, slots=True)
class _Job:
    spec: VerifySpec
    request: Request
    host: str  # what the report names: the official (or user-given) host
    secret: str = field(repr=False)


def _unknown(detail: str, now: datetime) -> Verification:
    return Verification(status="unknown", checked_at=now, detail=detail)


class Verifier:
    """Checks findings against their providers; one instance per run."""

    def __init__(self, options: VerifyOptions, transport: Transport | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.options = options
        self.transport = transport or https_transport
        self.clock = clock or (lambda: datetime.now(UTC))
        self.limits: dict[str, _HostLimit] = {}
        self.lock = threading.Lock()

    def _limit(self, job: _Job) -> _HostLimit:
        with self.lock:
            lim = self.limits.get(job.host)
            if lim is None:
                lim = self.limits[job.host] = _HostLimit(job.spec.concurrency, job.spec.per_second)
            return lim

    def _run(self, job: _Job, deadline: float) -> Verification:
        lim = self._limit(job)
        if not lim.acquire(deadline):
            return _unknown("not checked: the --verify-timeout budget ran out", self.clock())
        try:
            budget = min(self.options.request_timeout, deadline - time.monotonic())
            if budget <= 0:
                return _unknown("not checked: the --verify-timeout budget ran out", self.clock())
            try:
                resp = self.transport(job.request, budget)
            except TimeoutError:
                return _unknown(f"timed out waiting for {job.host}", self.clock())
            except OSError as exc:  # connection refused, DNS, TLS: the message never holds the key
                return _unknown(f"network error talking to {job.host}: {exc.__class__.__name__}", self.clock())
            except Exception as exc:  # noqa: BLE001 - a malformed answer is an unknown result, not a crash
                return _unknown(f"unreadable answer from {job.host}: {exc.__class__.__name__}", self.clock())
            return read_answer(job.spec, resp, job.secret, job.host, self.clock())
        finally:
            lim.release()

    def _job(self, spec: VerifySpec, secret: str, companion: str | None) -> _Job | str:
        """A job, or the reason the finding cannot be checked."""
        if spec.type == "none":
            return f"no read-only check exists: {spec.note}"
        url = _target_url(spec, self.options)
        if url is None:
            return f"unverifiable without a host: pass --verify-host {spec.host}=HOST (never taken from scanned content)"
        host = urlsplit(spec.url.replace("{host}", self.options.hosts.get(spec.host or "", ""), 1)).netloc
        if spec.host and spec.host_patterns:
            name = host.split(":")[0]
            if not any(fnmatch.fnmatchcase(name, p) for p in spec.host_patterns):
                return f"--verify-host {spec.host}={host} is not one of {', '.join(spec.host_patterns)}"
        if spec.type == "aws-sts":
            if not secret.startswith("AKIA"):
                return "not checked: only long-term AKIA key ids are verified (temporary ASIA keys need their session token)"
            if companion is None:
                return "unverifiable: no secret access key found near the key id"
            return _Job(spec, sts_request(url, secret, companion), host, secret)
        return _Job(spec, build_request(spec, url, secret), host, secret)

    def verify(self, findings: tuple[Finding, ...], values: Mapping[str, str], companions: Mapping[str, str],
               rules: Mapping[str, Rule], hasher: SecretHasher) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
        """Verify every new finding whose rule has a verify block; returns findings and report notes."""
        deadline = time.monotonic() + self.options.timeout
        jobs: dict[tuple[str, ...], _Job] = {}
        keys: dict[str, tuple[str, ...]] = {}
        fixed: dict[str, Verification] = {}
        specs: dict[str, VerifySpec] = {}
        for f in findings:
            rule, value = rules.get(f.rule_id), values.get(f.fingerprint)
            spec = spec_of(rule.verify) if rule is not None else None
            if f.status != "new" or spec is None or value is None:
                continue
            specs[f.fingerprint] = spec
            companion = companions.get(f.fingerprint)
            job = self._job(spec, value, companion)
            if isinstance(job, str):
                fixed[f.fingerprint] = _unknown(job, self.clock())
                continue
            key = (hasher.secret_hash(value), hasher.secret_hash(companion or ""), job.request.method, job.request.url)
            jobs.setdefault(key, job)
            keys[f.fingerprint] = key
        results: dict[tuple[str, ...], Verification] = {}
        if jobs:
            pool = ThreadPoolExecutor(max_workers=min(16, len(jobs)), thread_name_prefix="credsweep-verify")
            futures: dict[tuple[str, ...], Future[Verification]] = {k: pool.submit(self._run, j, deadline)
                                                                   for k, j in jobs.items()}
            wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()) + 1.0)
            for k, fut in futures.items():
                if fut.done() and not fut.cancelled():
                    results[k] = fut.result()
                else:
                    fut.cancel()
                    results[k] = _unknown("not answered within the --verify-timeout budget", self.clock())
            pool.shutdown(wait=False, cancel_futures=True)
        # The companion of a pair (the AWS secret access key) shares the result of its key id's check.
        shared: dict[tuple[str, str], tuple[Verification, VerifySpec]] = {}
        for fp, cache_key in keys.items():
            spec = specs[fp]
            if spec.pair is not None and companions.get(fp) is not None:
                shared[(spec.pair.rule, companions[fp])] = (results[cache_key], spec)
        out = []
        counts: dict[str, int] = {}
        for f in findings:
            v = fixed.get(f.fingerprint) or (results.get(keys[f.fingerprint]) if f.fingerprint in keys else None)
            pair = shared.get((f.rule_id, values.get(f.fingerprint, ""))) if v is None and f.status == "new" else None
            if pair is not None:
                v = replace(pair[0], detail=pair[0].detail + " (checked together with its key id)")
                specs[f.fingerprint] = pair[1]
            if v is None:
                out.append(f)
                continue
            counts[v.status] = counts.get(v.status, 0) + 1
            out.append(apply(f, v, specs[f.fingerprint]))
        notes: tuple[str, ...] = ()
        if counts:
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            notes = (f"--verify checked {sum(counts.values())} finding(s) with {len(jobs)} request(s): {summary}",)
        return tuple(out), notes


def apply(f: Finding, v: Verification, spec: VerifySpec) -> Finding:
    """Attach a live result; a live admin-scoped key becomes critical, the most severe kind of leak."""
    if v.status == "live" and is_admin(spec, v):
        scopes = ", ".join(v.scopes[:5]) or "admin key"
        reason = f"verified live with admin scope ({scopes}) at {v.checked_at:%Y-%m-%d %H:%M}Z: revoke it now"
        return replace(f, verification=v, severity=Severity.CRITICAL, severity_reason=reason)
    if v.status == "live":
        reason = f"verified live at {v.checked_at:%Y-%m-%d %H:%M}Z"
        return replace(f, verification=v, severity_reason="; ".join(p for p in (f.severity_reason, reason) if p))
    return replace(f, verification=v)


def companions(findings: Iterable[Finding], detected: Iterable[Any], rules: Mapping[str, Rule]) -> dict[str, str]:
    """For rules with ``pair:``, the nearest companion value (same file and commit, within N lines) by fingerprint."""
    detected = list(detected)
    out: dict[str, str] = {}
    for f in findings:
        rule = rules.get(f.rule_id)
        spec = spec_of(rule.verify) if rule is not None else None
        if spec is None or spec.pair is None:
            continue
        best: tuple[int, str] | None = None
        for d in detected:
            m = d.match
            if m.rule_id != spec.pair.rule or m.location.line is None:
                continue
            ml = m.location
            for loc in f.locations:
                if (ml.source, ml.root, ml.path, ml.commit) != (loc.source, loc.root, loc.path, loc.commit):
                    continue
                dist = abs(ml.line - (loc.line or 0))
                if dist <= spec.pair.lines and (best is None or dist < best[0]):
                    best = (dist, m.secret.value)
        if best is not None:
            out[f.fingerprint] = best[1]
    return out
