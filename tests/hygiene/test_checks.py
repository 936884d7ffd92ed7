"""Table-driven tests of the hygiene checks: pure functions of (record, policy rules, now), one row per case.

Finding checks (scanner/hygiene/checks/leaks.py), credential checks (scanner/hygiene/checks/credential.py), the correlation checks
(scanner/hygiene/correlate.py: the leaked copy of a stored key, UNVAULTED, DUPLICATED across stores) and the policy's
per-provider and per-kind overrides.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanner.errors import ConfigError
from scanner.hygiene.checks import credential as cc
from scanner.hygiene.checks import leaks
from scanner.hygiene.correlate import correlate
from scanner.model import (
    CommitInfo,
    Confidence,
    Credential,
    Finding,
    GitProvenance,
    Location,
    RuleId,
    Severity,
    Verification,
)
from scanner.policy import Policy, PolicyRules, from_mapping

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULES = PolicyRules()
HASH = "ab" * 32


def commit(sha: str, days_ago: int) -> CommitInfo:
    when = NOW - timedelta(days=days_ago)
    return CommitInfo(sha=sha * 8, author="dev", author_date=when, committer_date=when)


def git(*, at_head: bool = True, introduced_days: int = 10, removed_days: int | None = None) -> GitProvenance:
    return GitProvenance(repo="/src/chat-service", introduced=commit("a1b2c3d4", introduced_days),
                         last_seen=commit("a1b2c3d4", introduced_days),
                         removed_by=commit("e5f6a7b8", removed_days) if removed_days is not None else None,
                         at_head=at_head, refs=("refs/heads/main",), paths=("app/settings.py",))


def finding(**kw: Any) -> Finding:
    base = Finding(fingerprint="f" * 32, rule_id=RuleId("openai.project-key"), rule_name="OpenAI project API key",
                   provider="OpenAI", category="ai-inference", kind="project-key", severity=Severity.CRITICAL,
                   confidence=Confidence.HIGH, secret_hash=HASH, redacted="sk-pro…abcd",
                   locations=(Location(source="git", path="app/settings.py", line=3, commit="a1b2c3d4" * 8,
                                       root="/src/chat-service"),))
    return replace(base, **kw)


def cred(**kw: Any) -> Credential:
    base = Credential(id="vault-kv:secret/ml/openai#api_key", source="vault", store="vault-kv",
                      location="secret/ml/openai#api_key", provider="OpenAI", kind="project-key",
                      rule_id="openai.project-key", secret_hash=HASH, owner="ml", status="active",
                      created_at=NOW - timedelta(days=10), version=1, versions=1,
                      attributes=(("mount", "secret/"), ("field", "api_key")))
    return replace(base, **kw)


def ids(violations: Any) -> list[str]:
    return sorted(v.check_id for v in violations)


# ------------------------------------------------------------------------------------------------ finding checks

FINDING_CASES = [
    # (name, finding, rules, expected check ids)
    ("at HEAD is LEAKED", finding(git=git()), RULES, ["LEAKED"]),
    ("working-tree file is LEAKED", finding(locations=(Location(source="file", path="app.env", line=1),)), RULES,
     ["LEAKED"]),
    ("staged is LEAKED", finding(locations=(Location(source="staged", path="app.env", line=1),)), RULES,
     ["LEAKED"]),
    ("removed from HEAD is HISTORY-ONLY", finding(git=git(at_head=False, removed_days=5)), RULES,
     ["HISTORY-ONLY"]),
    ("old leak is also STALE", finding(git=git(introduced_days=200)), RULES, ["LEAKED", "STALE"]),
    ("at the limit is not STALE", finding(git=git(introduced_days=90)), RULES, ["LEAKED"]),
    ("provider override shortens the limit", finding(git=git(introduced_days=40)),
     from_mapping({"providers": {"openai": {"max_age_days": 30}}}, "t").rules_for("OpenAI", "project-key"),
     ["LEAKED", "STALE"]),
    ("forbidden rule id is OVERSCOPED", finding(rule_id=RuleId("openai.user-key"), kind="api-key", git=git()),
     RULES, ["LEAKED", "OVERSCOPED"]),
    ("forbidden kind is OVERSCOPED", finding(rule_id=RuleId("anthropic.admin-key"), kind="admin-key"), RULES,
     ["LEAKED", "OVERSCOPED"]),
    ("verified admin scope is OVERSCOPED",
     finding(verification=Verification(status="live", checked_at=NOW, scopes=("admin",))), RULES,
     ["LEAKED", "OVERSCOPED"]),
    ("kind allowed by policy", finding(rule_id=RuleId("openai.user-key"), kind="api-key"),
     replace(RULES, forbidden_kinds=()), ["LEAKED"]),
    ("allowed finding is not judged", finding(status="allowed", git=git(introduced_days=400)), RULES, []),
    ("ignored finding is not judged", finding(status="ignored"), RULES, []),
    ("baselined finding is not judged", finding(status="baselined"), RULES, []),
]


@pytest.mark.parametrize(("name", "f", "rules", "expected"), FINDING_CASES, ids=[c[0] for c in FINDING_CASES])
def test_finding_checks(name: str, f: Finding, rules: PolicyRules, expected: list[str]) -> None:
    got = [v for check in leaks.FINDING_CHECKS for v in check(f, rules, NOW)]
    assert ids(got) == expected
    assert all(v.subject == f.fingerprint for v in got)


def test_history_only_message_names_both_commits() -> None:
    [v] = list(leaks.history_only(finding(git=git(at_head=False, introduced_days=30, removed_days=5)), RULES, NOW))
    assert "removed by e5f6a7b8e5" in v.message and "since a1b2c3d4a1" in v.message
    assert "did not rotate" in v.message


def test_leaked_says_when_decoded() -> None:
    f = finding(locations=(Location(source="file", path="k8s/secret.yaml", line=4, decoded="base64"),))
    [v] = list(leaks.leaked(f, RULES, NOW))
    assert "hidden by base64 encoding" in v.message


# --------------------------------------------------------------------------------------------- credential checks

CRED_CASES = [
    ("fresh and owned", cred(), RULES, []),
    ("old single version: STALE and UNROTATED", cred(created_at=NOW - timedelta(days=100)), RULES,
     ["STALE", "UNROTATED"]),
    ("very old is HIGH", cred(created_at=NOW - timedelta(days=200), versions=2,
                             last_rotated_at=NOW - timedelta(days=200)), RULES, ["STALE"]),
    ("rotated recently", cred(created_at=NOW - timedelta(days=400), versions=3,
                              last_rotated_at=NOW - timedelta(days=5)), RULES, []),
    ("no owner", cred(owner=None), RULES, ["NO-OWNER"]),
    ("owner not required", cred(owner=None), replace(RULES, owner_required=False), []),
    ("unused", cred(last_used_at=NOW - timedelta(days=120)), RULES, ["UNUSED"]),
    ("no expiry when required", cred(), replace(RULES, expiry_required=True), ["NO-EXPIRY"]),
    ("expiry present", cred(expires_at=NOW + timedelta(days=5)), replace(RULES, expiry_required=True), []),
    ("forbidden scope", cred(scopes=("root",)), RULES, ["OVERSCOPED"]),
    ("forbidden kind (admin key)", cred(rule_id="openai.admin-key", kind="admin-key"), RULES, ["OVERSCOPED"]),
    ("deleted is not judged", cred(status="deleted", owner=None, created_at=NOW - timedelta(days=400)), RULES, []),
]


@pytest.mark.parametrize(("name", "c", "rules", "expected"), CRED_CASES, ids=[c[0] for c in CRED_CASES])
def test_credential_checks(name: str, c: Credential, rules: PolicyRules, expected: list[str]) -> None:
    got = [v for check in cc.CHECKS for v in check(c, rules, NOW)]
    assert ids(got) == expected


def test_stale_severity_grows_with_age() -> None:
    [medium] = list(cc.stale(cred(created_at=NOW - timedelta(days=100)), RULES, NOW))
    [high] = list(cc.stale(cred(created_at=NOW - timedelta(days=181)), RULES, NOW))
    assert (medium.severity, high.severity) == (Severity.MEDIUM, Severity.HIGH)


# -------------------------------------------------------------------------------------------- correlation checks

AWS_SECRET = cred(id="arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/openai-AbCdEf", source="aws",
                  store="aws-secretsmanager", location="ml/openai", version=None, versions=None, attributes=())

CORRELATION_CASES = [
    # (name, findings, credentials, stores_read, {(check, subject kind)}, item severity)
    ("leaked and vaulted: the stored copy is LEAKED, critical", [finding(git=git())], [cred()], True,
     {("LEAKED", "finding"), ("LEAKED", "credential")}, Severity.CRITICAL),
    ("leaked, not in any store that was read: UNVAULTED", [finding(git=git())], [], True,
     {("LEAKED", "finding"), ("UNVAULTED", "finding")}, Severity.CRITICAL),
    ("only in a Lambda environment is still UNVAULTED", [finding()], [cred(source="aws", store="aws-lambda-env",
                                                                          id="arn:aws:lambda:x#env:K")], True,
     {("LEAKED", "finding"), ("UNVAULTED", "finding"), ("LEAKED", "credential")}, Severity.CRITICAL),
    ("no store read: UNVAULTED cannot be judged", [finding(git=git())], [], False, {("LEAKED", "finding")},
     Severity.CRITICAL),
    ("non-model key is never UNVAULTED", [finding(category="vcs", rule_id=RuleId("github.pat"), kind="pat",
                                                  provider="GitHub", severity=Severity.HIGH)], [], True,
     {("LEAKED", "finding")}, Severity.HIGH),
    ("history only and stored", [finding(git=git(at_head=False, removed_days=3))], [cred()], True,
     {("HISTORY-ONLY", "finding"), ("LEAKED", "credential")}, Severity.CRITICAL),
    ("same value in Vault and AWS: DUPLICATED on both", [], [cred(), AWS_SECRET], True,
     {("DUPLICATED", "credential")}, Severity.MEDIUM),
    ("accepted finding: nothing, even if stored", [finding(status="ignored")], [cred()], True, set(),
     Severity.INFO),
]


@pytest.mark.parametrize(("name", "findings", "creds", "stores_read", "expected", "severity"), CORRELATION_CASES,
                         ids=[c[0] for c in CORRELATION_CASES])
def test_correlation(name: str, findings: list[Finding], creds: list[Credential], stores_read: bool,
                     expected: set[tuple[str, str]], severity: Severity) -> None:
    corr = correlate(findings, creds, [], Policy(), NOW, stores_read=stores_read)
    [item] = corr.inventory  # one value: one item, wherever it was seen
    fps = {f.fingerprint for f in findings}
    got = {(v.check_id, "finding" if v.subject in fps else "credential") for v in item.violations}
    assert got == expected
    assert item.severity == severity
    assert {loc.ref for loc in item.locations} == fps | {c.id for c in creds}


def test_leaked_and_vaulted_sentence_and_steps() -> None:
    f = finding(git=git(introduced_days=300))
    c = cred(version=3, versions=3, created_at=NOW - timedelta(days=500), last_rotated_at=NOW - timedelta(days=240))
    corr = correlate([f], [c, AWS_SECRET], [], Policy(), NOW, stores_read=True)
    [item] = corr.inventory
    assert item.summary.startswith("the OpenAI project API key leaked in commit a1b2c3d4a1 "
                                   "(chat-service/app/settings.py:3) is version 3 of secret/ml/openai in Vault, "
                                   "last rotated 240 days ago")
    assert item.age_days == 300 and item.last_rotated == NOW - timedelta(days=240)
    stored_leak = next(v for v in corr.violations if v.check_id == "LEAKED" and v.subject == c.id)
    assert stored_leak.severity == Severity.CRITICAL and "every consumer of this path" in stored_leak.message
    steps = "\n".join(stored_leak.remediation)
    assert "vault kv put -mount=secret ml/openai api_key=-" in steps
    assert f"aws secretsmanager put-secret-value --secret-id {AWS_SECRET.id}" in steps
    assert "current_version 4" in steps
    assert item.steps[0].startswith("Treat the stored copy as compromised")


def test_existing_violations_keep_their_order_and_get_runbook_steps() -> None:
    c = cred(created_at=NOW - timedelta(days=100))
    before = [v for check in cc.CHECKS for v in check(c, RULES, NOW)]
    corr = correlate([], [c], before, Policy(), NOW)
    assert [(v.check_id, v.subject) for v in corr.violations] == [(v.check_id, v.subject) for v in before]
    stale = next(v for v in corr.violations if v.check_id == "STALE")
    assert any("vault kv put -mount=secret ml/openai api_key=-" in s for s in stale.remediation)


# ------------------------------------------------------------------------------------------------------- policy

POLICY_CASES = [
    ("defaults", {}, ("OpenAI", "project-key"), {"max_age_days": 90, "store_required": True}),
    ("provider override (any case)", {"providers": {"openai": {"max_age_days": 60}}}, ("OpenAI", "project-key"),
     {"max_age_days": 60}),
    ("kind beats provider", {"providers": {"OpenAI": {"max_age_days": 60}}, "kinds": {"admin-key": {
        "max_age_days": 30, "expiry_required": True}}}, ("OpenAI", "admin-key"),
     {"max_age_days": 30, "expiry_required": True}),
    ("forbidden kinds replaced", {"forbidden_kinds": ["openai.user-key"]}, ("Anthropic", "admin-key"),
     {"forbidden_kinds": ("openai.user-key",)}),
    ("store not required for one provider", {"providers": {"Ollama": {"store_required": False}}},
     ("Ollama", "api-key"), {"store_required": False}),
]


@pytest.mark.parametrize(("name", "doc", "who", "expected"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_policy_overrides(name: str, doc: dict[str, Any], who: tuple[str, str], expected: dict[str, Any]) -> None:
    rules = from_mapping(doc, "test").rules_for(*who)
    assert {k: getattr(rules, k) for k in expected} == expected


@pytest.mark.parametrize("doc", [{"max_age_days": -1}, {"max_age_days": "90"}, {"forbidden_kinds": "admin-key"},
                                 {"store_required": "yes"}, {"maxage": 3}, {"providers": {"OpenAI": 3}}])
def test_bad_policy_is_a_config_error(doc: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        from_mapping(doc, "test")


def test_policy_schema_accepts_the_documented_example_and_rejects_typos() -> None:
    import json
    from importlib import resources

    import jsonschema
    import yaml

    schema = json.loads(resources.files("scanner").joinpath("schema/policy.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    example = yaml.safe_load((EXAMPLES / "credsweep-policy.yaml").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(example)
    from_mapping(example, "example")  # the loader agrees with the schema
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({"max_age_dayz": 3})
