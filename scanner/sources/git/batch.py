"""Low-level git plumbing shared by the history and staged sources: run git, stream blobs through one persistent
``git cat-file --batch`` process, scan them, survive missing or corrupt objects.

Nothing here imports GitPython, so the pre-commit hook stays fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from scanner.detect.detector import Detected
from scanner.errors import GitSourceError
from scanner.model import Reference, Skip
from scanner.sources.blob import BINARY_DETAIL, BlobScanner, archive_kind, archive_skip, text_bytes

STREAM_CHUNK = 8 << 20  # huge blobs are scanned in chunks of whole lines
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_READ_BUF = 1 << 20
# Config that would change the output we parse is pinned per command.
_PINNED = ("-c", "core.quotePath=false", "-c", "log.showSignature=false", "-c", "log.showRoot=true",
           "-c", "color.ui=false", "-c", "core.fsmonitor=false")


def git_exe() -> str:
    """The git binary, or a GitSourceError when git is not installed."""
    exe = shutil.which("git")
    if exe is None:
        raise GitSourceError("git is not installed or not on PATH")
    return exe


def git_cmd(args: Sequence[str | bytes], *, git_dir: str | None = None) -> list[str | bytes]:
    """A full git command line with our pinned settings."""
    head: list[str | bytes] = [git_exe(), *_PINNED]
    if git_dir is not None:
        head += ["--git-dir", git_dir]
    return head + list(args)


def run_git(args: Sequence[str | bytes], *, cwd: str | None = None, git_dir: str | None = None,
            check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run one git command to completion; on failure raise GitSourceError with git's own first error line."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = subprocess.run(git_cmd(args, git_dir=git_dir), cwd=cwd, input=stdin, capture_output=True, env=env,
                          check=False)
    if check and proc.returncode != 0:
        raise GitSourceError(first_error(proc.stderr) or f"git {args[0]!s} failed (exit {proc.returncode})")
    return proc


def first_error(stderr: bytes) -> str:
    """The most telling line of git's stderr ('fatal: ...' first), decoded safely."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("fatal:", "error:")):
            return ln
    return lines[0] if lines else ""


def display_path(raw: bytes) -> str:
    """A repository path as text: UTF-8 where valid, ``\\xNN`` escapes for other bytes."""
    return raw.decode("utf-8", "backslashreplace")


_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13,
            ord('"'): 34, ord("\\"): 92}


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of unusual path names (``"a\\tb"``, ``"\\303\\251"``)."""
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == 92 and i + 1 < len(body):  # backslash
            nxt = body[i + 1]
            if 48 <= nxt <= 55 and i + 3 < len(body) + 1:
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


@dataclass(frozen=True, slots=True)
class BlobItem:
    """One object to read: what to ask cat-file for (a sha or ``:path``) and the path it is reported under."""

    spec: bytes
    path: str


@dataclass(slots=True)
class BatchOutcome:
    """What scanning a list of blobs produced. ``detected`` maps an item's index to its hits."""

    detected: dict[int, list[Detected]] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    scanned: int = 0
    nbytes: int = 0
    lfs_pointers: int = 0

    def merge(self, other: BatchOutcome) -> None:
        """Add another shard's outcome."""
        self.detected.update(other.detected)
        self.references.extend(other.references)
        self.skipped.extend(other.skipped)
        self.scanned += other.scanned
        self.nbytes += other.nbytes
        self.lfs_pointers += other.lfs_pointers


class _CatFile:
    """One ``git cat-file --batch`` process fed by a writer thread (so a long object list never deadlocks)."""

    def __init__(self, git_dir: str, specs: Sequence[bytes]) -> None:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        self.proc = subprocess.Popen(git_cmd(["cat-file", "--batch"], git_dir=git_dir), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     bufsize=_READ_BUF)
        assert self.proc.stdout is not None
        self.out: IO[bytes] = self.proc.stdout
        self._writer = threading.Thread(target=self._feed, args=(specs,), daemon=True)
        self._writer.start()

    def _feed(self, specs: Sequence[bytes]) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            for s in specs:
                stdin.write(s + b"\n")
            stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader notices the process is gone

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._writer.join(timeout=5)
        self.out.close()


def _read_exact(out: IO[bytes], n: int) -> bytes | None:
    data = out.read(n)
    return data if data is not None and len(data) == n else None


def _drain(out: IO[bytes], n: int) -> bool:
    while n > 0:
        part = out.read(min(n, STREAM_CHUNK))
        if not part:
            return False
        n -= len(part)
    return True


def scan_blobs(git_dir: str, items: Sequence[BlobItem], indices: Sequence[int], scanner: BlobScanner, *,
               source: str, root: str | None, max_bytes: int, commit: str | None = None) -> BatchOutcome:
    """Read the given items through one cat-file process and scan each once.

    A missing or corrupt object becomes a Skip; if git dies on a corrupt object a new process continues with the
    next item. Blobs over ``max_bytes`` are streamed in chunks, so memory stays bounded by the chunk size.
    """
    res = BatchOutcome()
    pos = 0
    while pos < len(indices):
        cat = _CatFile(git_dir, [items[i].spec for i in indices[pos:]])
        try:
            while pos < len(indices):
                idx = indices[pos]
                item = items[idx]
                ok = _one(cat.out, item, idx, scanner, res, source=source, root=root, max_bytes=max_bytes,
                          commit=commit)
                pos += 1
                if not ok:  # the process died mid-object: restart after it
                    res.skipped.append(Skip(source=source, target=item.path, reason="unreadable",
                                            detail=f"git could not read object {_short(item.spec)}"))
                    break
        finally:
            cat.close()
    return res


def _short(spec: bytes) -> str:
    text = spec.decode("utf-8", "backslashreplace")
    return text[:12] if not text.startswith(":") else "in the index"


def _one(out: IO[bytes], item: BlobItem, idx: int, scanner: BlobScanner, res: BatchOutcome, *, source: str,
         root: str | None, max_bytes: int, commit: str | None) -> bool:
    header = out.readline()
    if not header.endswith(b"\n"):
        return False
    parts = header.split()
    if len(parts) != 3:  # "<spec> missing" / "ambiguous"
        res.skipped.append(Skip(source=source, target=item.path, reason="missing-object",
                                detail=f"object {_short(item.spec)} is missing or corrupt; not scanned"))
        return True
    kind, size = parts[1], int(parts[2])
    if kind != b"blob":
        return _drain(out, size + 1)
    if size <= max_bytes:
        data = _read_exact(out, size)
        if data is None or out.read(1) != b"\n":
            return False
        if data.startswith(LFS_POINTER):
            res.lfs_pointers += 1
        archive = archive_kind(item.path, data)
        if archive is not None:
            res.skipped.append(archive_skip(source, item.path, archive))
            return True
        text = text_bytes(data)
        if text is None:
            res.skipped.append(Skip(source=source, target=item.path, reason="binary", detail=BINARY_DETAIL))
            found = scanner.scan_binary(data, source=source, path=item.path, root=root, commit=commit)
            if found.detected:
                res.detected[idx] = found.detected
            res.scanned += 1
            res.nbytes += size
            return True
        found = scanner.scan(text, source=source, path=item.path, root=root, commit=commit)
        if found.detected:
            res.detected[idx] = found.detected
        res.references.extend(found.references)
        res.skipped.extend(found.skipped)  # structure pass: a configuration blob that did not parse
        res.scanned += 1
        res.nbytes += size
        return True
    return _stream(out, item, idx, size, scanner, res, source=source, root=root, commit=commit, max_bytes=max_bytes)


def _stream(out: IO[bytes], item: BlobItem, idx: int, size: int, scanner: BlobScanner, res: BatchOutcome, *,
            source: str, root: str | None, commit: str | None, max_bytes: int) -> bool:
    left = size
    first = out.read(min(left, STREAM_CHUNK))
    if not first:
        return False
    left -= len(first)
    archive = archive_kind(item.path, first)
    if archive is not None or b"\0" in first[:8192]:
        res.skipped.append(archive_skip(source, item.path, archive) if archive is not None else Skip(
            source=source, target=item.path, reason="binary",
            detail=f"binary content (NUL bytes) larger than {max_bytes >> 20} MB; not scanned"))
        return _drain(out, left) and out.read(1) == b"\n"
    hits: list[Detected] = []
    line_offset = 0
    for chunk in _line_chunks(out, first, left):
        part = scanner.scan(chunk, source=source, path=item.path, root=root, commit=commit, line_offset=line_offset)
        hits.extend(part.detected)
        line_offset += chunk.count(b"\n")
    if out.read(1) != b"\n":
        return False
    if hits:
        res.detected[idx] = hits
    res.scanned += 1
    res.nbytes += size
    res.skipped.append(Skip(source=source, target=item.path, reason="streamed",
                            detail=f"larger than {max_bytes >> 20} MB: scanned in chunks as text, "
                                   "structure pass skipped"))
    return True


def _line_chunks(out: IO[bytes], first: bytes, left: int) -> Iterator[bytes]:
    carry = first
    while True:
        more = out.read(min(left, STREAM_CHUNK)) if left > 0 else b""
        left -= len(more)
        data = carry + more
        if not more:
            if data:
                yield data
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            cut = len(data) - 1
        yield data[: cut + 1]
        carry = data[cut + 1 :]


# Worker state for forked shards: inherited, never pickled (the compiled matcher stays in memory).
_SHARD: tuple[str, Sequence[BlobItem], BlobScanner, str, str | None, int] | None = None


def _scan_shard(task: tuple[int, int]) -> BatchOutcome:
    """Worker: scan items[lo:hi]."""
    assert _SHARD is not None
    git_dir, items, scanner, source, root, max_bytes = _SHARD
    lo, hi = task
    return scan_blobs(git_dir, items, range(lo, hi), scanner, source=source, root=root, max_bytes=max_bytes)


def scan_blobs_parallel(git_dir: str, items: Sequence[BlobItem], scanner: BlobScanner, *, source: str,
                        root: str | None, max_bytes: int, jobs: int) -> BatchOutcome:
    """Scan items on ``jobs`` cores: each forked worker runs its own cat-file over a contiguous shard.

    Contiguous, not interleaved: neighbouring items (in history order) are usually deltas of each other in the
    pack, and each cat-file process keeps its own delta-base cache.
    """
    if jobs <= 1 or len(items) < 2 or not hasattr(os, "fork"):
        return scan_blobs(git_dir, items, range(len(items)), scanner, source=source, root=root, max_bytes=max_bytes)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _SHARD
    _SHARD = (git_dir, items, scanner, source, root, max_bytes)
    try:
        ctx = multiprocessing.get_context("fork")
        total = BatchOutcome()
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            step = -(-len(items) // jobs)
            shards = [(lo, min(lo + step, len(items))) for lo in range(0, len(items), step)]
            for part in pool.map(_scan_shard, shards):
                total.merge(part)
        return total
    finally:
        _SHARD = None
