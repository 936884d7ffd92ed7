"""The session-wide leak check itself fails a run when a planted value, or any 12 characters of its hidden part,
reaches an output; the documented redacted form passes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import find_leaks, hidden_windows

from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import load_builtin
from scanner.redact import redact

_RULES = {r.id: r for r in load_builtin()}


def _session(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    shutil.copytree(Path(__file__).parent / "support", tmp_path / "support")
    (tmp_path / "test_leaky.py").write_text("from conftest import fake_key, plant, record_file, record_output\n" + body)
    env = {k: v for k, v in os.environ.items() if k != "CREDSWEEP_TEST_LEAKDIR"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           f"--basetemp={tmp_path / '.basetemp'}", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_leak_check_fails_a_leaking_session(tmp_path):
    proc = _session(tmp_path, "def test_leak():\n"
                              "    v = plant('leaky-secret-value-1234567890')\n"
                              "    record_output('the key is ' + v)\n")
    assert proc.returncode != 0
    assert "1 leak(s)" in proc.stdout and "LEAK:" in proc.stdout


def test_leak_check_fails_on_half_a_key(tmp_path):
    """The bug the issue names: redact() showing the first half of a long key must fail the suite."""
    proc = _session(tmp_path, "def test_half():\n"
                              "    v = fake_key('openai.project-key')\n"
                              "    record_output('preview: ' + v[: len(v) // 2] + '...')\n")
    assert proc.returncode == 1, proc.stdout
    assert "1 passed" in proc.stdout and "1 leak(s)" in proc.stdout


def test_leak_check_fails_on_a_leak_in_a_recorded_file(tmp_path):
    proc = _session(tmp_path, "def test_file(tmp_path):\n"
                              "    v = fake_key('anthropic.api-key')\n"
                              "    out = tmp_path / 'report.html'\n"
                              "    out.write_text('<td>' + v[20:40] + '</td>')\n"
                              "    record_file(out)\n")
    assert proc.returncode == 1, proc.stdout
    assert "1 leak(s)" in proc.stdout and "report.html" in proc.stdout


def test_leak_check_passes_the_redacted_form(tmp_path):
    proc = _session(tmp_path, "from scanner.redact import redact\n"
                              "from scanner.detect.prefixes import public_prefixes\n"
                              "from scanner.detect.ruleset import load_builtin\n"
                              "R = {r.id: r for r in load_builtin()}\n"
                              "def test_ok():\n"
                              "    for rid in ('openai.project-key', 'anthropic.api-key', 'github.pat', 'pem.private-key'):\n"
                              "        v = fake_key(rid)\n"
                              "        record_output('preview: ' + redact(v, public_prefixes(R[rid])))\n")
    assert proc.returncode == 0, proc.stdout
    assert "0 leak(s)" in proc.stdout


@pytest.mark.parametrize("rule_id", ["openai.project-key", "anthropic.api-key", "github.pat", "aws.access-key-id",
                                     "pem.private-key", "slack.bot-token", "huggingface.access-token"])
def test_every_window_of_the_hidden_part_is_caught(rule_id):
    from conftest import fake_key

    value = fake_key(rule_id)
    shown = redact(value, public_prefixes(_RULES[rule_id]))
    assert find_leaks([value], [("redacted", shown.encode())]) == []
    windows = hidden_windows(value)
    assert windows, "a long key has a hidden part"
    for w in sorted(windows)[:50]:
        assert find_leaks([value], [("out", f"x {w} y".encode())]) == [("out", value[:4] + "...")]
