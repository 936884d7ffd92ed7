"""Table-driven tests of severity from the facts (scanner/hygiene/severity.py): one row per fact, the resulting severity,
and the phrase the one-sentence explanation must contain."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from test_checks import NOW, RULES, cred, finding, git

from scanner.hygiene.severity import apply, assess
from scanner.model import Finding, Location, Severity, Verification
from scanner.policy import Policy, PolicyRules

MEDIUM = finding(severity=Severity.MEDIUM)  # a rule of medium severity, to see raises

CASES = [
    # (name, finding, stored copies, rules, severity, phrase in the reason)
    ("at HEAD keeps the rule severity", finding(git=git()), [], RULES, Severity.CRITICAL,
     "present at HEAD of chat-service"),
    ("history only is stated, not discounted", finding(git=git(at_head=False, removed_days=2)), [], RULES,
     Severity.CRITICAL, "stays in its history"),
    ("working-tree file", finding(locations=(Location(source="file", path="app.env", line=2),)), [], RULES,
     Severity.CRITICAL, "is in app.env:2"),
    ("staged", finding(locations=(Location(source="staged", path="app.env", line=2),)), [], RULES,
     Severity.CRITICAL, "staged for commit"),
    ("vaulted copy makes it critical", replace(MEDIUM, git=git()), [cred(version=3)], RULES, Severity.CRITICAL,
     "also stored at secret/ml/openai#api_key (Vault, version 3), so that stored copy is compromised"),
    ("stored in AWS", replace(MEDIUM, git=git()), [cred(id="arn:aws:secretsmanager:r:1:secret:x", source="aws",
                                                         store="aws-secretsmanager")], RULES, Severity.CRITICAL,
     "arn:aws:secretsmanager:r:1:secret:x (aws-secretsmanager)"),
    ("live raises to high", replace(MEDIUM, verification=Verification(status="live", checked_at=NOW)), [], RULES,
     Severity.HIGH, "is in app/settings.py:3"),
    ("rejected by the provider is low", finding(verification=Verification(status="invalid", checked_at=NOW)),
     [cred()], RULES, Severity.LOW, "provider rejected it"),
    ("offline-invalid is low", finding(verification=Verification(status="offline-invalid", checked_at=NOW)), [],
     RULES, Severity.LOW, "offline format check"),
    ("expired is at most medium", finding(verification=Verification(status="expired", checked_at=NOW),
                                          severity_reason="JWT expired 2020-09-13"), [], RULES, Severity.MEDIUM,
     "JWT expired 2020-09-13"),
    ("forbidden kind is one level up", replace(MEDIUM, rule_id="openai.user-key", kind="api-key"), [], RULES,
     Severity.HIGH, "applications must not hold"),
    ("old exposure is one level up", replace(MEDIUM, git=git(introduced_days=120)), [], RULES, Severity.HIGH,
     "exposed for 120 days, beyond the policy's 90"),
    ("young exposure is stated", replace(MEDIUM, git=git(introduced_days=12)), [], RULES, Severity.MEDIUM,
     "exposed for 12 days"),
    ("policy limit per provider", replace(MEDIUM, git=git(introduced_days=40)), [],
     replace(RULES, max_age_days=30), Severity.HIGH, "beyond the policy's 30"),
    ("decoded from base64 is stated",
     finding(locations=(Location(source="file", path="secret.yaml", line=3, decoded="base64"),)), [], RULES,
     Severity.CRITICAL, "hidden by base64 encoding"),
    ("accepted finding keeps its severity, says so", finding(status="ignored", status_reason="test fixture"),
     [cred()], RULES, Severity.CRITICAL, "accepted (ignored: test fixture)"),
    ("verify's reason is kept", finding(verification=Verification(status="live", checked_at=NOW, scopes=("admin",)),
                                        severity_reason="verified live with admin scope (admin)"), [], RULES,
     Severity.CRITICAL, "verified live with admin scope"),
]


@pytest.mark.parametrize(("name", "f", "stored", "rules", "severity", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_severity_from_facts(name: str, f: Finding, stored: list, rules: PolicyRules, severity: Severity,
                             phrase: str) -> None:
    sev, reason = assess(f, rules, NOW, stored)
    assert sev == severity
    assert reason.startswith(f"{severity.label}: the {f.rule_name} ")
    assert phrase in reason
    assert reason.endswith(".") and "\n" not in reason


def test_apply_matches_stored_copies_by_keyed_hash_only() -> None:
    f = replace(finding(git=git()), severity=Severity.MEDIUM)
    other = cred(secret_hash="cd" * 32)
    deleted = cred(status="deleted")
    [same] = apply([f], [other, deleted], Policy(), NOW)
    assert same.severity == Severity.MEDIUM  # a different value, and a deleted copy, do not count
    [hit] = apply([f], [cred()], Policy(), NOW)
    assert hit.severity == Severity.CRITICAL and "compromised" in hit.severity_reason


def test_apply_uses_the_clock_it_is_given() -> None:
    f = replace(finding(git=git(introduced_days=60)), severity=Severity.MEDIUM)
    [now] = apply([f], [], Policy(), NOW)
    [later] = apply([f], [], Policy(), NOW + timedelta(days=60))
    assert (now.severity, later.severity) == (Severity.MEDIUM, Severity.HIGH)
