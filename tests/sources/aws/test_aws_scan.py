"""``credsweep scan aws`` end to end: the real CLI in a subprocess against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import cli, fake_key, record_file
from freezegun import freeze_time
from support import aws_server
from support.aws_server import REGION, Moto
from support.schema_util import validate_result_json

pytestmark = pytest.mark.slow
aws, moto_server = aws_server.aws, aws_server.moto_server  # fixtures

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BEDROCK_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["bedrock:*"], "Resource": "*"}]}


def scan(aws: Moto, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    r = cli("scan", "aws", "--format", "json", "--region", REGION, *args, env=aws.env(**(env or {})))
    assert r.out, r.err
    doc = json.loads(r.out)
    validate_result_json(doc)
    return r.rc, doc, r.err


def by_subject(doc: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for v in doc["violations"]:
        out.setdefault(v["subject"], set()).add(v["check_id"])
    return out


def creds_by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["credentials"]}


def test_done_when_each_problem_reported_with_its_reason(aws: Moto) -> None:
    """The issue's acceptance scenario, as a new user would run it."""
    admin = aws.user_with_policy("old-admin", ADMIN)
    aws.age_access_key("old-admin", days=200, last_used_days=150)

    iam = aws.client("iam")
    iam.create_user(UserName="bedrock-app")
    bedrock = iam.create_service_specific_credential(UserName="bedrock-app", ServiceName="bedrock.amazonaws.com")
    bedrock_id = bedrock["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]

    anthropic = fake_key("anthropic.api-key")
    with freeze_time(datetime.now(UTC) - timedelta(days=120)):
        secret_arn = aws.client("secretsmanager").create_secret(
            Name="prod/llm/anthropic", SecretString=json.dumps({"ANTHROPIC_API_KEY": anthropic}),
            Tags=[{"Key": "owner", "Value": "ml-platform"}])["ARN"]

    openai = fake_key("openai.project-key")
    fn_arn = aws.lambda_with_env("summarizer", {"OPENAI_API_KEY": openai, "LOG_LEVEL": "info"})

    rc, doc, err = scan(aws, "--read-values")
    assert rc == 1, err
    assert anthropic not in json.dumps(doc) and openai not in json.dumps(doc)
    subjects, creds = by_subject(doc), creds_by_id(doc)

    # old admin access key: too old, unused for long, administrator rights
    assert {"STALE", "UNUSED", "OVERSCOPED"} <= subjects[admin["id"]]
    assert "admin" in creds[admin["id"]]["scopes"]
    assert creds[admin["id"]]["status"] == "active"
    attrs = dict(creds[admin["id"]]["attributes"])
    assert attrs["last_used_service"] == "bedrock" and attrs["last_used_region"] == REGION

    # Bedrock API key without expiry
    assert "NO-EXPIRY" in subjects[bedrock_id]
    assert creds[bedrock_id]["kind"] == "bedrock-api-key" and creds[bedrock_id]["expires_at"] is None

    # Anthropic key in a secret with rotation off
    assert "UNROTATED" in subjects[secret_arn]
    sec = creds[secret_arn]
    assert (sec["provider"], sec["rule_id"], sec["rotation_enabled"]) == ("Anthropic", "anthropic.api-key", False)
    assert sec["redacted"].startswith("sk-ant") and sec["secret_hash"] and sec["owner"] == "ml-platform"

    # OpenAI key in a Lambda environment variable
    lam = creds[f"{fn_arn}#env:OPENAI_API_KEY"]
    assert lam["rule_id"] == "openai.project-key" and lam["store"] == "aws-lambda-env"
    assert "PLAINTEXT-ENV" in subjects[lam["id"]]
    assert not any(c["id"].endswith("LOG_LEVEL") for c in doc["credentials"])
    assert doc["skipped"] == []


def test_text_output_names_the_reasons(aws: Moto, tmp_path: Any) -> None:
    openai = fake_key("openai.project-key")
    aws.lambda_with_env("chat", {"OPENAI_API_KEY": openai})
    out = tmp_path / "aws.txt"
    r = cli("scan", "aws", "--region", REGION, "--service", "lambda", "-o", out, env=aws.env())
    record_file(out)
    assert r.rc == 1, r.err
    text = out.read_text()
    assert "PLAINTEXT-ENV" in text and openai not in text


def test_secrets_manager_metadata_rotation_use_and_duplicates(aws: Moto) -> None:
    sm = aws.client("secretsmanager")
    key = fake_key("anthropic.api-key")
    with freeze_time(datetime.now(UTC) - timedelta(days=300)):
        rotated = sm.create_secret(Name="ml/rotated", SecretString=key)["ARN"]
        sm.rotate_secret(SecretId="ml/rotated", RotationRules={"AutomaticallyAfterDays": 30})
        # moto's rotation without a Lambda leaves AWSCURRENT without a value; a rotation writes one
        sm.put_secret_value(SecretId="ml/rotated", SecretString=key)
        copy = sm.create_secret(Name="ml/copy", SecretString=json.dumps({"key": key}), KmsKeyId="alias/custom")["ARN"]
    aws.set_last_accessed("ml/copy", days_ago=200)

    rc, doc, _ = scan(aws, "--read-values", "--service", "secretsmanager")
    creds, subjects = creds_by_id(doc), by_subject(doc)
    assert creds[rotated]["rotation_enabled"] is True and creds[rotated]["rotation_period_days"] == 30
    assert creds[rotated]["last_rotated_at"] is not None
    # rotated 300 days ago (policy: 90) -> STALE; never rotated -> UNROTATED; same key twice -> DUPLICATED
    assert {"STALE", "DUPLICATED"} <= subjects[rotated]
    assert "UNROTATED" not in subjects[rotated]
    assert {"UNROTATED", "DUPLICATED", "UNUSED"} <= subjects[copy]
    assert dict(creds[copy]["attributes"])["kms_key"] == "alias/custom"
    assert creds[copy]["secret_hash"] == creds[rotated]["secret_hash"]
    assert creds[copy]["last_used_at"] is not None  # LastAccessedDate as of before the scan read it


def test_metadata_only_without_read_values(aws: Moto) -> None:
    key = fake_key("openai.project-key")
    arn = aws.client("secretsmanager").create_secret(Name="prod/openai/api-key", SecretString=key)["ARN"]
    rc, doc, _ = scan(aws, "--service", "secretsmanager")
    cred = creds_by_id(doc)[arn]
    assert cred["provider"] == "OpenAI"  # inferred from the name
    assert cred["secret_hash"] is None and cred["redacted"] is None and cred["rule_id"] is None
    assert any("--read-values" in n for n in doc["notes"])
    assert aws.secret("prod/openai/api-key").__dict__.get("last_accessed_date") is None  # value never read


def test_parameter_store_plaintext_and_securestring(aws: Moto) -> None:
    ssm = aws.client("ssm")
    plain = fake_key("openai.project-key")
    secure = fake_key("anthropic.api-key")
    ssm.put_parameter(Name="/app/openai_key", Value=plain, Type="String")
    ssm.put_parameter(Name="/app/anthropic/api_key", Value=secure, Type="SecureString",
                      Tags=[{"Key": "owner", "Value": "team-ml"}])
    ssm.put_parameter(Name="/app/log_level", Value="debug", Type="String")
    ssm.put_parameter(Name="/app/config_blob", Value=json.dumps({"nested": {"token": plain}}), Type="String")

    rc, doc, _ = scan(aws, "--read-values", "--service", "ssm")
    assert rc == 1
    by_name = {c["location"]: c for c in doc["credentials"]}
    subjects = by_subject(doc)
    assert "/app/log_level" not in by_name
    p = by_name["/app/openai_key"]
    assert p["store"] == "aws-ssm-string" and p["rule_id"] == "openai.project-key"
    assert "PLAINTEXT" in subjects[p["id"]]
    s = by_name["/app/anthropic/api_key"]
    assert s["store"] == "aws-ssm-securestring" and s["rule_id"] == "anthropic.api-key"
    assert s["owner"] == "team-ml" and dict(s["attributes"])["tier"] == "Standard"
    assert "PLAINTEXT" not in subjects.get(s["id"], set())
    blob = by_name["/app/config_blob"]
    assert dict(blob["attributes"])["key_path"] == "nested.token" and "PLAINTEXT" in subjects[blob["id"]]
    assert "DUPLICATED" in subjects[p["id"]]  # the same OpenAI key in two parameters

    # without values: the String parameter is still flagged by its name
    rc, doc, _ = scan(aws, "--service", "ssm")
    by_name = {c["location"]: c for c in doc["credentials"]}
    assert by_name["/app/openai_key"]["provider"] == "OpenAI"
    assert "PLAINTEXT" in by_subject(doc)[by_name["/app/openai_key"]["id"]]


def test_iam_scopes_through_inline_and_group_policies(aws: Moto) -> None:
    iam = aws.client("iam")
    inline = aws.user_with_policy("bedrock-inline", BEDROCK_ALL, inline=True)
    iam.create_group(GroupName="admins")
    iam.put_group_policy(GroupName="admins", PolicyName="all", PolicyDocument=json.dumps(ADMIN))
    iam.create_user(UserName="via-group")
    iam.add_user_to_group(GroupName="admins", UserName="via-group")
    grouped = iam.create_access_key(UserName="via-group")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="narrow")
    iam.put_user_policy(UserName="narrow", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]}))
    narrow = iam.create_access_key(UserName="narrow")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="narrow", AccessKeyId=narrow, Status="Inactive")

    rc, doc, _ = scan(aws, "--service", "iam")
    creds, subjects = creds_by_id(doc), by_subject(doc)
    assert creds[inline["id"]]["scopes"] == ["bedrock:*"] and "OVERSCOPED" in subjects[inline["id"]]
    assert creds[grouped]["scopes"] == ["admin"] and "OVERSCOPED" in subjects[grouped]
    assert creds[narrow]["scopes"] == [] and creds[narrow]["status"] == "inactive"
    assert "OVERSCOPED" not in subjects.get(narrow, set())
    # fresh keys: not stale, but --as-of a year ahead makes them so
    assert "STALE" not in subjects[grouped]
    later = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d")
    rc, doc, _ = scan(aws, "--service", "iam", "--as-of", later)
    assert {"STALE", "UNUSED"} <= by_subject(doc)[grouped]
    assert "STALE" not in by_subject(doc).get(narrow, set())  # inactive keys are not judged


def test_bedrock_short_term_key_has_expiry(aws: Moto) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="svc")
    resp = iam.create_service_specific_credential(UserName="svc", ServiceName="bedrock.amazonaws.com",
                                                  CredentialAgeDays=30)
    cid = resp["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    rc, doc, _ = scan(aws, "--service", "bedrock")
    cred = creds_by_id(doc)[cid]
    assert cred["expires_at"] is not None and dict(cred["attributes"])["term"] == "short-term"
    assert "NO-EXPIRY" not in by_subject(doc).get(cid, set())


def test_ecs_task_definition_environment(aws: Moto) -> None:
    key = fake_key("anthropic.api-key")
    aws.client("ecs").register_task_definition(family="worker", containerDefinitions=[{
        "name": "app", "image": "app:1", "memory": 256,
        "environment": [{"name": "ANTHROPIC_API_KEY", "value": key}, {"name": "MODE", "value": "batch"}],
        "secrets": [{"name": "OPENAI_API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/x"}]}],
        tags=[{"key": "owner", "value": "batch-team"}])
    rc, doc, _ = scan(aws, "--service", "ecs")
    assert rc == 1
    (cred,) = doc["credentials"]
    assert cred["store"] == "aws-ecs-env" and cred["rule_id"] == "anthropic.api-key"
    assert cred["owner"] == "batch-team" and "worker:1" in cred["location"]
    assert by_subject(doc)[cred["id"]] >= {"PLAINTEXT-ENV"}


def test_every_list_call_paginates(aws: Moto) -> None:
    """DescribeParameters returns 10 per page, ListSecrets and ListUsers 100: more than a page of each."""
    ssm, sm, iam = aws.client("ssm"), aws.client("secretsmanager"), aws.client("iam")
    for i in range(25):
        ssm.put_parameter(Name=f"/p/{i:02d}", Value="x", Type="SecureString")
    for i in range(105):
        sm.create_secret(Name=f"s/{i:03d}", SecretString="x")
    for i in range(102):
        iam.create_user(UserName=f"u{i:03d}")
    iam.create_access_key(UserName="u101")
    rc, doc, _ = scan(aws, "--service", "ssm", "--service", "secretsmanager", "--service", "iam")
    stores = [c["store"] for c in doc["credentials"]]
    assert stores.count("aws-ssm-securestring") == 25
    assert stores.count("aws-secretsmanager") == 105
    assert stores.count("aws-iam") == 1


def test_sarif_with_cloud_results(aws: Moto, tmp_path: Any) -> None:
    key = fake_key("openai.project-key")
    aws.lambda_with_env("chat", {"OPENAI_API_KEY": key})
    out = tmp_path / "aws.sarif"
    r = cli("scan", "aws", "--region", REGION, "--service", "lambda", "--format", "sarif", "--sarif-include-cloud",
            "-o", out, env=aws.env())
    record_file(out)
    assert r.rc == 1, r.err
    text = out.read_text()
    assert "PLAINTEXT-ENV" in text and key not in text
