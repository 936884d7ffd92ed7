"""A rich Report built from real model objects and planted fake keys, for the format tests.

It covers every kind of row the review shows: a leaked key at HEAD, a history-only key (git provenance), an
allowed test value, a key found inside a Vault secret, stored Vault and AWS credentials with violations, a key
that is both vaulted and leaked, skips, notes, and a path with HTML in it (escaping).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from conftest import fake_key

from scanner.detect.ruleset import load_builtin
from scanner.model import (
    CheckId,
    CommitInfo,
    Confidence,
    Credential,
    Finding,
    GitProvenance,
    Location,
    Report,
    RuleId,
    ScanStats,
    Severity,
    Skip,
    Verification,
    Violation,
)
from scanner.redact import SecretHasher, redact

NOW = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
HASHER = SecretHasher(b"test-org-key")
_RULES = {r.id: r for r in load_builtin()}
XSS_PATH = 'web/<script>alert("x")</script>.py'


@dataclass
class Planted:
    """The report and the raw values planted in it (to search outputs for)."""

    report: Report
    values: list[str]


def _finding(rule_id: str, value: str, locations: tuple[Location, ...], **kw: object) -> Finding:
    rule = _RULES[rule_id]
    base = Finding(
        fingerprint=HASHER.fingerprint(rule_id, value), rule_id=RuleId(rule_id), rule_name=rule.name,
        provider=rule.provider, category=rule.category, kind=rule.kind, severity=rule.severity,
        confidence=rule.confidence, secret_hash=HASHER.secret_hash(value), redacted=redact(value),
        locations=locations, remediation=rule.remediation, description=rule.description, secret_length=len(value),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _commit(sha: str, days_ago: int, author: str = "dev@example.com") -> CommitInfo:
    when = NOW - timedelta(days=days_ago)
    return CommitInfo(sha=sha, author=author, author_date=when, committer_date=when)


def build(root: str = "/src/ml-platform", started: datetime = NOW) -> Planted:
    """The rich report."""
    anthropic = fake_key("anthropic.api-key")
    openai = fake_key("openai.project-key")
    wandb = fake_key("wandb.api-key")
    allowed = fake_key("langsmith.service-key")
    in_vault = fake_key("openai.admin-key")
    html_key = fake_key("pinecone.api-key")

    f_head = _finding("anthropic.api-key", anthropic, (
        Location(source="file", path="services/chat/config.py", line=12, column=19, end_line=12, end_column=127,
                 root=root),
        Location(source="file", path="deploy/values.yaml", line=4, column=9, end_line=4, end_column=117,
                 key_path="env.ANTHROPIC_API_KEY", root=root),
    ), verification=Verification(status="live", checked_at=NOW, detail="key accepted", scopes=("inference",)))
    intro, removed = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
    f_hist = _finding("openai.project-key", openai, (
        Location(source="git", path="notebooks/eval.ipynb", line=40, column=5, end_line=40, end_column=170,
                 commit=intro, root=root),
        Location(source="git", path="notebooks/eval_old.ipynb", line=41, column=5, end_line=41, end_column=170,
                 commit=removed, root=root),
    ), git=GitProvenance(repo=root, introduced=_commit(intro, 400, "alice"), last_seen=_commit(removed, 200),
                         removed_by=_commit(removed, 199), at_head=False, refs=("refs/heads/main",),
                         paths=("notebooks/eval.ipynb",)))
    f_med = _finding("wandb.api-key", wandb, (
        Location(source="file", path="train/.env", line=3, column=15, end_line=3, end_column=55, root=root),
    ), severity=Severity.MEDIUM)
    f_allowed = _finding("langsmith.service-key", allowed, (
        Location(source="file", path="tests/fixtures/keys.py", line=7, column=10, end_line=7, end_column=60,
                 root=root),
    ), status="allowed", status_reason="inline credsweep:allow")
    f_vault = _finding("openai.admin-key", in_vault, (
        Location(source="vault", path="kv/data/ml/openai-admin", key_path="notes"),
    ))
    f_xss = _finding("pinecone.api-key", html_key, (
        Location(source="file", path=XSS_PATH, line=1, column=1, end_line=1, end_column=40, root=root),
    ), severity=Severity.LOW, confidence=Confidence.MEDIUM)

    creds = (
        Credential(id="vault:kv/ml/openai", source="vault", store="vault-kv", location="kv/ml/openai",
                   provider="OpenAI", kind="project-key", rule_id="openai.project-key",
                   secret_hash=HASHER.secret_hash(openai), redacted=redact(openai), owner="ml-platform",
                   created_at=NOW - timedelta(days=420), last_rotated_at=NOW - timedelta(days=420), versions=1,
                   scopes=("kv/ml/*",)),
        Credential(id="vault:token:ci-bot", source="vault", store="vault-token", location="auth/token/ci-bot",
                   provider="Vault", kind="token", created_at=NOW - timedelta(days=95), scopes=("root",),
                   status="active"),
        Credential(id="arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/anthropic-AbCdEf", source="aws",
                   store="aws-secretsmanager", location="arn:aws:secretsmanager:us-east-1:123456789012:secret:"
                   "ml/anthropic-AbCdEf", provider="Anthropic", kind="api-key", owner="search-team",
                   created_at=NOW - timedelta(days=50), last_rotated_at=NOW - timedelta(days=10),
                   rotation_enabled=True, rotation_period_days=30, versions=3),
        Credential(id="arn:aws:iam::123456789012:user/ci-deployer/AKIAEXAMPLEEXAMPLE01", source="aws",
                   store="aws-iam", location="arn:aws:iam::123456789012:user/ci-deployer", provider="AWS",
                   kind="access-key", created_at=NOW - timedelta(days=210), status="active",
                   scopes=("AdministratorAccess",)),
    )
    violations = (
        Violation(check_id=CheckId("STALE"), subject=creds[0].id, severity=Severity.HIGH,
                  message="OpenAI project-key is 420 days old (policy: 90)",
                  remediation=("Rotate the key at the provider and write the new value to kv/ml/openai.",)),
        Violation(check_id=CheckId("LEAKED"), subject=creds[0].id, severity=Severity.CRITICAL,
                  message="the stored value also appears in git history (notebooks/eval.ipynb)",
                  remediation=("Rotate now: the committed copy stays in history.",)),
        Violation(check_id=CheckId("NO-EXPIRY"), subject=creds[1].id, severity=Severity.MEDIUM,
                  message="Vault token ci-bot never expires", remediation=("Recreate the token with a TTL.",)),
        Violation(check_id=CheckId("OVERSCOPED"), subject=creds[1].id, severity=Severity.HIGH,
                  message="Vault token ci-bot has the root policy", remediation=("Use a narrow policy.",)),
        Violation(check_id=CheckId("UNROTATED"), subject=creds[3].id, severity=Severity.MEDIUM,
                  message="IAM access key was never rotated (210 days)",
                  remediation=("Create a second key, deploy it, deactivate and delete the old one.",)),
        Violation(check_id=CheckId("NO-OWNER"), subject=creds[3].id, severity=Severity.LOW,
                  message="IAM access key has no owner tag"),
    )
    skipped = (
        Skip(source="file", target="assets/model.bin", reason="binary", detail="binary file"),
        Skip(source="vault", target="kv/finance", reason="forbidden", detail="permission denied"),
        Skip(source="aws", target="eu-west-1/ssm", reason="access-denied", detail="AccessDeniedException"),
    )
    report = Report(
        tool_version="0.1.0", started_at=started, finished_at=started + timedelta(seconds=4), scan_kind="merged",
        targets=(root, "vault:http://127.0.0.1:8200", "aws:123456789012"),
        findings=(f_head, f_hist, f_vault, f_med, f_xss, f_allowed), skipped=skipped, credentials=creds,
        violations=violations, stats=ScanStats(files_scanned=120, bytes_scanned=2_000_000, commits_scanned=300,
                                               blobs_scanned=900, seconds=4.0),
        notes=("Vault audit devices were not readable; last-used times are unknown.",),
        hash_key_id=HASHER.key_id,
    )
    return Planted(report, [anthropic, openai, wandb, allowed, in_vault, html_key])
