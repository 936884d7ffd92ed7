"""``credsweep scan vault`` against a real OpenBao dev server: inventory, ages, rotation, tokens, policies, AppRole,
and the shipped least-privilege policies."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import cli, fake_key, plant, record_file
from support.vault_server import Bao, bao, fresh_bao  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "vault"
LATER = (datetime.now(UTC) + timedelta(days=200)).strftime("%Y-%m-%d")


def scan(server: Bao, *args: str, token: str | None = None, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Run the CLI with JSON output; return (exit code, parsed result, stderr)."""
    r = cli("scan", "vault", "--format", "json", *args, env={**server.env(token), **(env or {})}, timeout=120)
    assert r.out, r.err
    return r.rc, json.loads(r.out), r.err


def creds(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in result["credentials"]}


def violations(result: dict[str, Any], subject: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for v in result["violations"]:
        if v["subject"] == subject:
            out.setdefault(v["check_id"], []).append(v)
    return out


def token_for(server: Bao, *policies: str, ttl: str = "1h", **kw: Any) -> str:
    tok = server.client().auth.token.create(policies=list(policies), ttl=ttl, **kw)["auth"]["client_token"]
    return plant(tok)


@pytest.fixture(scope="module")
def seeded(bao: Bao) -> dict[str, Any]:  # noqa: F811 - pytest fixture injection
    """Two KV v2 mounts, one KV v1 mount, fake model keys, tokens, policies and AppRoles."""
    plant(bao.root_token)
    c = bao.client()
    openai = fake_key("openai.project-key")
    anthropic = fake_key("anthropic.api-key")
    langsmith = fake_key("langsmith.service-key")
    password = plant("pw-" + secrets.token_hex(16))
    c.secrets.kv.v2.create_or_update_secret(path="ml/openai", secret={"api_key": fake_key("openai.project-key")},
                                            mount_point="secret")
    c.secrets.kv.v2.create_or_update_secret(path="ml/openai", secret={"api_key": openai, "org": "acme"},
                                            mount_point="secret")
    c.secrets.kv.v2.update_metadata(path="ml/openai", mount_point="secret",
                                    custom_metadata={"owner": "ml-platform", "rotation_period": "30d",
                                                     "ticket": "SEC-101"})
    c.secrets.kv.v2.create_or_update_secret(path="ml/anthropic", secret={"anthropic_api_key": anthropic},
                                            mount_point="secret")
    c.secrets.kv.v2.create_or_update_secret(path="shared/copies/openai", secret={"OPENAI_API_KEY": openai},
                                            mount_point="secret")
    c.secrets.kv.v2.create_or_update_secret(path="apps/billing/db", secret={"password": password},
                                            mount_point="secret")
    c.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    c.secrets.kv.v1.create_or_update_secret(path="team/langsmith", secret={"langsmith_api_key": langsmith,
                                                                           "owner": "data-eng"}, mount_point="kv1")
    c.sys.enable_secrets_engine("kv", path="restricted", options={"version": "2"})
    c.secrets.kv.v2.create_or_update_secret(path="x/y", secret={"note": "hello"}, mount_point="restricted")
    c.sys.enable_secrets_engine("kv", path="paged", options={"version": "2"})
    for i in range(7):
        c.secrets.kv.v2.create_or_update_secret(path=f"dir/s{i}", secret={"v": str(i)}, mount_point="paged")

    for name in ("credsweep-metadata", "credsweep-read-values"):
        c.sys.create_or_update_policy(name=name, policy=(DEPLOY / f"{name}.hcl").read_text())
    c.sys.create_or_update_policy(name="wide", policy='''
        # too much
        path "sys/*" { capabilities = ["read", "update"] }
        path "auth/token/create-orphan" { capabilities = ["update", "sudo"] }
        path "secret/*" { capabilities = ["read", "list"] }
        path "secret/data/ml/openai" { capabilities = ["read"] }
    ''')
    c.sys.create_or_update_policy(name="app-narrow", policy='path "secret/data/apps/billing/*" { capabilities = ["read"] }')
    c.sys.create_or_update_policy(name="partial", policy='''
        path "sys/mounts" { capabilities = ["read"] }
        path "secret/metadata/" { capabilities = ["list"] }
        path "secret/metadata/ml/*" { capabilities = ["list", "read"] }
        path "secret/metadata/shared/*" { capabilities = ["list"] }
    ''')

    ci = c.auth.token.create(policies=["app-narrow"], ttl="1h", display_name="ci-bot")
    periodic = c.auth.token.create(policies=["app-narrow"], period="24h", display_name="periodic-bot")
    bounded = c.auth.token.create(policies=["app-narrow"], period="24h", explicit_max_ttl="72h",
                                  display_name="bounded-bot")
    for t in (ci, periodic, bounded):
        plant(t["auth"]["client_token"])

    c.sys.enable_auth_method("approle")
    c.auth.approle.create_or_update_approle("forever", token_policies=["app-narrow"], secret_id_ttl=0,
                                            token_max_ttl=0)
    c.auth.approle.create_or_update_approle("tidy", token_policies=["app-narrow"], secret_id_ttl="1h",
                                            token_ttl="20m", token_max_ttl="1h")
    c.auth.approle.create_or_update_approle("long", token_policies=["app-narrow"], secret_id_ttl="1h",
                                            token_ttl="72h", token_max_ttl="96h")
    c.auth.approle.create_or_update_approle("scanner", token_policies=["credsweep-metadata"], secret_id_ttl="1h",
                                            token_ttl="10m", token_max_ttl="20m")
    return {"openai": openai, "anthropic": anthropic, "langsmith": langsmith, "password": password,
            "ci": ci["auth"]["accessor"], "periodic": periodic["auth"]["accessor"],
            "bounded": bounded["auth"]["accessor"]}


def test_read_values_classifies_and_flags(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    rc, res, _ = scan(bao, "--read-values", "--as-of", LATER)
    assert rc == 1
    inv = creds(res)
    key = inv["vault-kv:secret/ml/openai#api_key"]
    assert (key["provider"], key["kind"], key["rule_id"]) == ("OpenAI", "project-key", "openai.project-key")
    assert key["owner"] == "ml-platform" and key["version"] == 2 and key["versions"] == 2
    assert key["last_rotated_at"] and key["created_at"] and key["rotation_period_days"] == 30
    attrs = dict(key["attributes"])
    assert attrs["ticket"] == "SEC-101" and int(attrs["value_age_days"]) >= 199
    assert key["redacted"].startswith("sk-pro") and seeded["openai"] not in json.dumps(res)
    assert len(key["secret_hash"]) == 64
    # org = "acme" is not a credential; the password field is a generic secret with no provider
    assert "vault-kv:secret/ml/openai#org" not in inv
    v = violations(res, key["id"])
    assert "STALE" in v and "UNROTATED" in v and "NO-OWNER" not in v
    assert any("30 days is declared" in x["message"] for x in v["UNROTATED"])

    anth = inv["vault-kv:secret/ml/anthropic#anthropic_api_key"]
    assert (anth["provider"], anth["rule_id"], anth["versions"]) == ("Anthropic", "anthropic.api-key", 1)
    assert anth["last_rotated_at"] is None
    va = violations(res, anth["id"])
    assert {"STALE", "UNROTATED", "NO-OWNER"} <= set(va)
    assert "never rotated" in va["UNROTATED"][0]["message"]

    dup = violations(res, "vault-kv:secret/shared/copies/openai#OPENAI_API_KEY")["DUPLICATED"][0]
    assert "secret/ml/openai#api_key" in dup["message"]

    lang = inv["vault-kv:kv1/team/langsmith#langsmith_api_key"]
    assert lang["provider"].startswith("LangSmith") and lang["owner"] == "data-eng" and lang["created_at"] is None
    assert any("4 KV mount(s) walked" in n for n in res["notes"]), res["notes"]
    assert res["skipped"] == []


def test_now_is_judged_by_as_of(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    rc, res, _ = scan(bao, "--read-values", "--no-tokens", "--no-policies", "--no-auth-methods")
    assert set(violations(res, "vault-kv:secret/ml/openai#api_key")) == {"DUPLICATED"}  # fresh, owned, rotated
    assert "STALE" not in violations(res, "vault-kv:secret/ml/anthropic#anthropic_api_key")


def test_metadata_only_never_reads_values(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    rc, res, _ = scan(bao, "--as-of", LATER)
    inv = creds(res)
    assert all(c["secret_hash"] is None and c["redacted"] is None for c in inv.values())
    meta = inv["vault-kv:secret/ml/openai"]
    assert meta["provider"] == "OpenAI" and meta["owner"] == "ml-platform" and meta["versions"] == 2
    assert inv["vault-kv:kv1/team/langsmith"]["provider"].startswith("LangSmith")
    assert any("values not read" in n for n in res["notes"])
    assert "STALE" in violations(res, "vault-kv:secret/ml/anthropic")


def test_tokens(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    rc, res, _ = scan(bao, "--no-policies", "--no-auth-methods", "--mount", "kv1")
    inv = creds(res)
    root = next(c for c in inv.values() if c["store"] == "vault-token" and "root" in c["scopes"])
    assert root["kind"] == "root-token" and root["expires_at"] is None
    vr = violations(res, root["id"])
    assert "OVERSCOPED" in vr and "NO-EXPIRY" in vr and vr["NO-EXPIRY"][0]["severity"] == "high"
    ci = inv[seeded["ci"]]
    assert ci["store"] == "vault-token" and ci["expires_at"] and dict(ci["attributes"])["display_name"] == "token-ci-bot"
    assert ci["scopes"] == ["app-narrow", "default"]
    assert not violations(res, seeded["ci"])
    assert "can be renewed forever" in violations(res, seeded["periodic"])["NO-EXPIRY"][0]["message"]
    assert not violations(res, seeded["bounded"])
    # older than the maximum age, judged with --as-of
    rc, res, _ = scan(bao, "--no-policies", "--no-auth-methods", "--mount", "kv1", "--as-of", LATER)
    assert "STALE" in violations(res, seeded["ci"])
    assert "UNROTATED" not in violations(res, seeded["ci"])


def test_policies(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    rc, res, _ = scan(bao, "--read-values", "--no-tokens", "--no-auth-methods")
    wide = [v["message"] for v in res["violations"] if v["subject"] == "vault-policy:wide"]
    assert any('sudo on "auth/token/create-orphan"' in m for m in wide)
    assert any('"sys/*"' in m and "sys/" in m for m in wide)
    assert any('"secret/*"' in m and "holds model keys" in m for m in wide)
    assert not any('"secret/data/ml/openai"' in m for m in wide)  # exact path: not a wildcard
    flagged = {v["subject"] for v in res["violations"] if v["subject"].startswith("vault-policy:")}
    assert "vault-policy:default" not in flagged and "vault-policy:app-narrow" not in flagged
    assert "vault-policy:credsweep-metadata" not in flagged
    own = [v for v in res["violations"] if v["subject"] == "vault-policy:credsweep-read-values"]
    assert own and all(v["severity"] == "medium" for v in own)


def test_approles(bao: Bao, seeded: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_age_days: 2\n")
    rc, res, _ = scan(bao, "--no-tokens", "--no-policies", "--mount", "kv1", "--policy", str(policy))
    forever = violations(res, "vault-approle:approle/forever")
    assert len(forever["NO-EXPIRY"]) == 2
    assert not violations(res, "vault-approle:approle/tidy")
    long_ = violations(res, "vault-approle:approle/long")
    assert "LONG-TTL" in long_ and "NO-EXPIRY" not in long_
    assert any("approle roles: 4 read" in n for n in res["notes"])


def test_least_privilege_metadata_policy(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    token = token_for(bao, "credsweep-metadata", no_default_policy=True)
    rc, res, _ = scan(bao, "--as-of", LATER, token=token)
    assert rc == 1
    assert res["skipped"] == [], res["skipped"]
    inv = creds(res)
    assert "vault-kv:secret/ml/openai" in inv and "vault-kv:kv1/team/langsmith" in inv
    assert any(c["store"] == "vault-token" for c in inv.values())
    assert any(v["subject"] == "vault-policy:wide" for v in res["violations"])
    assert any(v["subject"] == "vault-approle:approle/forever" for v in res["violations"])
    # the metadata policy cannot read a value: asking for values records each one as denied, and goes on
    rc, res, _ = scan(bao, "--read-values", "--mount", "secret", "--no-tokens", token=token)
    denied = [s for s in res["skipped"] if s["reason"] == "forbidden"]
    assert denied and all(s["target"].endswith("(value)") for s in denied)
    assert "vault-kv:secret/ml/openai" in creds(res)  # metadata still inventoried
    assert all(c["secret_hash"] is None for c in res["credentials"])


def test_least_privilege_read_values_policy(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    token = token_for(bao, "credsweep-metadata", "credsweep-read-values", no_default_policy=True)
    rc, res, _ = scan(bao, "--read-values", token=token)
    inv = creds(res)
    assert inv["vault-kv:secret/ml/openai#api_key"]["rule_id"] == "openai.project-key"
    # KV v1 values need a per-mount line (see the HCL file): denied, recorded, and the listing still counts
    assert {s["target"] for s in res["skipped"]} == {"kv1/team/langsmith (value)"}
    assert any("1 path(s) denied" in n for n in res["notes"])


def test_partial_tree_forbidden(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    token = token_for(bao, "partial")
    rc, res, _ = scan(bao, "--mount", "secret", token=token)
    assert rc != 4
    inv = creds(res)
    assert "vault-kv:secret/ml/openai" in inv
    skipped = {s["target"]: s for s in res["skipped"]}
    assert skipped["secret/apps/"]["reason"] == "forbidden"
    assert skipped["secret/shared/copies/openai"]["reason"] == "forbidden"  # listed but metadata denied
    tok = skipped["auth/token/accessors"]
    assert tok["detail"] == "the scanner token lacks sudo on auth/token/accessors; token hygiene not covered"
    assert any("token hygiene" in n or "lacks sudo" in n for n in res["notes"])


def test_mount_and_path_selection(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    base = ("--no-tokens", "--no-policies", "--no-auth-methods")
    _, res, _ = scan(bao, *base, "--mount", "kv1")
    assert {c["id"] for c in res["credentials"]} == {"vault-kv:kv1/team/langsmith"}
    _, res, _ = scan(bao, *base, "--path", "secret/ml")
    assert {c["id"] for c in res["credentials"]} == {"vault-kv:secret/ml/openai", "vault-kv:secret/ml/anthropic"}
    _, res, _ = scan(bao, *base, "--path", "secret/ml/openai")
    assert {c["id"] for c in res["credentials"]} == {"vault-kv:secret/ml/openai"}
    rc, res, _ = scan(bao, *base, "--path", "nosuchmount/x")
    assert res["skipped"][0]["reason"] == "not-found" and rc == 4


def test_pagination(bao: Bao, seeded: dict[str, Any]) -> None:  # noqa: F811
    from scanner.config import ScanConfig
    from scanner.engine import Engine
    from scanner.policy import Policy
    from scanner.sources.vault.coverage import VaultOptions
    from scanner.sources.vault.walk import VaultSource

    eng = Engine.create(ScanConfig())
    opts = VaultOptions(mounts=("paged",), page_size=3, tokens=False, policies=False, auth_methods=False)
    res = VaultSource(bao.client(), opts).scan(eng.scanner, eng.hasher, Policy(), datetime.now(UTC))
    assert sorted(c.id for c in res.credentials) == [f"vault-kv:paged/dir/s{i}" for i in range(7)]


def test_approle_login_and_token_file(bao: Bao, seeded: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    c = bao.client()
    role_id = plant(c.auth.approle.read_role_id("scanner")["data"]["role_id"])
    secret_id = plant(c.auth.approle.generate_secret_id("scanner")["data"]["secret_id"])
    sid = tmp_path / "secret-id"
    sid.write_text(secret_id + "\n")
    r = cli("scan", "vault", "--format", "json", "--mount", "kv1", "--role-id", role_id, "--secret-id-file", sid,
            env={"VAULT_ADDR": bao.url, "VAULT_TOKEN": "", "HOME": str(tmp_path)})
    res = json.loads(r.out)
    assert "vault-kv:kv1/team/langsmith" in creds(res)
    assert role_id not in r.out + r.err and secret_id not in r.out + r.err
    tf = tmp_path / "token"
    tf.write_text(token_for(bao, "credsweep-metadata"))
    out = tmp_path / "out.json"
    r = cli("scan", "vault", "--format", "json", "--mount", "kv1", "--token-file", tf, "--addr", bao.url, "-o", out,
            env={"VAULT_ADDR": "", "VAULT_TOKEN": "", "HOME": str(tmp_path)})
    record_file(out)
    assert "vault-kv:kv1/team/langsmith" in creds(json.loads(out.read_text()))
    bad = tmp_path / "bad-secret-id"
    bad.write_text("0" * 36)
    r = cli("scan", "vault", "--role-id", role_id, "--secret-id-file", bad,
            env={"VAULT_ADDR": bao.url, "VAULT_TOKEN": "", "HOME": str(tmp_path)})
    assert r.rc == 4 and "AppRole login on auth/approle failed" in r.err and role_id not in r.err


def test_missing_credentials_is_a_usage_error(tmp_path: Path) -> None:
    r = cli("scan", "vault", env={"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "", "HOME": str(tmp_path)})
    assert r.rc == 2 and "no Vault credentials" in r.err
    r = cli("scan", "vault", env={"VAULT_ADDR": "", "VAULT_TOKEN": "x", "HOME": str(tmp_path)})
    assert r.rc == 2 and "no Vault address" in r.err


def test_done_when_new_user(fresh_bao: Bao) -> None:  # noqa: F811
    """Issue 5 done-when: dev server, an OpenAI-format fake key, `scan vault --read-values --format json`."""
    plant(fresh_bao.root_token)
    key = fake_key("openai.project-key")
    assert fresh_bao.bao("kv", "put", "secret/ml/openai", f"api_key={key}").returncode == 0
    assert fresh_bao.bao("kv", "metadata", "put", "-custom-metadata=owner=ml-platform",
                         "secret/ml/openai").returncode == 0
    r = cli("scan", "vault", "--read-values", "--format", "json",
            env={"VAULT_ADDR": fresh_bao.url, "VAULT_TOKEN": fresh_bao.root_token, "HOME": str(fresh_bao.home)})
    assert r.rc == 1, r.err
    assert key not in r.out and fresh_bao.root_token not in r.out + r.err
    res = json.loads(r.out)
    c = creds(res)["vault-kv:secret/ml/openai#api_key"]
    assert (c["provider"], c["kind"], c["owner"]) == ("OpenAI", "project-key", "ml-platform")
    assert dict(c["attributes"])["age_days"] == "0" and c["created_at"]
    root = next(x for x in res["credentials"] if x["store"] == "vault-token" and "root" in x["scopes"])
    checks = {v["check_id"] for v in res["violations"] if v["subject"] == root["id"]}
    assert {"OVERSCOPED", "NO-EXPIRY"} <= checks
