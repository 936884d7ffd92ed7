"""Real git repositories in temporary folders, with fixed identities and dates for exact provenance assertions."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from conftest import Result, cli, record_file

BASE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}


def day(n: int) -> str:
    """A fixed ISO date: 2024-01-<n> 12:00 UTC (n may exceed 31: it counts days from 2024-01-01)."""
    from datetime import UTC, datetime, timedelta

    return (datetime(2024, 1, 1, 12, tzinfo=UTC) + timedelta(days=n - 1)).isoformat()


class Repo:
    """A git repository driven through the real git binary."""

    def __init__(self, path: Path, *, bare: bool = False, init: bool = True) -> None:
        self.path = path
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []))

    def git(self, *args: str, when: int | None = None, author: str | None = None, check: bool = True,
            input: bytes | None = None) -> str:
        env = {**os.environ, **BASE_ENV}
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = day(when)
        if author is not None:
            env["GIT_AUTHOR_NAME"] = author
            env["GIT_AUTHOR_EMAIL"] = f"{author.lower()}@example.com"
        proc = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args], cwd=self.path,
                              env=env, capture_output=True, input=input, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str | bytes, text: str | bytes) -> None:
        base = os.fsencode(self.path)
        full = os.path.join(base, os.fsencode(rel))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(text.encode() if isinstance(text, str) else text)

    def remove(self, rel: str) -> None:
        (self.path / rel).unlink()

    def commit(self, message: str, when: int, *, author: str | None = None, all_files: bool = True) -> str:
        if all_files:
            self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, when=when, author=author)
        return self.git("rev-parse", "HEAD")


def scan_json(target: Path, *args: str, cwd: Path | None = None, input: str | None = None) -> tuple[Result, Any]:
    """Run ``credsweep scan repo TARGET --format json -o FILE`` and return the result and parsed JSON."""
    out = target.parent / f"result-{abs(hash((str(target), args)))}.json"
    res = cli("scan", "repo", target, *args, "--format", "json", "-o", out, cwd=cwd, input=input)
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else None
    return res, doc


def commit_info(repo: Repo, sha: str, when: int, author: str = "Alice") -> dict[str, str]:
    """The JSON form of a CommitInfo, as credsweep writes it."""
    return {"sha": sha, "author": f"{author} <{author.lower()}@example.com>", "author_date": day(when),
            "committer_date": day(when)}
