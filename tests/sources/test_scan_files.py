"""`credsweep scan files` end to end through the real CLI: findings, JSON shape, exit codes, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import cli, fake_key, record_file


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_finds_key_with_exact_location_and_json_shape(tmp_path):
    key = fake_key("openai.project-key")
    _write(tmp_path / "src" / "app.py", f'import os\n\nclient = OpenAI(api_key="{key}")\n')
    out = tmp_path / "out.json"
    r = cli("scan", "files", tmp_path, "--format", "json", "--output", out)
    record_file(out)
    assert r.rc == 1, r.err
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == "1.2"
    [f] = doc["findings"]
    assert f["rule_id"] == "openai.project-key"
    assert f["location"] == {**f["location"], "path": "src/app.py", "line": 3, "column": 26, "commit": None}
    assert f["severity"] == "critical" and f["provider"] == "OpenAI" and f["category"] == "ai-inference"
    assert f["redacted"].startswith("sk-pro") and "\u2026" in f["redacted"]
    assert len(f["secret_hash"]) == 64 and len(f["fingerprint"]) == 32
    assert key not in out.read_text()


def test_one_finding_per_secret_with_every_location(tmp_path):
    key = fake_key("anthropic.api-key")
    _write(tmp_path / "a.env", f"ANTHROPIC_API_KEY={key}\n")
    _write(tmp_path / "b" / "c.py", f'KEY = "{key}"\nOTHER = "{key}"\n')
    r = cli("scan", "files", tmp_path, "--format", "json")
    assert r.rc == 1, r.err
    doc = json.loads(r.out)
    [f] = [f for f in doc["findings"] if f["rule_id"] == "anthropic.api-key"]
    places = sorted((loc["path"], loc["line"]) for loc in f["locations"])
    assert places == [("a.env", 1), ("b/c.py", 1), ("b/c.py", 2)]


def test_fingerprint_stable_when_lines_move(tmp_path):
    key = fake_key("huggingface.user-token") if _has("huggingface.user-token") else fake_key("openai.project-key")
    f = _write(tmp_path / "x.py", f'T = "{key}"\n')
    r1 = cli("scan", "files", tmp_path, "--format", "json")
    assert r1.rc == 1, r1.err
    first = json.loads(r1.out)["findings"][0]
    f.write_text("# moved\n" * 5 + f'T = "{key}"\n')
    r2 = cli("scan", "files", tmp_path, "--format", "json")
    assert r2.rc == 1, r2.err
    second = json.loads(r2.out)["findings"][0]
    assert first["fingerprint"] == second["fingerprint"]
    assert first["location"]["line"] == 1 and second["location"]["line"] == 6


def _has(rule_id: str) -> bool:
    from scanner.detect.ruleset import load_builtin

    return rule_id in load_builtin().by_id()


def test_clean_tree_exits_zero_and_text_summary(tmp_path):
    _write(tmp_path / "ok.py", "print('hello')\nAPI_KEY = os.environ['OPENAI_API_KEY']\n")
    r = cli("scan", "files", tmp_path)
    assert r.rc == 0, r.out + r.err
    assert "0 finding(s)" in r.out and "Scanned 1 file(s)" in r.out


def test_placeholders_and_documented_examples_are_not_reported(tmp_path):
    _write(tmp_path / "README.md", "\n".join([
        "OPENAI_API_KEY=sk-proj-your-key-here",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "api_key = '<YOUR_API_KEY>'",
        "token: ${GITHUB_TOKEN}",
        "password = os.environ['DB_PASSWORD']",
        "id = 123e4567-e89b-12d3-a456-426614174000",
    ]) + "\n")
    r = cli("scan", "files", tmp_path, "--format", "json")
    assert json.loads(r.out)["findings"] == [], r.out
    assert r.rc == 0


def test_inline_allow_and_ignore_file_and_unused_entries(tmp_path):
    k1, k2 = fake_key("openai.project-key"), fake_key("anthropic.api-key")
    _write(tmp_path / "t.py", f'A = "{k1}"  # credsweep:allow test fixture\nB = "{k2}"\n')
    r = cli("scan", "files", tmp_path, "--format", "json")
    doc = json.loads(r.out)
    status = {f["rule_id"]: f for f in doc["findings"]}
    assert status["openai.project-key"]["status"] == "allowed"
    assert status["anthropic.api-key"]["status"] == "new" and r.rc == 1
    fp = status["anthropic.api-key"]["fingerprint"]
    r = cli("ignore", "add", fp, "--reason", "fixture", "--file", tmp_path / ".credsweep-ignore.toml")
    assert r.rc == 0
    _write(tmp_path / ".credsweep-ignore.toml",
           (tmp_path / ".credsweep-ignore.toml").read_text()
           + '\n[[ignore]]\nfingerprint = "00000000000000000000000000000000"\nreason = "gone"\n')
    r = cli("scan", "files", tmp_path, "--format", "json")
    doc = json.loads(r.out)
    assert r.rc == 0
    assert {f["status"] for f in doc["findings"]} == {"allowed", "ignored"}
    assert doc["unused_ignores"] == ["00000000000000000000000000000000"]


def test_expired_ignore_entry_fails_again(tmp_path):
    key = fake_key("openai.project-key")
    _write(tmp_path / "t.py", f'A = "{key}"\n')
    fp = json.loads(cli("scan", "files", tmp_path, "--format", "json").out)["findings"][0]["fingerprint"]
    _write(tmp_path / ".credsweep-ignore.toml", f'[[ignore]]\nfingerprint = "{fp}"\nreason = "x"\nexpires = 2020-01-01\n')
    assert cli("scan", "files", tmp_path).rc == 1


def test_baseline_only_new_findings_fail(tmp_path):
    old = fake_key("openai.project-key")
    _write(tmp_path / "a.py", f'A = "{old}"\n')
    base = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    assert cli("scan", "files", tmp_path, "--format", "json", "-o", base).rc == 1
    record_file(base)
    assert cli("scan", "files", tmp_path, "--baseline", base).rc == 0
    _write(tmp_path / "b.py", f'B = "{fake_key("anthropic.api-key")}"\n')
    r = cli("scan", "files", tmp_path, "--baseline", base, "--format", "json")
    doc = json.loads(r.out)
    assert r.rc == 1
    assert sorted(f["status"] for f in doc["findings"]) == ["baselined", "new"]


def test_fail_on_threshold(tmp_path):
    _write(tmp_path / "a.py", f'A = "{fake_key("openai.project-key")}"\n')
    assert cli("scan", "files", tmp_path, "--fail-on", "critical").rc == 1
    # a config file can raise the threshold; severity overrides lower the finding below it
    _write(tmp_path / ".credsweep.toml", 'fail_on = "critical"\n[severity]\n"openai.project-key" = "high"\n')
    assert cli("scan", "files", tmp_path).rc == 0


def test_usage_and_config_errors_have_codes_and_no_traceback(tmp_path):
    r = cli("scan", "files")
    assert r.rc == 2 and "Traceback" not in r.err
    bad = _write(tmp_path / ".credsweep.toml", "fail_on = [\n")
    r = cli("scan", "files", tmp_path, "--config", bad)
    assert r.rc == 3 and "not valid TOML" in r.err and "Traceback" not in r.err
    _write(tmp_path / ".credsweep.toml", 'nonsense = 1\n')
    r = cli("scan", "files", tmp_path)
    assert r.rc == 3 and "unknown setting" in r.err


def test_nothing_scanned_exit_4(tmp_path):
    r = cli("scan", "files", tmp_path / "does-not-exist")
    assert r.rc == 4, r.out + r.err


def test_unreadable_file_is_skipped_not_fatal(tmp_path):
    _write(tmp_path / "ok.py", f'K = "{fake_key("openai.project-key")}"\n')
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")  # unreadable even for root
    if os.geteuid() != 0:
        _write(tmp_path / "secret.txt", "x").chmod(0)
    r = cli("scan", "files", tmp_path, "--format", "json")
    doc = json.loads(r.out)
    assert r.rc == 1 and len(doc["findings"]) == 1
    assert {s["target"] for s in doc["skipped"] if s["reason"] == "unreadable"} >= {"dangling.txt"}


def test_binary_encodings_symlinks(tmp_path):
    key = fake_key("openai.project-key")
    root = tmp_path / "root"
    _write(root / "image.bin", b"\x89PNG\r\n\x1a\n\0\0\0" + key.encode())
    _write(root / "utf16.txt", f"KEY={key}\n".encode("utf-16"))
    _write(root / "latin1.py", b"# caf\xe9 \xff\xfe broken utf-8\nK = '" + key.encode() + b"'\n")
    outside = _write(tmp_path / "outside" / "o.txt", f"K={fake_key('anthropic.api-key')}\n")
    (root / "link.txt").symlink_to(outside)
    (root / "loop").symlink_to(root)
    r = cli("scan", "files", root, "--format", "json")
    assert r.rc == 1, r.err
    doc = json.loads(r.out)
    places = sorted((loc["path"], loc["line"] or 0) for f in doc["findings"] for loc in f["locations"])
    # the binary file's printable run is scanned too: found with a byte offset, no line
    assert places == [("image.bin", 0), ("latin1.py", 2), ("utf16.txt", 1)]
    assert [loc["offset"] for f in doc["findings"] for loc in f["locations"] if loc["path"] == "image.bin"] == [11]
    reasons = {s["target"]: s["reason"] for s in doc["skipped"]}
    assert reasons["image.bin"] == "binary"
    assert reasons["link.txt"] == "symlink-outside-root"


def test_large_file_is_streamed_with_right_lines(tmp_path):
    key = fake_key("openai.project-key")
    body = ("x = 1\n" * 300_000) + f'K = "{key}"\n'
    _write(tmp_path / "big.py", body)
    r = cli("scan", "files", tmp_path, "--format", "json", "--max-file-mb", "1")
    assert r.rc == 1, r.err
    doc = json.loads(r.out)
    [f] = doc["findings"]
    assert f["location"]["line"] == 300_001
    assert any(s["reason"] == "streamed" for s in doc["skipped"])


def test_exclude_globs(tmp_path):
    _write(tmp_path / "vendor" / "a.py", f'A = "{fake_key("openai.project-key")}"\n')
    _write(tmp_path / "tests" / "fixtures" / "b.py", f'A = "{fake_key("openai.project-key")}"\n')
    _write(tmp_path / "app.py", "A = 1\n")  # something is left to scan (excluding every file exits 4)
    r = cli("scan", "files", tmp_path, "--exclude", "vendor", "--exclude", "tests/fixtures/*", "--format", "json")
    assert r.rc == 0, r.err  # both keys excluded: nothing found
    assert json.loads(r.out)["findings"] == []


def test_parallel_scan_matches_serial(tmp_path):
    keys = [fake_key("openai.project-key") for _ in range(6)]
    for i in range(300):
        _write(tmp_path / f"d{i % 7}" / f"f{i}.py", "y = 2\n" * 200 + (f'K = "{keys[i // 50]}"\n' if i % 50 == 0 else ""))
    ra = cli("scan", "files", tmp_path, "--format", "json", "--jobs", "1")
    rb = cli("scan", "files", tmp_path, "--format", "json", "--jobs", "2")
    assert (ra.rc, rb.rc) == (1, 1), ra.err + rb.err
    a, b = json.loads(ra.out), json.loads(rb.out)
    strip = lambda d: sorted((f["fingerprint"], tuple(sorted(loc["path"] for loc in f["locations"]))) for f in d["findings"])  # noqa: E731
    assert strip(a) == strip(b) and len(a["findings"]) == 6


def test_user_rules_directory_and_rules_check(tmp_path):
    rules = _write(tmp_path / "rules" / "acme.yaml", """
rules:
  - id: acme.internal-token
    name: ACME internal token
    provider: ACME
    category: saas
    kind: api-token
    pattern: '\\b(acme_tok_[a-z0-9]{24})\\b'
    keywords: [acme_tok_]
    severity: high
    description: An ACME internal API token.
    remediation: [Revoke it in the ACME admin page.]
    examples: ['TOKEN = "[[acme_tok_{{lalnum:24}}]]"']
    negative_examples: ['TOKEN = "acme_tok_short"']
""")
    r = cli("rules", "check", rules.parent)
    assert r.rc == 0, r.out + r.err
    _write(tmp_path / "src" / "a.py", "T = 'acme_tok_q7w2e9r4t1y8u3i6o5p0a7sd'\n")
    r = cli("scan", "files", tmp_path / "src", "--rules", rules.parent, "--format", "json")
    assert r.rc == 1, r.err
    assert [f["rule_id"] for f in json.loads(r.out)["findings"]] == ["acme.internal-token"]
    _write(tmp_path / "bad" / "b.yaml", "rules:\n  - id: bad.rule\n    name: x\n    provider: x\n    category: saas\n"
           "    kind: x\n    pattern: '(?=lookahead)x'\n    keywords: [x]\n    severity: high\n    description: x\n"
           "    remediation: [x]\n    examples: ['[[x]]']\n    negative_examples: ['y']\n")
    r = cli("rules", "check", tmp_path / "bad")
    assert r.rc == 3 and "does not compile in RE2" in r.out


def test_rules_list_json():
    r = cli("rules", "list", "--format", "json")
    assert r.rc == 0, r.err
    rows = json.loads(r.out)
    assert {"id", "provider", "category", "kind", "severity"} <= set(rows[0])
    assert len(rows) == len({row["id"] for row in rows})
