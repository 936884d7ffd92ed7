"""Ignore-entry expiry at the exact boundary day, judged by the run's clock (--as-of); bad ignore and baseline
files are configuration errors (exit 3) naming the file, without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli, fake_key, record_file


def _setup(tmp_path: Path, expires: str | None = "2026-06-30") -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "t.py").write_text(f'A = "{fake_key("openai.project-key")}"\n', encoding="utf-8")
    r = cli("scan", "files", root, "--format", "json")
    assert r.rc == 1, r.err
    fp = json.loads(r.out)["findings"][0]["fingerprint"]
    exp = f"expires = {expires}\n" if expires else ""
    (root / ".credsweep-ignore.toml").write_text(f'[[ignore]]\nfingerprint = "{fp}"\nreason = "fixture"\n{exp}',
                                                 encoding="utf-8")
    return root


@pytest.mark.parametrize(("as_of", "rc", "status"), [
    ("2026-06-29", 0, "ignored"),  # the day before
    ("2026-06-30", 0, "ignored"),  # the expiry day itself still applies
    ("2026-07-01", 1, "new"),  # the day after fails again
])
def test_ignore_expiry_boundary_day(tmp_path, as_of, rc, status):
    root = _setup(tmp_path)
    r = cli("scan", "files", root, "--format", "json", "--as-of", as_of)
    assert r.rc == rc, r.err
    doc = json.loads(r.out)
    assert [f["status"] for f in doc["findings"]] == [status]
    assert doc["unused_ignores"] == ([] if status == "ignored" else doc["unused_ignores"])


def test_ignore_expiry_boundary_with_a_time_of_day(tmp_path):
    root = _setup(tmp_path)
    r = cli("scan", "files", root, "--format", "json", "--as-of", "2026-06-30T23:59:59")
    assert r.rc == 0, r.err
    assert json.loads(r.out)["findings"][0]["status"] == "ignored"


def test_ignore_expiry_boundary_in_scan_repo(tmp_path):
    from support.gitrepo import Repo

    repo = Repo(tmp_path / "repo")
    repo.write("t.py", f'A = "{fake_key("anthropic.api-key")}"\n')
    repo.commit("key", when=1)
    r = cli("scan", "repo", repo.path, "--format", "json")
    assert r.rc == 1, r.err
    fp = json.loads(r.out)["findings"][0]["fingerprint"]
    ignore = tmp_path / "ignore.toml"
    ignore.write_text(f'[[ignore]]\nfingerprint = "{fp}"\nreason = "x"\nexpires = 2026-01-31\n', encoding="utf-8")
    assert cli("scan", "repo", repo.path, "--ignore-file", ignore, "--as-of", "2026-01-31").rc == 0
    assert cli("scan", "repo", repo.path, "--ignore-file", ignore, "--as-of", "2026-02-01").rc == 1


BAD_IGNORE = [
    ("not toml", "[[ignore]\nfingerprint = 1\n", "cannot read ignore file"),
    ("fingerprint not a string", "[[ignore]]\nfingerprint = 42\nreason = \"x\"\n", "needs a 'fingerprint' string"),
    ("no reason", "[[ignore]]\nfingerprint = \"abc\"\n", "needs a 'reason'"),
    ("blank reason", "[[ignore]]\nfingerprint = \"abc\"\nreason = \"  \"\n", "needs a 'reason'"),
    ("expires a string", "[[ignore]]\nfingerprint = \"abc\"\nreason = \"x\"\nexpires = \"soon\"\n", "TOML date"),
    ("entry not a table", "ignore = [1, 2]\n", "needs a 'fingerprint' string"),
    ("ignore not a list", "ignore = \"x\"\n", "ignore"),
    ("unknown field", "[[ignore]]\nfingerprint = \"abc\"\nreason = \"x\"\nexpire = 2026-01-01\n", "unknown field(s) expire"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_IGNORE, ids=[c[0] for c in BAD_IGNORE])
def test_bad_ignore_file_is_a_config_error(tmp_path, case, text, message):
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    bad = tmp_path / "bad-ignore.toml"
    bad.write_text(text, encoding="utf-8")
    r = cli("scan", "files", tmp_path, "--ignore-file", bad)
    assert r.rc == 3, (case, r.rc, r.err)
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert str(bad) in r.err and message in r.err, r.err


BAD_BASELINE = [
    ("not json", "{not json", "cannot read baseline"),
    ("a list", "[1, 2]", "not a credsweep JSON result"),
    ("findings not a list", '{"findings": 3}', "not a credsweep JSON result"),
    ("finding without a fingerprint", '{"findings": [{"rule_id": "x"}]}', "findings[0] has no 'fingerprint'"),
    ("fingerprint a number", '{"findings": [{"fingerprint": 7}]}', "findings[0] has no 'fingerprint'"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_BASELINE, ids=[c[0] for c in BAD_BASELINE])
def test_bad_baseline_file_is_a_config_error(tmp_path, case, text, message):
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    bad = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    bad.write_text(text, encoding="utf-8")
    record_file(bad)
    r = cli("scan", "files", tmp_path, "--baseline", bad)
    assert r.rc == 3, (case, r.rc, r.err)
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert str(bad) in r.err and message in r.err, r.err
