"""Checks specific to AWS-held credentials; pure functions of (credential, policy rules, now), like credential.py.

PLAINTEXT      a model or service key stored in a plain ``String``/``StringList`` SSM parameter (not encrypted
               with KMS, readable by anyone with ssm:GetParameter); storage outside ``allowed_storage``.
PLAINTEXT-ENV  a key in a Lambda or ECS task definition environment variable: readable in clear by anyone who
               can describe the function or task (lambda:ListFunctions, ecs:DescribeTaskDefinition), copied into
               every deployment; the cloud equivalent of a leak.
NO-EXPIRY      a long-term Bedrock API key (service-specific credential with no expiration), whatever the
               policy's ``expiry_required`` says: AWS recommends short-term keys.
OVERSCOPED     a principal whose policies grant ``bedrock:*`` on ``*`` (``admin`` is judged by the generic check
               through ``forbidden_scopes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from scanner.hygiene.checks import evaluate as generic_evaluate
from scanner.model import CheckId, Credential, Severity, Violation
from scanner.policy import Policy, PolicyRules
from scanner.sources.aws.iam import SCOPE_BEDROCK

ENV_STORES = ("aws-lambda-env", "aws-ecs-env")
PLAIN_PARAMETER_STORES = ("aws-ssm-string", "aws-ssm-stringlist")


def _v(check: str, cred: Credential, severity: Severity, message: str, *steps: str) -> Violation:
    return Violation(check_id=CheckId(check), subject=cred.id, severity=severity, message=message,
                     remediation=tuple(steps))


def _label(cred: Credential) -> str:
    return f"{cred.provider or 'credential'} {cred.kind or ''}".strip()


def _rule_severity(cred: Credential, default: Severity) -> Severity:
    raw = dict(cred.attributes).get("rule_severity")
    try:
        return Severity.parse(raw) if raw else default
    except ValueError:
        return default


def plaintext_parameter(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """A key in a plain String parameter (by value with --read-values, else by name)."""
    if cred.store not in PLAIN_PARAMETER_STORES or cred.store in rules.allowed_storage:
        return
    if cred.rule_id:
        yield _v("PLAINTEXT", cred, max(Severity.HIGH, _rule_severity(cred, Severity.HIGH)),
                 f"{_label(cred)} stored unencrypted in the String parameter {cred.location}",
                 "Store it as a SecureString (or in Secrets Manager) and delete the String parameter.",
                 "Rotate the key: anyone with ssm:GetParameter* could read it.")
    elif cred.provider or dict(cred.attributes).get("name_provider"):
        yield _v("PLAINTEXT", cred, Severity.MEDIUM,
                 f"the String parameter {cred.location} is named like a {cred.provider} credential but is not "
                 "encrypted (run with --read-values to classify its value)",
                 "Store credentials as SecureString parameters or in Secrets Manager.")


def plaintext_env(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """A key in a Lambda or ECS environment variable."""
    if cred.store not in ENV_STORES or not cred.rule_id or cred.store in rules.allowed_storage:
        return
    yield _v("PLAINTEXT-ENV", cred, max(Severity.HIGH, _rule_severity(cred, Severity.HIGH)),
             f"{_label(cred)} in plain text in {cred.location}",
             "Move the key to Secrets Manager or a SecureString parameter and read it at start-up "
             "(ECS: containerDefinitions[].secrets valueFrom; Lambda: the Parameters and Secrets extension).",
             "Rotate the key: its value is visible to anyone who can describe the function or task definition.")


def bedrock_no_expiry(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """A long-term Bedrock API key without expiry."""
    if cred.kind != "bedrock-api-key" or cred.expires_at is not None or cred.status in ("inactive", "deleted"):
        return
    yield _v("NO-EXPIRY", cred, Severity.HIGH, "long-term Bedrock API key without expiry",
             "Replace it with a short-term Bedrock API key (or IAM role credentials) and delete this one "
             "(aws iam delete-service-specific-credential).")


def bedrock_overscoped(cred: Credential, rules: PolicyRules, now: datetime) -> Iterator[Violation]:
    """The key's principal may call every Bedrock action on every resource."""
    if SCOPE_BEDROCK not in cred.scopes or cred.status in ("inactive", "deleted"):
        return
    yield _v("OVERSCOPED", cred, Severity.MEDIUM,
             f"{_label(cred)} belongs to a principal granted bedrock:* on *",
             "Grant only the Bedrock actions and model ARNs the consumer needs (for example bedrock:InvokeModel "
             "on specific foundation-model ARNs).")


AWS_CHECKS = (plaintext_parameter, plaintext_env, bedrock_no_expiry, bedrock_overscoped)


def evaluate(credentials: Iterable[Credential], policy: Policy, now: datetime) -> list[Violation]:
    """The generic checks (incl. DUPLICATED) plus the AWS checks; one violation per (check, credential)."""
    creds = list(credentials)
    out = generic_evaluate(creds, policy, now)
    for cred in creds:
        rules = policy.rules_for(cred.provider, cred.kind)
        for check in AWS_CHECKS:
            out.extend(check(cred, rules, now))
    return dedupe(out)


def dedupe(violations: Iterable[Violation]) -> list[Violation]:
    """Keep the first violation per (check id, subject): generic checks win over source-specific ones."""
    seen: set[tuple[str, str]] = set()
    out = []
    for v in violations:
        key = (v.check_id, v.subject)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out
