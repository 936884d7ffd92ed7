"""What is about to be committed: the staged blobs in the index, read through one ``git cat-file --batch``.

Never the working tree (pre-commit may have stashed unstaged edits, and ``git commit -a`` uses a temporary index
named by ``GIT_INDEX_FILE``, which git passes to the hook and we honour). No GitPython: the hook must start fast.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from scanner.errors import GitSourceError
from scanner.model import ScanStats
from scanner.redact import SecretHasher
from scanner.sources.base import SourceResult
from scanner.sources.blob import BlobScanner
from scanner.sources.git.batch import BlobItem, display_path, run_git, scan_blobs

NOTHING_STAGED = "nothing staged: no added or modified files in the index, nothing to scan"


def locate(cwd: Path) -> tuple[str, str]:
    """(working tree root, git dir) for ``cwd``, in one git call; GitSourceError outside a working tree."""
    if not cwd.exists():
        raise GitSourceError(f"{cwd}: no such file or directory")
    proc = run_git(["rev-parse", "--show-toplevel", "--absolute-git-dir"], cwd=str(cwd), check=False)
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode != 0 or len(lines) != 2 or not lines[0]:
        raise GitSourceError(f"{cwd}: not inside a git working tree, so there is no index to read")
    return lines[0], lines[1]


def toplevel(cwd: Path) -> str:
    """The working tree root containing ``cwd``; GitSourceError outside a working tree."""
    return locate(cwd)[0]


def _index_error(exc: GitSourceError) -> GitSourceError:
    return GitSourceError(f"cannot read the git index (nothing was scanned): {exc}")


class StagedSource:
    """The staged content of the given files, or of every added/modified file in the index."""

    name = "staged"

    def __init__(self, cwd: Path, files: Sequence[str] = (), *, exclude: Sequence[str] = (),
                 max_file_mb: float = 50.0) -> None:
        self.cwd = cwd
        self.files = tuple(files)
        self.exclude = tuple(exclude)
        self.max_bytes = int(max_file_mb * (1 << 20))
        self._where: tuple[str, str] | None = None

    def locate(self) -> tuple[str, str]:
        """(working tree root, git dir), looked up once."""
        if self._where is None:
            self._where = locate(self.cwd)
        return self._where

    def _entries(self, top: str) -> tuple[list[tuple[bytes, bytes]], list[bytes], int]:
        """(path, blob sha) of what to read from the index, given files not in the index, submodule count."""
        gitlinks = 0
        entries: list[tuple[bytes, bytes]] = []
        if not self.files:
            try:
                out = run_git(["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=d",
                               "--ignore-submodules=none"], cwd=top).stdout
            except GitSourceError as exc:
                raise _index_error(exc) from None
            fields = out.split(b"\0")
            for meta, path in zip(fields[0::2], fields[1::2], strict=False):
                parts = meta.split(b" ")
                if len(parts) < 5:
                    continue
                if parts[1] == b"160000":
                    gitlinks += 1
                    continue
                entries.append((path, parts[3]))
            return entries, [], gitlinks
        wanted = []
        for f in self.files:
            absf = os.path.abspath(os.path.join(os.fsencode(self.cwd), os.fsencode(f)))
            wanted.append(os.path.relpath(absf, os.fsencode(top)).replace(os.sep.encode(), b"/"))
        try:
            out = run_git([b"--literal-pathspecs", b"ls-files", b"-s", b"-z", b"--full-name", b"--", *wanted],
                          cwd=top).stdout
        except GitSourceError as exc:
            raise _index_error(exc) from None
        staged: dict[bytes, tuple[bytes, bytes]] = {}
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split(b" ")
            if len(parts) == 3 and (path not in staged or parts[2] in (b"0", b"2")):
                staged[path] = (parts[0], parts[1])
        missing = []
        for w in dict.fromkeys(wanted):
            hit = staged.get(w)
            if hit is None:
                missing.append(w)
            elif hit[0] == b"160000":
                gitlinks += 1
            else:
                entries.append((w, hit[1]))
        return entries, missing, gitlinks

    def scan(self, scanner: BlobScanner, hasher: SecretHasher) -> SourceResult:
        """Scan the staged blobs; say so when nothing is staged; fail loudly when the index cannot be read."""
        t0 = time.perf_counter()
        top, git_dir = self.locate()
        entries, missing, gitlinks = self._entries(top)
        items = [BlobItem(sha, display_path(p)) for p, sha in entries]
        if self.exclude:
            from scanner.sources.files import _excluded

            items = [it for it in items if not _excluded(it.path, self.exclude)]
        notes: list[str] = []
        if not items and not missing and not self.files:
            notes.append(NOTHING_STAGED)
        outcome = scan_blobs(git_dir, items, range(len(items)), scanner, source="staged", root=top,
                             max_bytes=self.max_bytes)
        detected = [d for ds in outcome.detected.values() for d in ds]
        skipped = list(outcome.skipped)
        files = outcome.scanned
        nbytes = outcome.nbytes
        references = list(outcome.references)
        if missing:  # named on the command line but not in the index (untracked): the file itself
            from scanner.sources.files import FileTask, Tally, _excluded, scan_file

            tally = Tally()
            for raw in missing:
                rel = display_path(raw)
                full = os.path.join(os.fsencode(top), raw)
                if _excluded(rel, self.exclude) or not os.path.isfile(full):
                    continue
                tally.add(*scan_file(scanner, FileTask(os.fsdecode(full), rel, top, os.path.getsize(full)),
                                     self.max_bytes))
            detected.extend(tally.detected)
            skipped.extend(tally.skipped)
            references.extend(tally.references)
            files += tally.files
            nbytes += tally.nbytes
            notes.append(f"{len(missing)} named file(s) are not in the index; their working-tree content was scanned")
        if gitlinks:
            notes.append(f"{gitlinks} submodule(s) not followed")
        for s in outcome.skipped:
            if s.reason == "missing-object":
                raise GitSourceError(f"cannot read staged content of {s.target}: {s.detail}")
        stats = ScanStats(files_scanned=files, bytes_scanned=nbytes, seconds=time.perf_counter() - t0)
        return SourceResult(detected=tuple(detected), references=tuple(references), skipped=tuple(skipped),
                            stats=stats, notes=tuple(notes), scanned_anything=True)
