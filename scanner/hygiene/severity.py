"""Severity from the facts, explained in one sentence. One pure function, applied once by the engine after
grouping (and after live verification), so every scan command gets the same judgement.

Start from the rule's severity (or the configured override, or what --verify already raised it to), then:

- rejected by the provider (``invalid``) or failing the offline format check -> low: probably revoked or not a key
- an expired token -> at most medium
- also held in a scanned secret store (same keyed hash) -> critical: the stored copy is compromised and every
  consumer of that path runs on a leaked key
- verified live -> at least high
- a kind or scope the policy forbids (admin keys, unscoped user keys, root tokens) -> one level up
- exposed longer than the policy's maximum age -> one level up
- present at HEAD / only in history / decoded from base64 / accepted (ignored, baselined) are stated, not scored:
  a key that was deleted is still a key until it is rotated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from scanner.hygiene.checks.base import days
from scanner.model import Credential, Finding, Severity
from scanner.policy import Policy, PolicyRules

_INVALID = ("invalid", "offline-invalid")


def _up(sev: Severity) -> Severity:
    return Severity(min(Severity.CRITICAL, sev + 1))


def stored_place(c: Credential) -> str:
    """Where a stored copy lives, for sentences: ``secret/ml/openai#api_key (Vault, version 3)``."""
    if c.source == "vault":
        return f"{c.location} (Vault" + (f", version {c.version})" if c.version else ")")
    return f"{c.id} ({c.store})"


def _where(f: Finding) -> str:
    g = f.git
    if g is None:
        src = f.location.source
        line = f":{f.location.line}" if f.location.line else ""
        return f"is staged for commit in {f.location.path}{line}" if src == "staged" else \
            f"is in {f.location.path}{line}"
    repo = os.path.basename(g.repo.rstrip("/")) or g.repo
    since = f"committed in {g.introduced.sha[:10]} on {g.introduced.author_date.date().isoformat()}"
    if g.at_head:
        return f"is present at HEAD of {repo} ({since})"
    removed = f" by {g.removed_by.sha[:10]}" if g.removed_by is not None else ""
    return f"was removed from HEAD of {repo}{removed} but stays in its history ({since})"


def assess(f: Finding, rules: PolicyRules, now: datetime, stored: Sequence[Credential] = ()) -> tuple[Severity, str]:
    """The severity of one finding and the sentence that explains it.

    ``stored`` holds the active copies of the same value in Vault or AWS (matched by keyed hash).
    """
    sev = f.severity
    facts = [_where(f)]
    v = f.verification
    status = v.status if v is not None else None
    if f.location.decoded:
        facts.append(f"hidden by {f.location.decoded} encoding, so a reader of the file would not see it")
    if status == "invalid":
        sev = Severity.LOW
        facts.append("the provider rejected it when checked (revoked or never valid)")
    elif status == "offline-invalid":
        sev = Severity.LOW
        facts.append("it fails the offline format check, so it is probably not a working key")
    elif status == "expired":
        sev = min(sev, Severity.MEDIUM)
    if stored and f.status == "new" and status not in _INVALID:
        sev = Severity.CRITICAL
        places = ", ".join(stored_place(c) for c in stored[:3]) + (f" and {len(stored) - 3} more"
                                                                   if len(stored) > 3 else "")
        facts.append(f"it is also stored at {places}, so that stored copy is compromised and every consumer "
                     "of the path is affected")
    if status == "live":
        sev = max(sev, Severity.HIGH)
    scopes = set(v.scopes) if v is not None else set()
    if status not in _INVALID and (rules.forbids(f.rule_id, f.kind) or scopes & set(rules.forbidden_scopes)):
        sev = _up(sev)
        facts.append("it is a kind of key applications must not hold (organisation-wide or admin reach)")
    if f.git is not None:
        age = days((now - f.git.introduced.author_date).total_seconds())
        if age > rules.max_age_days and status not in _INVALID:
            sev = _up(sev)
            facts.append(f"it has been exposed for {age} days, beyond the policy's {rules.max_age_days}")
        else:
            facts.append(f"exposed for {age} days")
    if f.severity_reason:
        facts.append(f.severity_reason)  # what --verify or the offline check found
    if f.status != "new":
        facts.append(f"accepted ({f.status}{': ' + f.status_reason if f.status_reason else ''})")
    return sev, f"{sev.label}: the {f.rule_name} " + ", ".join(facts) + "."


def apply(findings: Iterable[Finding], credentials: Iterable[Credential], policy: Policy,
          now: datetime) -> tuple[Finding, ...]:
    """Every finding with its computed severity and explanation; stored copies matched by keyed hash."""
    by_hash: dict[str, list[Credential]] = {}
    for c in credentials:
        if c.secret_hash and c.source in ("vault", "aws") and c.status not in ("deleted", "inactive"):
            by_hash.setdefault(c.secret_hash, []).append(c)
    out = []
    for f in findings:
        rules = policy.rules_for(f.provider, f.kind)
        sev, reason = assess(f, rules, now, by_hash.get(f.secret_hash, ()))
        out.append(replace(f, severity=sev, severity_reason=reason))
    out.sort(key=lambda f: (-f.severity, f.location.path, f.location.line or 0, f.rule_id))
    return tuple(out)
