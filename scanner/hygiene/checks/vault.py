"""Vault: the generic credential checks over what the Vault source found, merged with its own findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from scanner.hygiene.checks import evaluate as evaluate_credentials
from scanner.model import Credential, Violation
from scanner.policy import Policy
from scanner.sources.base import CredentialResult


def evaluate(result: CredentialResult, policy: Policy, now: datetime) -> CredentialResult:
    """The source's own violations (tokens, policies, AppRoles, declared metadata), then the generic checks."""
    creds = list(result.credentials)
    generic = drop_generic(evaluate_credentials(creds, policy, now), creds)
    return replace(result, violations=tuple(merge_violations(result.violations, generic)))


def drop_generic(violations: list[Violation], creds: Sequence[Credential]) -> list[Violation]:
    """Tokens are re-issued, not rotated, and have no owner field: STALE covers their age."""
    tokens = {c.id for c in creds if c.store == "vault-token"}
    return [v for v in violations if not (v.subject in tokens and v.check_id in ("UNROTATED", "NO-OWNER"))]


def merge_violations(specific: Iterable[Violation], generic: Iterable[Violation]) -> list[Violation]:
    """Source-specific violations, then the generic ones not already said more precisely for the same subject."""
    out = list(specific)
    said = {(v.check_id, v.subject) for v in out}
    out.extend(v for v in generic if not (v.check_id in ("NO-EXPIRY", "UNROTATED") and (v.check_id, v.subject) in said))
    return out
