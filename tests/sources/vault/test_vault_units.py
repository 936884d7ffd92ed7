"""Pure parts of the Vault source: the minimal HCL reader, policy judgement, time and period parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.sources.vault.client import VaultSettings
from scanner.sources.vault.policies import check_policy, glob_regex, parse_policy
from scanner.sources.vault.records import parse_days, parse_time

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "vault"


def test_parse_policy_hcl_with_comments_and_nesting() -> None:
    text = '''
    # path "commented/out" { capabilities = ["sudo"] }
    /* path "also/out" { capabilities = ["sudo"] } */
    path "secret/data/{{identity.entity.name}}/*" {
      capabilities = ["read", "list"]  // trailing comment
      allowed_parameters = { "key" = [] }
    }
    path "a#b" { capabilities = ["deny"] }
    '''
    rules = parse_policy(text)
    assert [(r.path, r.capabilities) for r in rules] == [
        ("secret/data/{{identity.entity.name}}/*", ("read", "list")), ("a#b", ("deny",))]


def test_parse_policy_json() -> None:
    rules = parse_policy('{"path": {"sys/*": {"capabilities": ["sudo", "read"]}}}')
    assert rules[0].path == "sys/*" and rules[0].capabilities == ("sudo", "read")


@pytest.mark.parametrize(("glob", "path", "hit"), [
    ("sys/*", "sys/mounts/x", True), ("+/data/*", "secret/data/a", True), ("+/data/*", "a/b/data/c", False),
    ("auth/+/role/+", "auth/approle/role/ci", True), ("auth/+/role/+", "auth/approle/role/ci/secret-id", False),
    ("*", "anything/at/all", True), ("secret/data/app", "secret/data/app2", False),
])
def test_glob(glob: str, path: str, hit: bool) -> None:
    assert bool(glob_regex(glob).match(path)) is hit


def test_check_policy() -> None:
    v = check_policy("p", 'path "*" { capabilities = ["read"] }')
    assert v and v[0].severity.label == "high" and "sys/" in v[0].message
    assert not check_policy("p", 'path "sys/policies/acl/*" { capabilities = ["read"] }')
    assert check_policy("p", 'path "sys/mounts/*" { capabilities = ["update"] }')
    assert not check_policy("p", 'path "sys/tools/hash/*" { capabilities = ["update"] }')
    assert not check_policy("p", 'path "+/*" { capabilities = ["list"] }')
    assert not check_policy("p", 'path "sys/*" { capabilities = ["deny"] }')
    assert not check_policy("root", 'path "*" { capabilities = ["sudo"] }')
    model = check_policy("p", 'path "ml/data/*" { capabilities = ["read"] }', [("ml/", 2)])
    assert model and model[0].severity.label == "medium"
    assert check_policy("p", 'path "ml/data/*" { capabilities = ["update"] }', [("ml/", 2)])[0].severity.label == "high"
    assert not check_policy("p", 'path "ml/data/*" { capabilities = ["read"] }', [("other/", 2)])


def test_shipped_policies() -> None:
    meta = (DEPLOY / "credsweep-metadata.hcl").read_text()
    caps = {r.path: set(r.capabilities) for r in parse_policy(meta)}
    assert not any("/data/" in p for p in caps), "the metadata policy must never reach a KV v2 data/ path"
    assert all(c <= {"list"} for p, c in caps.items() if not p.startswith(("sys/", "auth/", "+/metadata/")))
    assert all(c <= {"list", "read", "update", "sudo"} for c in caps.values())
    assert not check_policy("credsweep-metadata", meta, [("secret/", 2)])
    values = (DEPLOY / "credsweep-read-values.hcl").read_text()
    assert {r.path: r.capabilities for r in parse_policy(values)} == {"+/data/*": ("read",)}


def test_parse_time_and_days() -> None:
    assert parse_time("2026-01-02T03:04:05.123456789Z") == datetime(2026, 1, 2, 3, 4, 5, 123456, UTC)
    assert parse_time(0) is None and parse_time("") is None and parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time(1_700_000_000) == datetime.fromtimestamp(1_700_000_000, UTC)
    assert parse_time("2027-03-01") == datetime(2027, 3, 1, tzinfo=UTC)
    assert [parse_days(x) for x in ("30", "30d", "720h", "4w", "2 months", "soon", None)] == [30, 30, 30, 28, 60,
                                                                                            None, None]


def test_settings_never_show_secrets(tmp_path: Path) -> None:
    # credsweep:allow-next-line (obviously fake test values)
    s = VaultSettings.resolve(env={"VAULT_ADDR": "http://x:8200/", "VAULT_TOKEN": "tok-abcdefgh1234",
                                   "HOME": str(tmp_path)})
    assert s.addr == "http://x:8200" and "tok-abcdefgh1234" not in repr(s)
    (tmp_path / ".vault-token").write_text("home-token-123456\n")
    s = VaultSettings.resolve(env={"VAULT_ADDR": "http://x", "HOME": str(tmp_path)})
    assert s.token == "home-token-123456"
    # credsweep:allow-next-line (obviously fake test values)
    s = VaultSettings.resolve(role_id="rid-123456789", env={"VAULT_ADDR": "http://x", "VAULT_SECRET_ID": "sid-987654321",
                                                            "VAULT_TOKEN": "ignored", "HOME": str(tmp_path)})
    assert s.token is None and "rid-123456789" not in repr(s) and "sid-987654321" not in repr(s)
