"""Organisation-scale benchmark for ``credsweep scan repos``: a generated organisation of many small repositories and a
few larger histories; first run, unchanged rerun, one-commit rerun (with ``--state``), and 1, 2 and 4 shards.

    python bench/bench_org.py [--repos 200] [--large 2] [--large-commits 400]

Writes bench/RESULTS-org.md. Fake keys are generated here (obviously fake, never committed). Shards are run one after
the other on this machine; the table gives each shard count's slowest shard, which is the wall time when the shards
run on separate CI runners or pods.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com", "NO_COLOR": "1"}


def fake_openai(rng: random.Random) -> str:
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(74))
    return f"sk-proj-{body[:37]}T3BlbkFJ{body[37:]}"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], env=ENV, check=True, capture_output=True)


def make_repo(path: Path, commits: int, rng: random.Random, key: str | None) -> None:
    """A repository written with fast-import: ``commits`` commits over a handful of source files."""
    path.mkdir(parents=True)
    git(path, "init", "-q")
    stream = []
    mark = 0
    for c in range(commits):
        mark += 1
        files = {f"src/mod{i}.py": "\n".join(f"VALUE_{i}_{j} = {rng.randint(0, 10**6)}" for j in range(40)) + "\n"
                 for i in range(rng.randint(1, 4))}
        if key and c == commits // 2:
            files["config/settings.py"] = f'OPENAI_API_KEY = "{key}"\n'
        stream.append(f"commit refs/heads/main\nmark :{mark}\ncommitter bench <bench@example.com> {1700000000 + c} +0000\n"
                      f"data {len(f'c{c}')}\nc{c}\n")
        for name, text in files.items():
            data = text.encode()
            stream.append(f"M 100644 inline {name}\ndata {len(data)}\n{text}")
        if key and c == commits // 2 + 1:
            stream.append("D config/settings.py\n")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input="".join(stream).encode(), env=ENV,
                   check=True)
    git(path, "checkout", "-q", "main")


def run(args: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", "repos", *args, "--format", "json"],
                          capture_output=True, text=True, env=ENV, cwd=tempfile.gettempdir())
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scan repos failed ({proc.returncode}): {proc.stderr}")
    return took, json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--large", type=int, default=2)
    ap.add_argument("--large-commits", type=int, default=400)
    a = ap.parse_args()
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="credsweep-bench-org-"))
    try:
        paths = []
        for i in range(a.repos):
            p = work / "org" / f"svc-{i:04d}"
            make_repo(p, rng.randint(3, 12), rng, fake_openai(rng) if i % 50 == 7 else None)
            paths.append(p)
        for i in range(a.large):
            p = work / "org" / f"mono-{i}"
            make_repo(p, a.large_commits, rng, fake_openai(rng))
            paths.append(p)
        listing = work / "repos.txt"
        # remote-style: every repository through a file:// URL, so it is mirrored (cloned once, then fetched)
        listing.write_text("\n".join(f"file://{p}" for p in paths) + "\n", encoding="utf-8")
        state = work / "state.db"
        base = ["--from-file", str(listing), "--cache-dir", str(work / "mirrors")]
        rows = []
        t_first, first = run([*base, "--state", str(state)])
        rows.append(("first run (--state, empty)", t_first, first))
        t_again, again = run([*base, "--state", str(state)])
        rows.append(("unchanged rerun (--state)", t_again, again))
        target = paths[0]
        (target / "src" / "new.py").write_text("NEW = 1\n", encoding="utf-8")
        git(target, "add", "-A")
        git(target, "commit", "-qm", "one more")  # fetched into its mirror by the next run
        t_one, one = run([*base, "--state", str(state)])
        rows.append(("one-commit rerun (--state)", t_one, one))
        t_full, full = run(base)
        rows.append(("full run, no state", t_full, full))
        shard_rows = []
        for n in (1, 2, 4):
            times = []
            fps: set[str] = set()
            for i in range(1, n + 1):
                t, doc = run([*base, "--shard", f"{i}/{n}"])
                times.append(t)
                fps |= {f["fingerprint"] for f in doc["findings"]}
            shard_rows.append((n, max(times), sum(times), len(fps)))
        same = {f["fingerprint"] for f in again["findings"]} == {f["fingerprint"] for f in first["findings"]}
        lines = [
            "# `scan repos` at organisation scale",
            "",
            f"Generated organisation: {a.repos} small repositories (3-12 commits) and {a.large} histories of "
            f"{a.large_commits} commits; {sum(1 for _ in first['findings'])} planted keys found. One machine, "
            f"{os.cpu_count()} cores. Reproduce: `python bench/bench_org.py --repos {a.repos} --large {a.large} "
            f"--large-commits {a.large_commits}`.",
            "",
            "| run | seconds | blobs read | findings |",
            "| --- | ---: | ---: | ---: |",
            *[f"| {name} | {t:.2f} | {doc['stats']['blobs_scanned']:,} | {len(doc['findings'])} |"
              for name, t, doc in rows],
            "",
            f"Unchanged rerun: {100 * t_again / t_first:.0f} % of the first run; same findings: {same}.",
            "",
            "| shards | slowest shard, s | all shards, s | findings (union) |",
            "| ---: | ---: | ---: | ---: |",
            *[f"| {n} | {mx:.2f} | {tot:.2f} | {k} |" for n, mx, tot, k in shard_rows],
            "",
        ]
        (HERE / "RESULTS-org.md").write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
