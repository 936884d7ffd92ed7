"""A missing tool is a failure under CI and a skip elsewhere, and every tool-dependent skip goes through toolcheck."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# Skips that are about the platform, not a missing tool: allowed outside toolcheck.py, each named here.
PLATFORM_SKIPS = {"test_git_provenance.py": ['pytest.skip("APFS refuses non-UTF-8 file names")'],
                  "test_cache_safety.py": ['@pytest.mark.skipif(os.getuid() == 0, reason="root writes into read-only '
                                           'directories")']}
SKIP_FORMS = re.compile(r"pytest\.skip\(|importorskip\(|mark\.skipif|mark\.skip\b|mark\.xfail")


def test_every_skip_goes_through_toolcheck() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name in ("toolcheck.py", Path(__file__).name):
            continue
        text = path.read_text(encoding="utf-8")
        for allowed in PLATFORM_SKIPS.get(path.name, []):
            assert allowed in text, f"{path.name}: the allowed platform skip {allowed!r} is gone; update PLATFORM_SKIPS"
            text = text.replace(allowed, "")
        offenders += [f"{path.name}:{text[:m.start()].count(chr(10)) + 1}" for m in SKIP_FORMS.finditer(text)]
    assert offenders == [], f"use toolcheck.need()/need_module()/missing() instead of a bare skip: {offenders}"


def _run_one(test_id: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one real test of this suite in a child pytest (no xdist, no cache) with the given environment."""
    full = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("PYTEST_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "-rfs",
         f"--basetemp={tmp_path / 'basetemp'}", test_id],
        cwd=TESTS.parent, env=full, capture_output=True, text=True, timeout=300)


MISSING_TOOLS = {
    "chromium": ("tests/report/test_html_report.py::test_in_headless_chromium", "CREDSWEEP_CHROMIUM", "chromium not found"),
    "sarif-multitool": ("tests/report/test_sarif.py::test_github_ingestion_rules_with_sarif_multitool",
                        "CREDSWEEP_SARIF_MULTITOOL", "SARIF multitool not found"),
}


@pytest.mark.parametrize("tool", sorted(MISSING_TOOLS))
def test_missing_tool_fails_under_ci(tool: str, tmp_path: Path) -> None:
    test_id, env_name, message = MISSING_TOOLS[tool]
    proc = _run_one(test_id, tmp_path, {"CI": "1", env_name: str(tmp_path / "no-such-tool")})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^1 failed in ", proc.stdout.splitlines()[-1].strip()), proc.stdout
    assert message in proc.stdout and "CI is set: a missing tool fails the run" in proc.stdout


def test_missing_tool_skips_outside_ci(tmp_path: Path) -> None:
    test_id, env_name, message = MISSING_TOOLS["chromium"]
    proc = _run_one(test_id, tmp_path, {env_name: str(tmp_path / "no-such-tool")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^1 skipped in ", proc.stdout.splitlines()[-1].strip()), proc.stdout
    assert message in proc.stdout
