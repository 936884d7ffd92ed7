"""`credsweep hook` and `credsweep scan repo --staged/--pre-push`: the staged content only, loud failures, quiet
passes, and real git hooks (pre-commit and pre-push scripts) driving them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import cli, fake_key, record_output
from support.gitrepo import BASE_ENV, Repo

KEY_RULE = "anthropic.api-key"


def _repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "r")
    r.write("README.md", "hello\n")
    r.commit("init", 1)
    return r


def test_blocks_staged_key_with_file_line_rule_and_how_to_allow(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = _repo(tmp_path)
    r.write("app/settings.py", f"import os\nANTHROPIC_API_KEY = '{key}'\n")
    r.git("add", "app/settings.py")
    res = cli("hook", "app/settings.py", cwd=r.path)
    assert res.rc == 1, res.err
    assert "app/settings.py:2:" in res.out
    assert KEY_RULE in res.out and "sk-ant" in res.out  # the redacted preview, never the value (leak check)
    assert "credsweep:allow" in res.out and "credsweep ignore add" in res.out and "fingerprint " in res.out
    # without file names: everything staged
    assert cli("hook", cwd=r.path).rc == 1


def test_reads_the_index_not_the_working_tree(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = _repo(tmp_path)
    r.write("a.py", f"KEY = '{key}'\n")
    r.git("add", "a.py")
    r.write("a.py", "KEY = os.environ['KEY']\n")  # fixed in the working tree, but the index still has the key
    assert cli("hook", "a.py", cwd=r.path).rc == 1
    r.git("add", "a.py")
    r.write("a.py", f"KEY = '{key}'\n")  # now the reverse: clean index, dirty working tree
    res = cli("hook", "a.py", cwd=r.path)
    assert res.rc == 0 and res.out == "" and res.err == ""  # clean commits pass quietly


def test_temporary_index_of_commit_a_is_honoured(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = _repo(tmp_path)
    r.write("a.py", f"KEY = '{key}'\n")
    alt = tmp_path / "alt-index"
    env = {**os.environ, **BASE_ENV, "GIT_INDEX_FILE": str(alt)}
    subprocess.run(["git", "read-tree", "HEAD"], cwd=r.path, env=env, check=True)
    subprocess.run(["git", "add", "a.py"], cwd=r.path, env=env, check=True)
    assert cli("hook", cwd=r.path).rc == 0  # the real index has nothing staged
    assert cli("hook", cwd=r.path, env={"GIT_INDEX_FILE": str(alt)}).rc == 1


def test_nothing_staged_says_so(tmp_path: Path) -> None:
    r = _repo(tmp_path)
    res = cli("hook", cwd=r.path)
    assert res.rc == 0 and "nothing staged" in res.err
    res = cli("scan", "repo", r.path, "--staged")
    assert res.rc == 0 and "nothing staged" in res.err


def test_first_commit_in_an_empty_repository(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("k.env", f"ANTHROPIC_API_KEY={key}\n")
    r.git("add", "k.env")
    assert cli("hook", cwd=r.path).rc == 1
    assert cli("hook", "k.env", cwd=r.path).rc == 1


def test_unreadable_index_fails_loudly(tmp_path: Path) -> None:
    r = _repo(tmp_path)
    r.write("a.py", "x = 1\n")
    r.git("add", "a.py")
    (r.path / ".git" / "index").write_bytes(b"DIRC garbage that is not an index")
    for args in (("hook",), ("hook", "a.py"), ("scan", "repo", ".", "--staged")):
        res = cli(*args, cwd=r.path)
        assert res.rc == 4, (args, res.err)
        assert "cannot read the git index" in res.err and "Traceback" not in res.err


def test_outside_a_repository_fails_loudly(tmp_path: Path) -> None:
    res = cli("hook", "x.py", cwd=tmp_path)
    assert res.rc == 4 and "not inside a git working tree" in res.err


def test_allow_comment_and_ignore_file(tmp_path: Path) -> None:
    allowed, ignored = fake_key(KEY_RULE), fake_key(KEY_RULE)
    r = _repo(tmp_path)
    r.write("fixture.py", f"KEY = '{allowed}'  # credsweep:allow test fixture\n")
    r.git("add", "fixture.py")
    res = cli("hook", "fixture.py", cwd=r.path)
    assert res.rc == 0 and res.out == ""
    r.write("other.py", f"KEY = '{ignored}'\n")
    r.git("add", "other.py")
    blocked = cli("hook", "other.py", cwd=r.path)
    assert blocked.rc == 1
    fp = blocked.out.split("fingerprint ")[1].split()[0]
    assert cli("ignore", "add", fp, "--reason", "test fixture", cwd=r.path).rc == 0
    assert (r.path / ".credsweep-ignore.toml").is_file()
    assert cli("hook", "other.py", cwd=r.path).rc == 0


def test_untracked_file_named_on_command_line_is_scanned_from_disk(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = _repo(tmp_path)
    r.write("loose.py", f"KEY = '{key}'\n")
    res = cli("hook", "loose.py", "--format", "json", cwd=r.path)
    assert res.rc == 1 and "not in the index" in res.out


def test_staged_option_of_scan_repo(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = _repo(tmp_path)
    r.write("s.env", f"ANTHROPIC_API_KEY={key}\n")
    r.git("add", "s.env")
    res = cli("scan", "repo", r.path, "--staged")
    assert res.rc == 1 and "s.env:1:" in res.out
    assert cli("scan", "repo", r.path, "--staged", "--pre-push").rc == 2


def _install(r: Repo, name: str, body: str) -> None:
    hook = r.path / ".git" / "hooks" / name
    hook.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    hook.chmod(0o755)


def _git(r: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **BASE_ENV, "NO_COLOR": "1"}
    proc = subprocess.run(["git", *args], cwd=r.path, env=env, capture_output=True, text=True, check=False)
    record_output(proc.stdout, "git-stdout")
    record_output(proc.stderr, "git-stderr")
    return proc


def test_plain_git_pre_commit_hook_blocks_the_commit(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = _repo(tmp_path)
    _install(r, "pre-commit", f"exec '{sys.executable}' -m scanner hook")
    head = r.git("rev-parse", "HEAD")
    r.write("leak.py", f"KEY = '{key}'\n")
    r.git("add", "leak.py")
    proc = _git(r, "commit", "-q", "-m", "leak")
    assert proc.returncode != 0 and "leak.py:1:" in proc.stdout + proc.stderr
    assert r.git("rev-parse", "HEAD") == head
    r.write("leak.py", "KEY = os.environ['KEY']\n")
    r.git("add", "leak.py")
    proc = _git(r, "commit", "-q", "-m", "clean")
    assert proc.returncode == 0, proc.stderr


def test_plain_git_pre_push_hook_scans_only_the_pushed_commits(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    remote = Repo(tmp_path / "remote.git", bare=True)
    r = _repo(tmp_path)
    r.git("remote", "add", "origin", str(remote.path))
    assert _git(r, "push", "-q", "origin", "main").returncode == 0
    _install(r, "pre-push", f"exec '{sys.executable}' -m scanner scan repo --pre-push")
    r.write("ok.txt", "fine\n")
    r.commit("clean change", 2)
    assert _git(r, "push", "-q", "origin", "main").returncode == 0
    r.write("leak.env", f"ANTHROPIC_API_KEY={key}\n")
    leak = r.commit("leak", 3)
    proc = _git(r, "push", "-q", "origin", "main")
    assert proc.returncode != 0 and f"@ {leak[:10]}" in proc.stdout + proc.stderr
    assert remote.git("rev-parse", "main") != leak
