"""The verify phase: check each found key once, within per-host limits and one time budget, and apply the answers.

Nothing here runs unless the user passes ``--verify``; the engine imports this module only then. Each key is checked
once per run (cache by keyed secret hash), with per-host concurrency and rate limits and one global time budget
(``--verify-timeout``); whatever is not answered by then is ``unknown``. Where a key may be sent is decided in
``scanner.verify.options``.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scanner.detect.ruleset import Rule
from scanner.detect.verifyspec import VerifySpec, spec_of
from scanner.model import Finding, Severity, Verification
from scanner.redact import SecretHasher
from scanner.verify.answers import is_admin, read_answer
from scanner.verify.client import Request, Response, build_request, https_transport, sts_request, target_url
from scanner.verify.options import VerifyOptions

Transport = Callable[[Request, float], Response]


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
        url = target_url(spec, self.options)
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
