"""The `.pre-commit-hooks.yaml` of this checkout, run by the real pre-commit framework in a temporary repository.

The hook repository is a committed copy of this working tree (so uncommitted edits are tested too); its
environment is built once per session in a private ``PRE_COMMIT_HOME`` and reused by every case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import cli, fake_key, record_output
from support.gitrepo import BASE_ENV, Repo
from support.toolcheck import need

ROOT = Path(__file__).resolve().parents[2]
KEY_RULE = "anthropic.api-key"
COPY = ["setup.cfg", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "scanner", "rules", "templates"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", autouse=True)
def _pre_commit_installed() -> None:
    need(shutil.which("pre-commit"), "pre-commit is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """(hook repo, its commit, PRE_COMMIT_HOME), with the hook environment already built."""
    base = tmp_path_factory.mktemp("precommit")
    src = Repo(base / "credsweep-hook")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in COPY:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src.path / name, ignore=ignore)
        elif p.is_file():
            shutil.copy2(p, src.path / name)
    rev = src.commit("hook snapshot", 1)
    home = base / "pre-commit-home"
    return src.path, rev, home


def _target(tmp_path: Path, hook: tuple[Path, str, Path]) -> Repo:
    repo_path, rev, _ = hook
    r = Repo(tmp_path / "project")
    r.write(".pre-commit-config.yaml",
            f"repos:\n  - repo: {repo_path}\n    rev: {rev}\n    hooks:\n      - id: credsweep\n")
    r.write("README.md", "project\n")
    r.commit("init", 1)
    return r


def _run(r: Repo, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **BASE_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    proc = subprocess.run(list(args), cwd=r.path, env=env, capture_output=True, text=True, check=False, timeout=900)
    record_output(proc.stdout, "pre-commit-stdout")
    record_output(proc.stderr, "pre-commit-stderr")
    return proc


def _commit(r: Repo, home: Path, message: str) -> subprocess.CompletedProcess[str]:
    return _run(r, home, "git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", message)


def test_commit_with_a_fake_key_is_blocked_and_a_clean_one_passes(tmp_path: Path,
                                                                   hook_repo: tuple[Path, str, Path]) -> None:
    home = hook_repo[2]
    r = _target(tmp_path, hook_repo)
    assert _run(r, home, "pre-commit", "install").returncode == 0
    head = r.git("rev-parse", "HEAD")
    key = fake_key(KEY_RULE)
    r.write("service/config.py", f"import os\nANTHROPIC_API_KEY = '{key}'\n")
    r.git("add", "service/config.py")
    proc = _commit(r, home, "add config")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "credsweep" in out and "Failed" in out
    assert "service/config.py:2:" in out and KEY_RULE in out
    assert "credsweep:allow" in out and "credsweep ignore add" in out
    assert r.git("rev-parse", "HEAD") == head
    r.write("service/config.py", "import os\nANTHROPIC_API_KEY = os.environ['ANTHROPIC_API_KEY']\n")
    r.git("add", "service/config.py")
    proc = _commit(r, home, "read the key from the environment")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert r.git("rev-parse", "HEAD") != head


def test_allow_comment_and_ignore_file_let_the_commit_through(tmp_path: Path,
                                                               hook_repo: tuple[Path, str, Path]) -> None:
    home = hook_repo[2]
    r = _target(tmp_path, hook_repo)
    allowed, ignored = fake_key(KEY_RULE), fake_key(KEY_RULE)
    r.write("tests/fixture.py", f"KEY = '{allowed}'  # credsweep:allow fake key for tests\n")
    r.git("add", "tests/fixture.py")
    proc = _run(r, home, "pre-commit", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r.write("docs/example.env", f"ANTHROPIC_API_KEY={ignored}\n")
    r.git("add", "docs/example.env")
    proc = _run(r, home, "pre-commit", "run")
    assert proc.returncode == 1
    fp = proc.stdout.split("fingerprint ")[1].split()[0]
    assert cli("ignore", "add", fp, "--reason", "documented example", cwd=r.path).rc == 0
    r.git("add", ".credsweep-ignore.toml")
    proc = _run(r, home, "pre-commit", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _run(r, home, "pre-commit", "run", "--all-files").returncode == 0
