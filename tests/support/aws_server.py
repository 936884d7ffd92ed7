"""A real moto server on 127.0.0.1 for the AWS tests, extended where moto 5 lacks an API.

The server runs in-process (``ThreadedMotoServer``), so the test can extend it and edit its state; credsweep
itself runs as a subprocess and reaches it over real HTTP through ``AWS_ENDPOINT_URL``. Nothing in credsweep is
mocked. Extensions (see ../shared/TESTING.md §2):

- ``iam:ListServiceSpecificCredentials`` and ``iam:CreateServiceSpecificCredential`` (Bedrock API keys): moto
  raises NotImplementedError; we add both actions to ``IamResponse`` with a small in-memory store.
- Secrets Manager ``LastAccessedDate``: moto always returns None; we return ``last_accessed_date`` when a test
  sets it, and set it (to the day, as AWS does) when a value is read.
- ``enforce_iam()`` turns on moto's IAM authorisation (``/moto-api/reset-auth``) for the least-privilege tests.

Use it from a test module with ``aws, moto_server = aws_server.aws, aws_server.moto_server`` (module-level
names, so pytest finds the fixtures and ruff sees no redefinition).
"""

from __future__ import annotations

import json
import secrets
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

ACCOUNT = "123456789012"
REGION = "us-east-1"
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/credsweep-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credsweep-test-aws-credentials",
}
POLICY_FILE = Path(__file__).resolve().parents[2] / "deploy" / "aws" / "credsweep-readonly-policy.json"

# (account, user) -> list of credential dicts as IAM returns them
_SERVICE_CREDENTIALS: dict[tuple[str, str], list[dict[str, Any]]] = {}
_PATCHED = False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install_patches() -> None:
    """Extend moto in this process (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse
    from moto.secretsmanager import models as sm

    def list_service_specific_credentials(self: Any) -> ActionResult:
        user = self._get_param("UserName")
        service = self._get_param("ServiceName")
        rows = [dict(c) for (acct, u), creds in _SERVICE_CREDENTIALS.items() if acct == self.current_account
                and (user is None or u == user) for c in creds]
        rows = [r for r in rows if service is None or r["ServiceName"] == service]
        for r in rows:
            r.pop("ServiceCredentialSecret", None)
        return ActionResult({"ServiceSpecificCredentials": rows, "IsTruncated": False})

    def create_service_specific_credential(self: Any) -> ActionResult:
        user = self._get_param("UserName")
        self.backend.get_user(user)  # NoSuchEntity for unknown users, as IAM does
        service = self._get_param("ServiceName")
        days = self._get_param("CredentialAgeDays")
        now = datetime.now(UTC)
        cred = {
            "UserName": user,
            "Status": "Active",
            "ServiceName": service,
            "ServiceUserName": f"{user}-at-{ACCOUNT}",
            "ServiceCredentialAlias": f"{user}-at-{ACCOUNT}",
            "ServiceSpecificCredentialId": "ACCA" + secrets.token_hex(8).upper(),
            "CreateDate": now,
            "ServiceCredentialSecret": secrets.token_urlsafe(32),
        }
        if days:
            cred["ExpirationDate"] = now + timedelta(days=int(days))
        _SERVICE_CREDENTIALS.setdefault((self.current_account, user), []).append(cred)
        return ActionResult({"ServiceSpecificCredential": cred})

    IamResponse.list_service_specific_credentials = list_service_specific_credentials  # type: ignore[attr-defined]
    IamResponse.create_service_specific_credential = create_service_specific_credential  # type: ignore[attr-defined]

    original_to_dict = sm.FakeSecret.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        dct = original_to_dict(self)
        when = getattr(self, "last_accessed_date", None)
        if when is not None:
            dct["LastAccessedDate"] = when
        return dct

    original_get_value = sm.SecretsManagerBackend.get_secret_value

    def get_secret_value(self: Any, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        result = original_get_value(self, secret_id, *args, **kwargs)
        secret = self.secrets.get(secret_id) if hasattr(self.secrets, "get") else None
        if secret is not None:
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            secret.last_accessed_date = today.timestamp()
        return result

    sm.FakeSecret.to_dict = to_dict  # type: ignore[method-assign]
    sm.SecretsManagerBackend.get_secret_value = get_secret_value  # type: ignore[method-assign]
    _PATCHED = True


class Moto:
    """A running moto server plus helpers to seed and age its state."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        install_patches()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self.set_auth(None)
        _SERVICE_CREDENTIALS.clear()

    def set_auth(self, initial_no_auth_count: float | None) -> None:
        """None: no IAM enforcement; 0: every request is authenticated and authorised."""
        value = "inf" if initial_no_auth_count is None else str(initial_no_auth_count)
        requests.post(f"{self.url}/moto-api/reset-auth", data=value.encode(), timeout=10).raise_for_status()

    @contextmanager
    def enforce_iam(self) -> Iterator[None]:
        """moto checks every request's signature and the caller's IAM policies inside the block."""
        self.set_auth(0)
        try:
            yield
        finally:
            self.set_auth(None)

    def client(self, service: str, region: str = REGION, **creds: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=creds.get("key", "testing"),
                            aws_secret_access_key=creds.get("secret", "testing"))

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a credsweep subprocess: dummy credentials, the endpoint, no config files."""
        return {**DUMMY_ENV, "AWS_ENDPOINT_URL": self.url, **extra}

    # ---------------------------------------------------------------- state edits (no clock endpoint in moto)

    @staticmethod
    def iam_backend() -> Any:
        from moto.backends import get_backend

        return get_backend("iam")[ACCOUNT]["global"]

    def age_access_key(self, user: str, days: int, last_used_days: int | None = None,
                       service: str = "bedrock", region: str = REGION) -> str:
        """Make the user's first access key ``days`` old (and last used ``last_used_days`` ago)."""
        from moto.iam.models import AccessKeyLastUsed

        key = self.iam_backend().users[user].access_keys[0]
        now = datetime.now(UTC)
        key.create_date = (now - timedelta(days=days)).replace(tzinfo=None)
        if last_used_days is not None:
            key.last_used = AccessKeyLastUsed(now - timedelta(days=last_used_days), service, region)
        return str(key.access_key_id)

    @staticmethod
    def secret(name: str, region: str = REGION) -> Any:
        from moto.backends import get_backend

        return get_backend("secretsmanager")[ACCOUNT][region].secrets[name]

    def set_last_accessed(self, name: str, days_ago: int, region: str = REGION) -> None:
        when = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
        self.secret(name, region).last_accessed_date = when.timestamp()

    def age_service_credential(self, cred_id: str, days: int) -> None:
        for creds in _SERVICE_CREDENTIALS.values():
            for c in creds:
                if c["ServiceSpecificCredentialId"] == cred_id:
                    c["CreateDate"] = datetime.now(UTC) - timedelta(days=days)

    # ---------------------------------------------------------------- seeding helpers through the real API

    def lambda_with_env(self, name: str, env: dict[str, str], region: str = REGION) -> str:
        import io
        import zipfile

        iam = self.client("iam")
        role_name = f"fn-{uuid.uuid4().hex[:8]}"
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("handler.py", "def handle(event, context):\n    return None\n")
        fn = self.client("lambda", region).create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handle",
            Code={"ZipFile": buf.getvalue()}, Environment={"Variables": env})
        return str(fn["FunctionArn"])

    def user_with_policy(self, user: str, document: dict[str, Any], *, inline: bool = False) -> dict[str, str]:
        """An IAM user with one policy and an access key; returns {"key", "secret", "id"}."""
        iam = self.client("iam")
        iam.create_user(UserName=user)
        if inline:
            iam.put_user_policy(UserName=user, PolicyName=f"{user}-inline", PolicyDocument=json.dumps(document))
        else:
            arn = iam.create_policy(PolicyName=f"{user}-policy", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
            iam.attach_user_policy(UserName=user, PolicyArn=arn)
        k = iam.create_access_key(UserName=user)["AccessKey"]
        return {"key": k["AccessKeyId"], "secret": k["SecretAccessKey"], "id": k["AccessKeyId"]}


def readonly_policy(*, read_values: bool = True, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """The shipped least-privilege policy, optionally without the value statement or some actions."""
    doc = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    statements = []
    for st in doc["Statement"]:
        if not read_values and str(st.get("Sid", "")).startswith("CredsweepReadValues"):
            continue
        actions = [a for a in st["Action"] if a not in without]
        if actions:
            statements.append({**st, "Action": actions})
    return {**doc, "Statement": statements}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    server = Moto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: Moto) -> Iterator[Moto]:
    """The moto server with empty state for one test."""
    moto_server.reset()
    yield moto_server
    moto_server.set_auth(None)
