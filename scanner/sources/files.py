"""Working-tree files: walk directories, skip binaries, survive any encoding, stream large files, use both cores."""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scanner.detect.detector import BlobResult, Detected
from scanner.model import Reference, ScanStats, Skip
from scanner.redact import SecretHasher
from scanner.sources.base import SourceResult
from scanner.sources.blob import (
    BINARY_DETAIL,
    BlobScanner,
    archive_kind,
    archive_skip,
    text_bytes,
)

STREAM_CHUNK = 8 << 20  # large files are read in chunks of whole lines
PARALLEL_MIN_BYTES = 16 << 20  # below this, a second process costs more than it saves
SKIP_DIRS = frozenset({".hg", ".svn"})
# Dependency, build and VCS folders: skipped by default (one Skip each, reason "dependency-folder"), scanned with
# --include-deps. Third-party code and its test fixtures are not the project's credentials.
DEPENDENCY_DIRS = frozenset({".venv", "venv", "node_modules", "site-packages", "__pycache__", ".tox", ".nox",
                             "dist", "build", ".git"})
DEPENDENCY_SKIP = "dependency-folder"


@dataclass(frozen=True, slots=True)
class FileTask:
    """One file to scan: absolute path, path relative to its root, root."""

    abspath: str
    relpath: str
    root: str
    size: int


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for p in patterns:
        if fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) or rel.startswith(p.rstrip("/") + "/"):
            return True
    return False


def walk(targets: Sequence[Path], exclude: Sequence[str],
         include_deps: bool = False) -> tuple[list[FileTask], list[Skip]]:
    """Every regular file under the targets, relative to its target; symlinks never lead outside the root.
    Folders named in DEPENDENCY_DIRS below a target are skipped (and listed) unless ``include_deps``."""
    tasks: list[FileTask] = []
    skips: list[Skip] = []
    for target in targets:
        if target.is_file() and not target.is_symlink():
            tasks.append(FileTask(str(target), target.name, str(target.parent), target.stat().st_size))
            continue
        if not target.exists():
            skips.append(Skip(source="file", target=str(target), reason="missing", detail="no such file or directory"))
            continue
        root = target.resolve()

        def onerror(err: OSError, _root: Path = root) -> None:
            skips.append(Skip(source="file", target=_rel(err.filename, _root), reason="unreadable",
                              detail=err.strerror or err.__class__.__name__))

        for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            kept = []
            for d in sorted(dirnames):
                if d in SKIP_DIRS or _excluded(rel_dir + d, exclude):
                    continue
                if d in DEPENDENCY_DIRS and not include_deps:
                    skips.append(Skip(source="file", target=rel_dir + d, reason=DEPENDENCY_SKIP,
                                      detail="dependency or build folder; not scanned (--include-deps scans it)"))
                    continue
                kept.append(d)
            dirnames[:] = kept
            for fn in sorted(filenames):
                rel = rel_dir + fn
                if _excluded(rel, exclude):
                    continue
                full = os.path.join(dirpath, fn)
                try:
                    st = os.lstat(full)
                    if os.path.islink(full):
                        real = os.path.realpath(full)
                        if not real.startswith(str(root) + os.sep):
                            skips.append(Skip(source="file", target=rel, reason="symlink-outside-root",
                                              detail="symbolic link leaves the scanned directory; not followed"))
                            continue
                        if os.path.isdir(real):
                            continue
                        st = os.stat(real)
                except OSError as exc:
                    skips.append(Skip(source="file", target=rel, reason="unreadable", detail=exc.strerror or ""))
                    continue
                if not os.path.isfile(full):
                    continue  # sockets, fifos, devices
                tasks.append(FileTask(full, rel, str(root), st.st_size))
    return tasks, skips


def _rel(name: str | None, root: Path) -> str:
    if not name:
        return str(root)
    try:
        return os.path.relpath(name, root).replace(os.sep, "/")
    except ValueError:
        return name


def _chunks(fh: object, first: bytes) -> Iterator[tuple[bytes, int]]:
    """Yield (chunk, line offset) of whole lines from a large file."""
    read: Callable[[int], bytes] = fh.read  # type: ignore[attr-defined]
    carry = first
    line_offset = 0
    while True:
        more = read(STREAM_CHUNK)
        data = carry + more
        if not more:
            if data:
                yield data, line_offset
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            cut = len(data) - 1  # one enormous line: split it
        chunk, carry = data[: cut + 1], data[cut + 1 :]
        yield chunk, line_offset
        line_offset += chunk.count(b"\n")


def scan_file(scanner: BlobScanner, task: FileTask, max_bytes: int) -> tuple[BlobResult, Skip | None, int]:
    """Scan one file; unreadable and binary files become a Skip, never an exception."""
    try:
        with open(task.abspath, "rb") as fh:
            head = fh.read(max_bytes if task.size <= max_bytes else STREAM_CHUNK)
            kind = archive_kind(task.relpath, head)
            if kind is not None:
                return BlobResult(), archive_skip("file", task.relpath, kind), 0
            data = text_bytes(head)
            if data is None:
                whole = task.size <= max_bytes
                detail = BINARY_DETAIL if whole else BINARY_DETAIL + f"; only the first {STREAM_CHUNK >> 20} MB"
                return (scanner.scan_binary(head, source="file", path=task.relpath, root=task.root),
                        Skip(source="file", target=task.relpath, reason="binary", detail=detail), len(head))
            if task.size <= max_bytes:
                return scanner.scan(data, source="file", path=task.relpath, root=task.root), None, len(head)
            result = BlobResult()
            total = 0
            for chunk, line_offset in _chunks(fh, data):
                total += len(chunk)
                part = scanner.scan(chunk, source="file", path=task.relpath, root=task.root, line_offset=line_offset)
                result.detected.extend(part.detected)
            return result, Skip(source="file", target=task.relpath, reason="streamed",
                                detail=f"larger than {max_bytes >> 20} MB: scanned in chunks as text, "
                                       "structure pass skipped"), total
    except OSError as exc:
        return BlobResult(), Skip(source="file", target=task.relpath, reason="unreadable",
                                  detail=exc.strerror or exc.__class__.__name__), 0


@dataclass(slots=True)
class Tally:
    """What a series of scanned files produced: matches, references, skips and counts."""

    detected: list[Detected] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    files: int = 0
    nbytes: int = 0

    def add(self, res: BlobResult, skip: Skip | None, n: int) -> None:
        """Count one file's result from ``scan_file``."""
        self.detected.extend(res.detected)
        self.references.extend(res.references)
        self.skipped.extend(res.skipped)
        if skip is not None:
            self.skipped.append(skip)
        if skip is None or skip.reason in ("streamed", "binary"):
            self.files += 1
            self.nbytes += n


# Worker state, inherited by fork (the compiled matcher is not rebuilt in each process).
_WORKER: BlobScanner | None = None
_WORKER_MAX = 0


def _scan_batch(tasks: list[FileTask]) -> list[tuple[BlobResult, Skip | None, int]]:
    assert _WORKER is not None
    return [scan_file(_WORKER, t, _WORKER_MAX) for t in tasks]


def _batches(tasks: list[FileTask], target_bytes: int = 4 << 20) -> Iterator[list[FileTask]]:
    batch: list[FileTask] = []
    size = 0
    for t in tasks:
        batch.append(t)
        size += t.size
        if size >= target_bytes or len(batch) >= 512:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


class FileSource:
    """Files and directories on disk."""

    name = "files"

    def __init__(self, targets: Sequence[Path], *, exclude: Sequence[str] = (), max_file_mb: float = 50.0,
                 jobs: int = 0, progress: bool | None = None, include_deps: bool = False) -> None:
        self.targets = tuple(targets)
        self.include_deps = include_deps
        self.exclude = tuple(exclude)
        self.max_bytes = int(max_file_mb * (1 << 20))
        self.jobs = jobs
        self.progress = _progress_enabled() if progress is None else progress

    def scan(self, scanner: BlobScanner, hasher: SecretHasher) -> SourceResult:
        """Scan every file; two processes when the tree is large enough to pay for them."""
        t0 = time.perf_counter()
        tasks, skips = walk(self.targets, self.exclude, self.include_deps)
        total = sum(t.size for t in tasks)
        jobs = self.jobs or (min(os.cpu_count() or 1, 2) if total >= PARALLEL_MIN_BYTES else 1)
        results: list[tuple[BlobResult, Skip | None, int]] = []
        bar = _Progress(total) if self.progress and total > (64 << 20) else None
        if jobs > 1 and len(tasks) > 1 and hasattr(os, "fork"):
            global _WORKER, _WORKER_MAX
            _WORKER, _WORKER_MAX = scanner, self.max_bytes
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                for batch_result in pool.map(_scan_batch, _batches(tasks)):
                    results.extend(batch_result)
                    if bar:
                        bar.advance(sum(r[2] for r in batch_result))
        else:
            for t in tasks:
                results.append(scan_file(scanner, t, self.max_bytes))
                if bar:
                    bar.advance(results[-1][2])
        if bar:
            bar.close()
        tally = Tally(skipped=skips)
        for item in results:
            tally.add(*item)
        stats = ScanStats(files_scanned=tally.files, bytes_scanned=tally.nbytes, seconds=time.perf_counter() - t0)
        return SourceResult(detected=tuple(tally.detected), references=tuple(tally.references),
                            skipped=tuple(tally.skipped), stats=stats,
                            scanned_anything=tally.files > 0
                            or (not tasks and all(s.reason == DEPENDENCY_SKIP for s in skips)))


class _Progress:
    """A progress bar on stderr for long scans (only on a terminal, never in CI logs)."""

    def __init__(self, total: int) -> None:
        import click

        self._bar = click.progressbar(length=total, label="scanning", file=sys.stderr, show_eta=True)
        self._bar.__enter__()

    def advance(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.__exit__(None, None, None)
