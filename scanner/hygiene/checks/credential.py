"""Checks on one stored or issued credential: STALE, UNROTATED, UNUSED, NO-EXPIRY, NO-OWNER, OVERSCOPED."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from scanner.hygiene.checks.base import days
from scanner.model import CheckId, Credential, Severity, Violation
from scanner.policy import PolicyRules


def _v(check: str, cred: Credential, severity: Severity, message: str, *steps: str) -> Violation:
    return Violation(check_id=CheckId(check), subject=cred.id, severity=severity, message=message,
                     remediation=tuple(steps))


def _label(cred: Credential) -> str:
    return f"{cred.provider or 'credential'} {cred.kind or ''}".strip()


def stale(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """The current value is older than the policy's maximum age."""
    since = cred.last_rotated_at or cred.created_at
    if since is None or cred.status in ("inactive", "deleted"):
        return
    age = days((now - since).total_seconds())
    if age > rules.max_age_days:
        yield _v("STALE", cred, Severity.HIGH if age > 2 * rules.max_age_days else Severity.MEDIUM,
                 f"{_label(cred)} value is {age} days old (policy: at most {rules.max_age_days})",
                 "Rotate it: issue a new value at the provider, write it to the same store path, then revoke the old one.")


def unrotated(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """Rotation is required but there is no rotation process, or the value was never rotated past the limit."""
    if not rules.rotation_required or cred.status in ("inactive", "deleted"):
        return
    created = cred.created_at
    if cred.rotation_enabled is False and created is not None:
        age = days((now - created).total_seconds())
        if age > rules.max_age_days or cred.store in ("aws-secretsmanager",):
            yield _v("UNROTATED", cred, Severity.MEDIUM, f"{_label(cred)} has no rotation configured",
                     "Enable rotation (a rotation schedule or a documented manual rotation with an owner).")
            return
    never = (cred.versions is not None and cred.versions <= 1) or (cred.last_rotated_at is None and cred.versions is None
                                                                      and cred.rotation_enabled is None)
    if never and created is not None and cred.last_rotated_at is None:
        age = days((now - created).total_seconds())
        if age > rules.max_age_days:
            yield _v("UNROTATED", cred, Severity.MEDIUM,
                     f"{_label(cred)} was never rotated in {age} days (policy: every {rules.max_age_days})",
                     "Rotate it now and schedule the next rotation.")


def unused(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """Not used for longer than the policy allows (only where the store records use)."""
    if cred.status in ("inactive", "deleted"):
        return
    if cred.last_used_at is not None:
        idle = days((now - cred.last_used_at).total_seconds())
        if idle > rules.max_unused_days:
            yield _v("UNUSED", cred, Severity.LOW, f"{_label(cred)} unused for {idle} days",
                     "If nothing needs it, revoke it; otherwise record its owner and purpose.")
    elif dict(cred.attributes).get("usage_tracked") == "true" and cred.created_at is not None:
        age = days((now - cred.created_at).total_seconds())
        if age > rules.max_unused_days:
            yield _v("UNUSED", cred, Severity.LOW, f"{_label(cred)} never used in {age} days",
                     "Revoke it if nothing needs it.")


def no_expiry(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """The policy requires an expiry and the credential has none."""
    if rules.expiry_required and cred.expires_at is None and cred.status not in ("inactive", "deleted"):
        yield _v("NO-EXPIRY", cred, Severity.MEDIUM, f"{_label(cred)} never expires",
                 "Re-issue it with an expiry (TTL) and automate renewal.")


def no_owner(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """Nobody is recorded as responsible for the credential."""
    if rules.owner_required and not cred.owner and cred.status not in ("deleted",):
        yield _v("NO-OWNER", cred, Severity.LOW, f"{_label(cred)} has no owner recorded",
                 "Record an owner (Vault custom_metadata owner=..., or an AWS tag owner=...).")


def overscoped(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """The credential carries a scope the policy forbids for applications."""
    if cred.status in ("inactive", "deleted"):
        return
    bad = sorted(set(cred.scopes) & set(rules.forbidden_scopes))
    if bad:
        what = f"has forbidden scope(s): {', '.join(bad)}"
    elif rules.forbids(cred.rule_id, cred.kind):
        what = f"is a kind of key applications must not use ({cred.rule_id or cred.kind}; policy forbidden_kinds)"
    else:
        return
    yield _v("OVERSCOPED", cred, Severity.HIGH, f"{_label(cred)} {what}",
             "Replace it with a credential limited to what the consumer needs, then revoke this one.")


CHECKS = (stale, unrotated, unused, no_expiry, no_owner, overscoped)
