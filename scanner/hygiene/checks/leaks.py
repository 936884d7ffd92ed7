"""Checks on one finding (a secret seen in a repository or configuration): pure functions of
(Finding, PolicyRules, now) -> violations, like credential.py. Only new findings are judged: an allowed, ignored
or baselined finding was accepted by someone.

LEAKED        present at HEAD, in the working tree, in a configuration file or staged for commit
HISTORY-ONLY  deleted from HEAD but still in history, i.e. deleted but not (necessarily) rotated
STALE         the value has existed since it was committed, longer than the policy's maximum age
OVERSCOPED    a kind of key the policy forbids for applications (forbidden_kinds), or a live key whose
              verified scopes include a forbidden scope

Correlation checks (UNVAULTED, the leaked copy of a stored key, DUPLICATED across stores) need every source at
once and live in scanner/hygiene/correlate.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from scanner.hygiene.checks.base import days
from scanner.model import CheckId, Finding, Severity, Violation
from scanner.policy import Policy, PolicyRules

FindingCheck = Callable[[Finding, PolicyRules, datetime], Iterator[Violation]]


def _v(check: str, f: Finding, severity: Severity, message: str) -> Violation:
    return Violation(check_id=CheckId(check), subject=f.fingerprint, severity=severity, message=message,
                     remediation=f.remediation)


def place(f: Finding) -> str:
    """``repo/path:line`` of the primary location (the introducing commit for git findings)."""
    loc = f.location
    root = f.git.repo if f.git is not None else (loc.root or "")
    name = os.path.basename(root.rstrip("/")) if root else ""
    prefix = f"{name}/" if name not in ("", ".", "..") else ""
    return f"{prefix}{loc.path}" + (f":{loc.line}" if loc.line else "")


def _is_new(f: Finding) -> bool:
    return f.status == "new"


def leaked(f: Finding, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """The secret is in the current content of a repository or configuration."""
    if not _is_new(f) or (f.git is not None and not f.git.at_head):
        return
    src = f.location.source
    if f.git is not None:
        where = f"committed in {f.git.introduced.sha[:10]} ({place(f)}) and still present at HEAD"
    elif src == "staged":
        where = f"staged for commit in {place(f)}"
    else:
        where = f"in {place(f)}" + (" (configuration)" if f.location.key_path else "")
    decoded = f" (hidden by {f.location.decoded} encoding)" if f.location.decoded else ""
    yield _v("LEAKED", f, f.severity, f"{f.rule_name} {where}{decoded}")


def history_only(f: Finding, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """Removed from HEAD but still in history: deleting a file does not rotate the key."""
    g = f.git
    if not _is_new(f) or g is None or g.at_head:
        return
    removed = (f"removed by {g.removed_by.sha[:10]} on {g.removed_by.author_date.date().isoformat()}"
               if g.removed_by is not None else "no longer at HEAD")
    yield _v("HISTORY-ONLY", f, f.severity,
             f"{f.rule_name} {removed}, but still in history since {g.introduced.sha[:10]} "
             f"({g.introduced.author_date.date().isoformat()}): deleting it did not rotate it")


def stale(f: Finding, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """The value is at least as old as its first commit, and that is beyond the policy's maximum age."""
    if not _is_new(f) or f.git is None:
        return
    age = days((now - f.git.introduced.author_date).total_seconds())
    if age > rules.max_age_days:
        yield _v("STALE", f, Severity.HIGH if age > 2 * rules.max_age_days else Severity.MEDIUM,
                 f"{f.rule_name} has existed since {f.git.introduced.author_date.date().isoformat()} "
                 f"({age} days; policy: at most {rules.max_age_days})")


def overscoped(f: Finding, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """A forbidden kind of key, or verified scopes the policy forbids."""
    if not _is_new(f):
        return
    scopes = set(f.verification.scopes) if f.verification is not None else set()
    bad = sorted(scopes & set(rules.forbidden_scopes))
    if rules.forbids(f.rule_id, f.kind):
        yield _v("OVERSCOPED", f, max(f.severity, Severity.HIGH),
                 f"{f.rule_name} is a kind of key applications must not use (policy forbidden_kinds)")
    elif bad:
        yield _v("OVERSCOPED", f, max(f.severity, Severity.HIGH),
                 f"{f.rule_name} has forbidden scope(s): {', '.join(bad)}")


FINDING_CHECKS: tuple[FindingCheck, ...] = (leaked, history_only, stale, overscoped)


def evaluate(findings: Iterable[Finding], policy: Policy, now: datetime) -> list[Violation]:
    """Every finding check over every finding, with the rules for its provider and kind."""
    out: list[Violation] = []
    for f in findings:
        rules = policy.rules_for(f.provider, f.kind)
        for check in FINDING_CHECKS:
            out.extend(check(f, rules, now))
    return out
