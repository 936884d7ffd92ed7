"""Hygiene checks: pure functions of (credential, policy rules, now) -> violations, plus set-level checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from scanner.hygiene.checks.credential import CHECKS
from scanner.model import CheckId, Credential, Severity, Violation
from scanner.policy import Policy


def evaluate(credentials: Iterable[Credential], policy: Policy, now: datetime) -> list[Violation]:
    """Run every per-credential check, then the set-level DUPLICATED check."""
    creds = list(credentials)
    out: list[Violation] = []
    for cred in creds:
        rules = policy.rules_for(cred.provider, cred.kind)
        for check in CHECKS:
            out.extend(check(cred, rules, now))
    out.extend(duplicated(creds))
    return out


def duplicated(creds: Iterable[Credential]) -> list[Violation]:
    """The same value stored in several places (matched by keyed hash)."""
    by_hash: dict[str, list[Credential]] = {}
    for c in creds:
        if c.secret_hash:
            by_hash.setdefault(c.secret_hash, []).append(c)
    out = []
    for group in by_hash.values():
        if len(group) < 2:
            continue
        places = ", ".join(sorted(c.location for c in group))
        for c in group:
            out.append(Violation(check_id=CheckId("DUPLICATED"), subject=c.id, severity=Severity.MEDIUM,
                                 message=f"the same value is stored in {len(group)} places: {places}",
                                 remediation=("Keep one copy and point every consumer at it; rotate the value.",)))
    return out
