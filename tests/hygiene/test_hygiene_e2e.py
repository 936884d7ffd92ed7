"""``credsweep scan all`` end to end: a real git repository, a real OpenBao dev server and a real moto server seeded
with the SAME fake OpenAI key; one inventory item with all three places, critical, explained, with filled steps."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, cli, fake_key, record_file
from support import aws_server
from support.aws_server import REGION, Moto
from support.gitrepo import Repo
from support.schema_util import validate_result_json
from support.vault_server import Bao, bao, free_port  # noqa: F401 - fixture

pytestmark = pytest.mark.slow
aws, moto_server = aws_server.aws, aws_server.moto_server  # fixtures

AS_OF = datetime.now(UTC) + timedelta(days=240, hours=1)  # the Vault version is written today: "last rotated 240 days ago"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credsweep-all.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_all(config: Path, *args: str, env: dict[str, str] | None = None, fmt: str = "json"
            ) -> tuple[Result, Any]:
    out = config.parent / f"all-{secrets.token_hex(4)}.{fmt}"
    r = cli("scan", "all", "--config", config, "--format", fmt, "--output", out, *args, env=env, timeout=300)
    record_file(out)
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    if fmt == "json" and text:
        doc = json.loads(text)
        validate_result_json(doc)
        return r, doc
    return r, text


@pytest.fixture
def seeded(tmp_path: Path, bao: Bao, aws: Moto) -> dict[str, Any]:  # noqa: F811 - fixture parameter
    key = fake_key("openai.project-key")
    repo = Repo(tmp_path / "chat-service")
    repo.write("README.md", "# chat\n")
    repo.commit("init", when=1)
    repo.write("app/settings.py", f'OPENAI_API_KEY = "{key}"\n')
    sha = repo.commit("add settings", when=2)
    path = f"e2e-{secrets.token_hex(4)}/openai"
    kv = bao.client().secrets.kv.v2
    for value in (fake_key("openai.project-key"), fake_key("openai.project-key"), key):  # version 3 is the leak
        kv.create_or_update_secret(path=path, mount_point="secret", secret={"api_key": value})
    kv.update_metadata(path=path, mount_point="secret", custom_metadata={"owner": "ml-platform"})
    arn = aws.client("secretsmanager").create_secret(
        Name="ml/openai", SecretString=json.dumps({"api_key": key}),
        Tags=[{"Key": "owner", "Value": "ml-platform"}])["ARN"]
    config = write_config(tmp_path, f"""\
sources:
  repos: [chat-service]
  vault: {{addr: "{bao.url}", read_values: true, mounts: [secret]}}
  aws: {{regions: [{REGION}], read_values: true}}
policy: {{max_age_days: 90}}
""")
    env = {**bao.env(), **aws.env()}
    return {"key": key, "repo": repo, "sha": sha, "vault_path": f"secret/{path}", "arn": arn, "config": config,
            "env": env}


def test_same_key_in_git_vault_and_aws_is_one_critical_item(seeded: dict[str, Any]) -> None:
    r, doc = run_all(seeded["config"], "--as-of", AS_OF.strftime("%Y-%m-%dT%H:%M:%S"), env=seeded["env"])
    assert r.rc == 1, r.err
    assert doc["scan"]["kind"] == "all"
    [finding] = [f for f in doc["findings"] if f["rule_id"] == "openai.project-key"]
    items = [i for i in doc["inventory"] if i["key"] == finding["secret_hash"]]
    assert len(items) == 1, "the same key must be one inventory item"
    [item] = items
    sources = {loc["source"] for loc in item["locations"]}
    assert {"git", "vault", "aws"} <= sources
    [vault_loc] = [loc for loc in item["locations"] if loc["source"] == "vault"]
    assert vault_loc["where"] == f"{seeded['vault_path']}#api_key" and vault_loc["version"] == 3
    [aws_loc] = [loc for loc in item["locations"] if loc["source"] == "aws"]
    assert aws_loc["where"] == seeded["arn"]
    [git_loc] = [loc for loc in item["locations"] if loc["source"] == "git"]
    assert git_loc["commit"] == seeded["sha"] and git_loc["state"] == "at HEAD"
    assert item["leaked"] and item["stored"]

    # severity from the facts, explained in one sentence
    assert finding["severity"] == "critical" and item["severity"] == "critical"
    reason = finding["severity_reason"]
    assert reason.startswith("critical: ") and reason.count(".") >= 1
    assert "present at HEAD of chat-service" in reason
    assert f"also stored at {seeded['vault_path']}#api_key (Vault, version 3)" in reason
    assert "compromised" in reason and "every consumer" in reason
    assert f"leaked in commit {seeded['sha'][:10]}" in item["summary"]
    assert f"is version 3 of {seeded['vault_path']} in Vault, last rotated 240 days ago" in item["summary"]

    # violations: the leak, the compromised stored copies (critical), the age; each with filled steps
    checks = {(v["check_id"], v["subject"]): v for v in item["violations"]}
    vault_id = f"vault-kv:{seeded['vault_path']}#api_key"
    leaked_vault = checks[("LEAKED", vault_id)]
    assert leaked_vault["severity"] == "critical"
    assert ("LEAKED", finding["fingerprint"]) in checks
    assert ("STALE", finding["fingerprint"]) in checks  # exposed 2024-01-02 .. as-of: beyond 90 days
    assert any(s == seeded["arn"] or s.startswith(seeded["arn"]) for (c, s) in checks if c == "LEAKED")
    steps = "\n".join(item["steps"])
    mount_path = seeded["vault_path"].split("/", 1)[1]
    assert f"vault kv put -mount=secret {mount_path} api_key=-" in steps
    assert f"aws secretsmanager put-secret-value --secret-id {seeded['arn']}" in steps
    assert "git filter-repo" in steps and "does not replace rotation" in steps
    assert f"vault kv metadata get -mount=secret {mount_path}" in steps  # consumers picked up the new version
    # the stored copy's violation is in the report's violations too, so exit codes and SARIF see it
    assert any(v["check_id"] == "LEAKED" and v["subject"] == vault_id for v in doc["violations"])


def test_text_output_shows_the_inventory_once(seeded: dict[str, Any]) -> None:
    r, text = run_all(seeded["config"], "--as-of", AS_OF.strftime("%Y-%m-%dT%H:%M:%S"), env=seeded["env"], fmt="text")
    assert r.rc == 1, r.err
    assert text.startswith("Inventory:")
    block = text.split("\n\n")
    [mine] = [b for b in block if seeded["vault_path"] in b and "chat-service/app/settings.py:1" in b]
    assert mine.startswith("CRITICAL OpenAI project-key")
    assert "last rotated 240 days ago" in mine and "where:" in mine and "violations:" in mine and "fix:" in mine
    assert seeded["arn"] in mine


def test_failing_source_is_a_skip_and_nothing_scanned_is_4(tmp_path: Path, bao: Bao) -> None:  # noqa: F811
    key = fake_key("anthropic.api-key")
    repo = Repo(tmp_path / "svc")
    repo.write("x.env", f"ANTHROPIC_API_KEY={key}\n")
    repo.commit("x", when=3)
    dead = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, f"sources:\n  repos: [svc]\n  vault: {{addr: '{dead}', read_values: true}}\n")
    env = {"VAULT_TOKEN": "unused-token", "HOME": str(tmp_path)}
    r, doc = run_all(config, env=env)
    assert r.rc == 1, r.err
    assert any(s["source"] == "vault" for s in doc["skipped"])
    assert any(f["rule_id"] == "anthropic.api-key" for f in doc["findings"])

    config = write_config(tmp_path, f"sources:\n  repos: [missing]\n  vault: {{addr: '{dead}'}}\n")
    r, doc = run_all(config, env=env)
    assert r.rc == 4, r.err
    assert {s["source"] for s in doc["skipped"]} >= {"git", "vault"}


@pytest.mark.parametrize(("section", "key"), [("vault", "token"), ("aws", "aws_secret_access_key")])
def test_credentials_in_the_config_file_are_refused(tmp_path: Path, section: str, key: str) -> None:
    config = write_config(tmp_path, f"sources:\n  {section}: {{{key}: nope-not-a-secret}}\n")
    r = cli("scan", "all", "--config", config)
    assert r.rc == 3
    assert f"sources.{section}.{key}: credentials are never read from the configuration file" in r.err


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_review_formats_show_the_correlated_item(seeded: dict[str, Any], fmt: str) -> None:
    r, text = run_all(seeded["config"], env=seeded["env"], fmt=fmt)
    assert r.rc == 1, r.err
    assert "One secret, several places" in text
    assert seeded["vault_path"] in text and seeded["arn"] in text
    assert "git filter-repo" in text and "every consumer" in text
    assert seeded["key"] not in text


def test_separate_scans_merged_by_report_are_correlated(seeded: dict[str, Any], tmp_path: Path) -> None:
    """The quarterly workflow: scan repo, scan vault, scan aws separately, then `credsweep report` merges them."""
    env = seeded["env"]
    outs = []
    for name, args in (("repo", ["repo", seeded["repo"].path]), ("vault", ["vault", "--read-values", "--mount", "secret"]),
                       ("aws", ["aws", "--region", REGION, "--read-values"])):
        out = tmp_path / f"{name}.json"
        r = cli("scan", *args, "--format", "json", "--output", out, env=env, timeout=300)
        assert r.rc in (0, 1), r.err
        record_file(out)
        outs.append(out)
    merged = tmp_path / "merged.json"
    r = cli("report", *outs, "--format", "json", "--output", merged)
    assert r.rc == 0, r.err
    record_file(merged)
    doc = json.loads(merged.read_text())
    validate_result_json(doc)
    [finding] = [f for f in doc["findings"] if f["rule_id"] == "openai.project-key"]
    [item] = [i for i in doc["inventory"] if i["key"] == finding["secret_hash"]]
    sources = {loc["source"] for loc in item["locations"]}
    assert {"git", "vault", "aws"} <= sources, item["locations"]
    assert item["severity"] == "critical"
