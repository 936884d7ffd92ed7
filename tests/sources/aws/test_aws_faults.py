"""Faults and coverage: least privilege under moto's IAM enforcement, denied services, no credentials, no endpoint,
unimplemented APIs, regions and roles. The CLI runs as a subprocess against the moto server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import cli, fake_key
from support import aws_server
from support.aws_server import REGION, Moto, readonly_policy

pytestmark = pytest.mark.slow
aws, moto_server = aws_server.aws, aws_server.moto_server  # fixtures


def seed(aws: Moto) -> dict[str, str]:
    """One of everything, created before IAM enforcement is switched on."""
    key = fake_key("anthropic.api-key")
    arn = aws.client("secretsmanager").create_secret(Name="prod/anthropic", SecretString=key)["ARN"]
    aws.client("ssm").put_parameter(Name="/prod/anthropic/api_key", Value=key, Type="SecureString")
    aws.client("iam").create_user(UserName="app")
    aws.client("iam").create_access_key(UserName="app")
    aws.client("ecs").register_task_definition(family="w", containerDefinitions=[{
        "name": "c", "image": "i", "memory": 128,
        "environment": [{"name": "ANTHROPIC_API_KEY", "value": fake_key("anthropic.api-key")}]}])
    return {"secret": arn}


def run(aws: Moto, creds: dict[str, str] | None, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    env = aws.env(AWS_ACCESS_KEY_ID=creds["key"], AWS_SECRET_ACCESS_KEY=creds["secret"]) if creds else aws.env()
    r = cli("scan", "aws", "--format", "json", "--region", REGION, "--max-attempts", "2", *args, env=env)
    return r.rc, (json.loads(r.out) if r.out.strip() else None), r.err


# moto 5.2 cannot verify SigV4 on Lambda's REST GET requests (SignatureDoesNotMatch for any caller), so the
# IAM-enforced runs leave Lambda out; test_aws_scan covers it without enforcement.
ENFORCEABLE = ("--service", "secretsmanager", "--service", "ssm", "--service", "iam", "--service", "bedrock",
               "--service", "ecs")


def skips(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s["target"], s["reason"]) for s in doc["skipped"]}


def test_shipped_policy_is_enough_under_iam_enforcement(aws: Moto) -> None:
    ids = seed(aws)
    scanner = aws.user_with_policy("credsweep", readonly_policy())
    with aws.enforce_iam():
        rc, doc, err = run(aws, scanner, "--read-values", *ENFORCEABLE)
    assert doc is not None, err
    assert doc["skipped"] == [], doc["skipped"]
    stores = {c["store"] for c in doc["credentials"]}
    assert {"aws-secretsmanager", "aws-ssm-securestring", "aws-iam", "aws-ecs-env"} <= stores
    secret = next(c for c in doc["credentials"] if c["id"] == ids["secret"])
    assert secret["rule_id"] == "anthropic.api-key"
    assert doc["scan"]["targets"] == [f"aws:{aws_server.ACCOUNT}:{REGION}"]


def test_access_denied_on_one_service_is_skipped_and_the_scan_goes_on(aws: Moto) -> None:
    seed(aws)
    scanner = aws.user_with_policy("credsweep", readonly_policy(without=("ssm:DescribeParameters",)))
    with aws.enforce_iam():
        rc, doc, err = run(aws, scanner, "--read-values", *ENFORCEABLE)
    assert rc == 1 and doc is not None, err
    assert (f"ssm/{REGION}", "access-denied") in skips(doc)
    detail = next(s["detail"] for s in doc["skipped"] if s["target"] == f"ssm/{REGION}")
    assert "DescribeParameters" in detail
    stores = {c["store"] for c in doc["credentials"]}
    assert "aws-secretsmanager" in stores and "aws-ecs-env" in stores
    assert not any(s.startswith("aws-ssm") for s in stores)


def test_values_denied_keeps_metadata(aws: Moto) -> None:
    ids = seed(aws)
    scanner = aws.user_with_policy("credsweep", readonly_policy(read_values=False))
    with aws.enforce_iam():
        rc, doc, err = run(aws, scanner, "--read-values", "--service", "secretsmanager")
    assert doc is not None, err
    assert (f"secretsmanager/{REGION}", "access-denied") in skips(doc)
    secret = next(c for c in doc["credentials"] if c["id"] == ids["secret"])
    assert secret["secret_hash"] is None and secret["provider"] == "Anthropic"  # name inference still works


def test_everything_denied_exits_4(aws: Moto) -> None:
    seed(aws)
    nobody = aws.user_with_policy("nobody", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})
    with aws.enforce_iam():
        rc, doc, err = run(aws, nobody)
    assert rc == 4, err
    assert doc is not None and doc["credentials"] == []
    assert {r for _, r in skips(doc)} == {"access-denied"}
    assert "nothing in AWS could be scanned" in err


def test_no_credentials_is_a_clear_error(aws: Moto) -> None:
    env = aws.env(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    env.pop("AWS_ACCESS_KEY_ID")
    env.pop("AWS_SECRET_ACCESS_KEY")
    r = cli("scan", "aws", "--region", REGION, env={**env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert r.rc == 4, r.err
    assert "no AWS credentials" in r.err and "Traceback" not in r.err


def test_unreachable_endpoint_is_a_clear_error(aws: Moto) -> None:
    dead = aws_server._free_port()
    r = cli("scan", "aws", "--region", REGION, env=aws.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{dead}"))
    assert r.rc == 4, r.err
    assert "unreachable" in r.err and "Traceback" not in r.err


def test_unimplemented_api_is_skipped(aws: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto without our extension answers ListServiceSpecificCredentials with an HTML 500."""
    from moto.iam.responses import IamResponse

    monkeypatch.delattr(IamResponse, "list_service_specific_credentials")
    aws.client("iam").create_user(UserName="a")
    aws.client("iam").create_user(UserName="b")
    aws.client("iam").create_access_key(UserName="b")
    rc, doc, err = run(aws, None, "--service", "iam", "--service", "bedrock")
    assert doc is not None, err
    assert skips(doc) == {("bedrock-keys/global", "not-supported")}
    assert [c["store"] for c in doc["credentials"]] == ["aws-iam"]


def test_region_all_lists_enabled_regions(aws: Moto) -> None:
    arn = aws.client("secretsmanager", region="eu-west-3").create_secret(Name="far", SecretString="x")["ARN"]
    r = cli("scan", "aws", "--region", "all", "--service", "secretsmanager", "--format", "json", env=aws.env())
    assert r.rc == 1, r.err
    doc = json.loads(r.out)
    assert arn in {c["id"] for c in doc["credentials"]}
    assert "regions" in doc["scan"]["targets"][0]
    assert doc["skipped"] == []


def test_repeated_and_comma_separated_regions(aws: Moto) -> None:
    a = aws.client("secretsmanager", region="eu-west-1").create_secret(Name="a", SecretString="x")["ARN"]
    b = aws.client("secretsmanager", region="ap-south-1").create_secret(Name="b", SecretString="x")["ARN"]
    r = cli("scan", "aws", "--region", "eu-west-1,us-west-2", "--region", "ap-south-1", "--service",
            "secretsmanager", "--format", "json", env=aws.env())
    assert r.rc == 1, r.err
    doc = json.loads(r.out)
    assert {a, b} <= {c["id"] for c in doc["credentials"]}
    assert doc["scan"]["targets"] == [f"aws:{aws_server.ACCOUNT}:eu-west-1,us-west-2,ap-south-1"]


def test_role_arn_is_assumed(aws: Moto) -> None:
    """The caller may only assume the role; only the role may read Secrets Manager. Under IAM enforcement the scan
    sees the secrets with --role-arn and is denied without it, so an ignored --role-arn fails this test."""
    key = fake_key("anthropic.api-key")
    arn = aws.client("secretsmanager").create_secret(Name="prod/anthropic", SecretString=key)["ARN"]
    iam = aws.client("iam")
    role = iam.create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName="auditor", PolicyName="read", PolicyDocument=json.dumps(readonly_policy()))
    caller = aws.user_with_policy("caller", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:GetCallerIdentity"], "Resource": "*"}]})
    with aws.enforce_iam():
        rc_denied, denied, err_denied = run(aws, caller, "--read-values", "--service", "secretsmanager")
        rc, doc, err = run(aws, caller, "--role-arn", role, "--read-values", "--service", "secretsmanager")
    assert denied is not None, err_denied
    assert arn not in {c["id"] for c in denied["credentials"]}
    assert any(s["reason"] == "access-denied" for s in denied["skipped"]), denied["skipped"]
    assert doc is not None, err
    assert rc_denied == 4, err_denied  # nothing could be scanned as the caller
    assert rc == 1, err  # the role read the secret, and its hygiene violations (no rotation, no owner) count
    assert doc["skipped"] == [], doc["skipped"]
    secret = next(c for c in doc["credentials"] if c["id"] == arn)
    assert secret["rule_id"] == "anthropic.api-key"  # the role read the value: the caller could not have


def test_role_arn_that_cannot_be_assumed_is_an_error(aws: Moto) -> None:
    caller = aws.user_with_policy("caller", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]})
    role = f"arn:aws:iam::{aws_server.ACCOUNT}:role/auditor"
    aws.client("iam").create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    with aws.enforce_iam():
        rc, doc, err = run(aws, caller, "--role-arn", role, "--service", "secretsmanager")
    assert rc != 0 and doc is None
    assert "cannot assume role" in err and role in err and "Traceback" not in err


def test_unknown_profile_is_a_usage_error(aws: Moto) -> None:
    r = cli("scan", "aws", "--profile", "no-such-profile", env=aws.env())
    assert r.rc == 2 and "no-such-profile" in r.err
