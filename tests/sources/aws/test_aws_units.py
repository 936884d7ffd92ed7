"""Pure parts of the AWS source: policy-document scopes, timestamps, tags, value classification, the AWS checks,
and the shipped IAM policy (read-only, and covering every call the source makes)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import fake_key

from scanner.config import ScanConfig
from scanner.engine import Engine
from scanner.hygiene.checks.aws import evaluate
from scanner.model import Credential
from scanner.policy import Policy
from scanner.sources.aws.classify import Classifier
from scanner.sources.aws.iam import document_scopes
from scanner.sources.aws.session import as_datetime, owner_from_tags

ROOT = Path(__file__).resolve().parents[3]
POLICY = json.loads((ROOT / "deploy" / "aws" / "credsweep-readonly-policy.json").read_text())
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def stmt(**kw: object) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", **kw}]}


@pytest.mark.parametrize(("doc", "scopes"), [
    (stmt(Action="*"), {"admin"}),
    (stmt(Action=["*:*"]), {"admin"}),
    (stmt(Action="bedrock:*"), {"bedrock:*"}),
    (stmt(Action=["s3:GetObject", "bedrock:*"]), {"bedrock:*"}),
    (stmt(Action="bedrock:InvokeModel"), set()),
    (stmt(NotAction="iam:*"), set()),
    (stmt(NotAction="s3:*"), {"admin"}),
    ({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, set()),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]}, set()),
    (json.dumps(stmt(Action="*")), {"admin"}),
    ("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D",
     {"admin"}),
    ("not json", set()),
])
def test_document_scopes(doc: object, scopes: set[str]) -> None:
    assert document_scopes(doc) == frozenset(scopes)


def test_timestamps_and_owner_tags() -> None:
    assert as_datetime("2024-01-02T03:04:05.000+0000") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert as_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert as_datetime(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)
    assert as_datetime("garbage") is None and as_datetime(None) is None
    assert owner_from_tags([{"Key": "Owner", "Value": "ml"}]) == "ml"
    assert owner_from_tags([{"key": "team", "value": "infra"}]) == "infra"
    assert owner_from_tags({"Team": "x"}) == "x"
    assert owner_from_tags([{"Key": "env", "Value": "prod"}]) is None


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    eng = Engine.create(ScanConfig())
    return Classifier(eng.scanner, eng.hasher)


def test_classify_plain_json_and_names(classifier: Classifier) -> None:
    a, o = fake_key("anthropic.api-key"), fake_key("openai.project-key")
    (c,) = classifier.classify(a, name="prod/x", where="arn")
    assert c.rule_id == "anthropic.api-key" and c.provider == "Anthropic" and a not in repr(c)
    found = classifier.classify(json.dumps({"a": {"b": a}, "list": [o], "n": 3}), name="s", where="arn")
    assert [(f.key_path, f.rule_id) for f in found] == [("a.b", "anthropic.api-key"),
                                                        ("list[0]", "openai.project-key")]
    assert classifier.classify("hunter2", name="db/password", where="arn") == []
    assert classifier.provider_from_name("/prod/openai/api_key") == "OpenAI"
    assert classifier.provider_from_name("/prod/ANTHROPIC_KEY") == "Anthropic"
    assert classifier.provider_from_name("/prod/db/password") is None


def cred(**kw: object) -> Credential:
    base: dict[str, object] = {"id": "x", "source": "aws", "store": "aws-iam", "location": "x", "owner": "me"}
    return Credential(**{**base, **kw})  # type: ignore[arg-type]


def checks(c: Credential, policy: Policy | None = None) -> set[str]:
    return {v.check_id for v in evaluate([c], policy or Policy(), NOW)}


def test_aws_checks() -> None:
    assert "NO-EXPIRY" in checks(cred(kind="bedrock-api-key", status="active", created_at=NOW))
    assert "NO-EXPIRY" not in checks(cred(kind="bedrock-api-key", status="active", created_at=NOW,
                                          expires_at=NOW + timedelta(days=1)))
    assert "NO-EXPIRY" not in checks(cred(kind="bedrock-api-key", status="inactive", created_at=NOW))
    assert "PLAINTEXT" in checks(cred(store="aws-ssm-string", rule_id="openai.project-key", provider="OpenAI"))
    assert "PLAINTEXT" not in checks(cred(store="aws-ssm-securestring", rule_id="openai.project-key"))
    assert "PLAINTEXT-ENV" in checks(cred(store="aws-lambda-env", rule_id="openai.project-key"))
    assert "OVERSCOPED" in checks(cred(scopes=("bedrock:*",), status="active"))
    both = [v for v in evaluate([cred(scopes=("admin", "bedrock:*"), status="active")], Policy(), NOW)
            if v.check_id == "OVERSCOPED"]
    assert len(both) == 1 and "admin" in both[0].message
    # a policy that allows env storage switches PLAINTEXT-ENV off
    from scanner.policy import from_mapping

    lenient = from_mapping({"allowed_storage": ["aws-lambda-env"]}, "test")
    assert "PLAINTEXT-ENV" not in checks(cred(store="aws-lambda-env", rule_id="openai.project-key"), lenient)


READ_ONLY = re.compile(r"^[a-z0-9-]+:(List|Get|Describe|Decrypt)[A-Za-z]*$")


def test_shipped_policy_is_read_only_and_separates_value_reading() -> None:
    actions = {a for st in POLICY["Statement"] for a in st["Action"]}
    assert all(READ_ONLY.match(a) for a in actions), sorted(a for a in actions if not READ_ONLY.match(a))
    assert all(st["Resource"] == "*" and st["Effect"] == "Allow" for st in POLICY["Statement"])
    value = {a for st in POLICY["Statement"] if st["Sid"].startswith("CredsweepReadValues") for a in st["Action"]}
    assert value == {"secretsmanager:GetSecretValue", "ssm:GetParameters", "kms:Decrypt"}


def test_every_call_the_source_makes_is_in_the_policy() -> None:
    """Each client.operation(...) and paginate(client, "operation", ...) in the AWS modules has its action."""
    actions = {a.lower() for st in POLICY["Statement"] for a in st["Action"]}
    prefix = {"SM": "secretsmanager", "SSM": "ssm", "IAM": "iam", "LAMBDA": "lambda", "ECS": "ecs"}
    missing, checked = [], 0
    for path in sorted((ROOT / "scanner" / "sources" / "aws").glob("*.py")):
        text = path.read_text()
        ops = set(re.findall(r'paginate\(\s*(?:client|clients\([^)]*\)),\s*"(\w+)"', text))
        ops |= set(re.findall(r"\bclient\.(\w+)\(", text))
        ops |= set(re.findall(r"\)\.(describe_regions|get_caller_identity)\(", text))
        services = {prefix.get(s.strip('"'), s.strip('"')) for s in re.findall(r'clients\((\w+|"[a-z0-9]+"),', text)}
        services |= {"sts"} if "get_caller_identity" in text else set()
        for op in ops - {"get_paginator"}:
            checked += 1
            camel = op.replace("_", "")
            if not any(f"{svc}:{camel}" in actions for svc in services | {"ec2", "account"}):
                missing.append(f"{path.name}: {op}")
    assert checked >= 20 and missing == []


def test_clients_use_adaptive_retries() -> None:
    from scanner.sources.aws.source import client_config

    cfg = client_config(5)
    assert cfg.retries == {"mode": "adaptive", "max_attempts": 5}
    assert "credsweep/" in cfg.user_agent_extra
