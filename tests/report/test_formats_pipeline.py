"""Every output format, fed by real planted secrets through the whole pipeline (scan -> findings -> formatter).

The format tests built on ``report_factory`` hand formatters findings that were redacted before the formatter saw
them, so a formatter that printed ``secret.value`` could not fail them. Here real files and a real git history hold
``fake_key()`` values, the real CLI scans them in every format (and ``report`` merges and compares the results),
and each output is checked in the test itself for the value or any 12 characters of its hidden part, besides the
session-end leak check. Each output must also show each finding's redacted preview, so the check is not vacuous.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli, fake_key, find_leaks, record_file
from support.gitrepo import Repo

from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import load_builtin
from scanner.redact import redact

RULES = {r.id: r for r in load_builtin()}
FORMATS = ("text", "json", "sarif", "html", "markdown")
VENDOR = ("openai.project-key", "anthropic.api-key", "github.pat", "huggingface.access-token", "slack.bot-token",
          "aws.access-key-id")


def _plant_tree(root: Path) -> dict[str, str]:
    """Files holding one fake key per rule; rule id -> value."""
    keys = {rid: fake_key(rid) for rid in VENDOR}
    keys["pem.private-key"] = fake_key("pem.private-key")
    keys["generic.api-key"] = fake_key("generic.api-key")
    (root / "svc").mkdir(parents=True)
    lines = [f'{rid.split(".")[0].upper()}_KEY = "{v}"' for rid, v in keys.items() if rid in VENDOR]
    (root / "svc" / "settings.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "svc" / "deploy.pem").write_text(keys["pem.private-key"] + "\n", encoding="utf-8")
    (root / "svc" / "client.py").write_text(f'api_key = "{keys["generic.api-key"]}"\n', encoding="utf-8")
    return keys


def _assert_no_leak(keys: dict[str, str], out: Path | str, data: str) -> None:
    leaks = find_leaks(list(keys.values()), [(str(out), data.encode("utf-8"))])
    assert leaks == [], f"secret material in the clear in {out}: {leaks}"


def _preview(rule_id: str, value: str) -> str:
    return redact(value, public_prefixes(RULES[rule_id]))


def _unescaped(fmt: str, data: str) -> str:
    """What a reader sees: JSON and SARIF strings decoded, HTML entities resolved."""
    if fmt in ("json", "sarif"):
        return json.dumps(json.loads(data), ensure_ascii=False)
    if fmt == "html":
        import html

        return html.unescape(data)
    return data


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("pipeline") / "tree"
    return root, _plant_tree(root)


@pytest.mark.parametrize("fmt", FORMATS)
def test_scan_files_every_format_shows_previews_never_values(planted, tmp_path, fmt):
    root, keys = planted
    out = tmp_path / f"result.{fmt}"
    r = cli("scan", "files", root, "--format", fmt, "-o", out)
    assert r.rc == 1, r.err
    record_file(out)
    data = out.read_text(encoding="utf-8")
    _assert_no_leak(keys, out, data)
    _assert_no_leak(keys, "stderr", r.err)
    seen = _unescaped(fmt, data)
    for rid, value in keys.items():
        assert _preview(rid, value) in seen, f"{fmt}: no preview for {rid}"


def test_scan_files_text_to_stdout(planted):
    root, keys = planted
    r = cli("scan", "files", root)
    assert r.rc == 1, r.err
    _assert_no_leak(keys, "stdout", r.out + r.err)
    for rid, value in keys.items():
        assert _preview(rid, value) in r.out, rid


def test_scan_repo_history_every_format(tmp_path):
    repo = Repo(tmp_path / "repo")
    keys = _plant_tree(repo.path)
    repo.commit("add keys", when=1)
    for rel in ("svc/settings.py", "svc/deploy.pem", "svc/client.py"):
        repo.remove(rel)
    repo.commit("remove keys", when=2)  # the values now live only in history
    for fmt in FORMATS:
        out = tmp_path / f"repo.{fmt}"
        r = cli("scan", "repo", repo.path, "--format", fmt, "-o", out)
        assert r.rc == 1, (fmt, r.err)
        record_file(out)
        data = out.read_text(encoding="utf-8")
        _assert_no_leak(keys, out, data)
        seen = _unescaped(fmt, data)
        for rid, value in keys.items():
            assert _preview(rid, value) in seen, f"{fmt}: no preview for {rid}"


def test_report_merge_and_compare_every_format(planted, tmp_path):
    root, keys = planted
    old_root = tmp_path / "old"
    old_keys = _plant_tree(old_root)
    results = []
    for name, target in (("previous", old_root), ("current", root)):  # the earlier review first
        out = tmp_path / f"{name}.json"
        r = cli("scan", "files", target, "--format", "json", "-o", out)
        assert r.rc == 1, r.err
        record_file(out)
        results.append(out)
    every = {**keys, **{f"old:{k}": v for k, v in old_keys.items()}}
    for fmt in FORMATS:
        merged = tmp_path / f"merged.{fmt}"
        r = cli("report", results[0], results[1], "--format", fmt, "-o", merged)
        assert r.rc == 0, (fmt, r.err)
        record_file(merged)
        _assert_no_leak(every, merged, merged.read_text(encoding="utf-8"))
        compared = tmp_path / f"compared.{fmt}"
        r = cli("report", results[1], "--compare", results[0], "--format", fmt, "-o", compared)
        assert r.rc == 0, (fmt, r.err)
        record_file(compared)
        data = compared.read_text(encoding="utf-8")
        _assert_no_leak(every, compared, data)
        seen = _unescaped(fmt, data)
        for rid, value in keys.items():
            assert _preview(rid, value) in seen, f"report {fmt}: no preview for {rid}"
