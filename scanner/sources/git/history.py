"""Git repositories: the working tree plus the history of every ref, each unique blob scanned once, and the
provenance of every finding (introducing commit, last commit holding it, at HEAD or history only, refs, paths).

How it works, in three passes and a constant number of git processes:

1. ``git log --all --pretty=raw --raw --diff-merges=separate --topo-order`` (one process, streamed; parsed in
   ``log``) lists every commit and, per parent, the blobs each one adds or removes at each path. New blobs are
   collected in order.
2. Every unique blob is read through one persistent ``git cat-file --batch`` per core (``batch``) and scanned
   once, under the path it was first seen at. Only blobs with a hit are kept.
3. For those blobs only, ``provenance`` propagates the state "which (path, blob) pairs are in this commit's tree"
   over the commit graph, parents first.

Working-tree files that are untracked or modified are scanned as files; tracked files that match HEAD are already
covered by HEAD's blobs, and a secret in both is one finding (findings group by rule and value).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from scanner.detect.detector import Detected
from scanner.errors import GitSourceError
from scanner.model import GitProvenance, Reference, ScanStats, Skip
from scanner.redact import SecretHasher
from scanner.sources.base import SourceResult
from scanner.sources.blob import BlobScanner
from scanner.sources.files import FileTask, Tally, _excluded, scan_file
from scanner.sources.git.batch import (
    BatchOutcome,
    BlobItem,
    display_path,
    first_error,
    git_cmd,
    run_git,
    scan_blobs,
    scan_blobs_parallel,
)
from scanner.sources.git.log import History, has_refs, parse_log, rev_parse
from scanner.sources.git.provenance import build_provenance

if TYPE_CHECKING:
    from scanner.sources.git.ledger import Ledger

PARALLEL_MIN_BLOBS = 1000  # below this, a second process costs more than it saves


class GitSource:
    """A repository's working tree and history (or a revision range for pre-push)."""

    name = "git"

    def __init__(self, path: Path, *, branches: Sequence[str] = (), since: str | None = None,
                 max_commits: int | None = None, history: bool = True, worktree: bool = True,
                 revisions: Sequence[str] | None = None, exclude: Sequence[str] = (), max_file_mb: float = 50.0,
                 jobs: int = 0, until: str | None = None, ledger: Ledger | None = None) -> None:
        self.path = path
        self.ledger = ledger  # scan repos --state: blobs already scanned clean are not read again
        self.clean_blobs: list[str] = []  # after scan(): blobs scanned now without a hit (for the ledger)
        self.known_clean = 0
        self.until = until
        self.branches = tuple(branches)
        self.since = since
        self.max_commits = max_commits
        self.history = history
        self.worktree = worktree
        self.revisions = tuple(revisions) if revisions is not None else None
        self.exclude = tuple(exclude)
        self.max_bytes = int(max_file_mb * (1 << 20))
        self.jobs = jobs

    # ------------------------------------------------------------------ repository

    def open(self) -> tuple[str, str | None, bool]:
        """(git dir, working tree or None, bare); GitSourceError when PATH is not a repository.

        Plain ``git rev-parse`` rather than GitPython: it answers the same question in 3 ms instead of the
        100 ms GitPython takes to import, and it gives git's own message (e.g. "dubious ownership") on failure.
        """
        if not self.path.exists():
            raise GitSourceError(f"{self.path}: no such file or directory")
        cwd = str(self.path if self.path.is_dir() else self.path.parent)
        proc = run_git(["rev-parse", "--absolute-git-dir", "--is-bare-repository"], cwd=cwd, check=False)
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if proc.returncode != 0 or len(lines) != 2:
            why = first_error(proc.stderr)
            if not why or "not a git repository" in why:
                raise GitSourceError(f"{self.path}: not a git repository (or any parent up to the filesystem root)")
            raise GitSourceError(f"{self.path}: cannot open the repository: {why}")
        git_dir, bare = lines[0], lines[1] == "true"
        work = None
        if not bare:
            top = run_git(["rev-parse", "--show-toplevel"], cwd=cwd, check=False)
            work = top.stdout.decode("utf-8", "surrogateescape").strip() or None if top.returncode == 0 else None
        return git_dir, work, bare or work is None

    # ------------------------------------------------------------------ scan

    def scan(self, scanner: BlobScanner, hasher: SecretHasher) -> SourceResult:
        """Scan history (unique blobs once) and the changed working-tree files; provenance per fingerprint."""
        t0 = time.perf_counter()
        git_dir, work, bare = self.open()
        root = work or git_dir
        notes: list[str] = []
        skipped: list[Skip] = []
        detected: list[Detected] = []
        stats_files = stats_bytes = 0
        references: list[Reference] = []
        head = rev_parse(git_dir, "HEAD^{commit}")
        if head is None and not has_refs(git_dir):
            notes.append("the repository has no commits yet; only working-tree files were scanned")
        shallow = run_git(["rev-parse", "--is-shallow-repository"], git_dir=git_dir,
                          check=False).stdout.strip() == b"true"
        git_map: dict[str, GitProvenance] = {}
        submodules: set[str] = set()
        commits = blobs = 0
        outcome = BatchOutcome()
        if self.history:
            hist, outcome = self._history(git_dir, root, scanner)
            commits, blobs = len(hist.order), outcome.scanned
            narrowed = bool(self.branches or self.since or self.until or self.max_commits
                            or self.revisions is not None)
            complete = not (shallow or narrowed or hist.error)
            if hist.error:
                skipped.append(Skip(source="git", target="history", reason="unreadable",
                                    detail=f"git log stopped early: {hist.error}"))
            if shallow:
                notes.append("shallow clone: history before the shallow boundary is not available, so "
                             "'introduced' may be the oldest commit present (history incomplete)")
            if narrowed and self.revisions is None:
                notes.append("history narrowed by --branch/--since/--until/--max-commits: provenance covers the scanned "
                             "commits only")
            submodules.update(hist.paths[pid] for pid in hist.submodules)
            if outcome.lfs_pointers:
                notes.append(f"{outcome.lfs_pointers} Git LFS pointer file(s) seen; LFS content is not fetched "
                             "or scanned")
            skipped.extend(outcome.skipped)
            detected, git_map = build_provenance(hist, outcome, git_dir, head, hasher, self.branches, complete, root)
        elif bare and head is not None:
            detected, outcome = self._head_tree(git_dir, head, root, scanner)
            skipped.extend(outcome.skipped)
            blobs = outcome.scanned
        if work is not None:
            submodules.update(gitlinks(work))
        if submodules:
            notes.append(f"{len(submodules)} submodule(s) not followed (listed as skipped); scan them with "
                         "--recurse-submodules or separately")
            skipped.extend(Skip(source="git", target=p, reason=SUBMODULE_SKIP,
                                detail="git submodule (gitlink): its content is another repository, not scanned")
                           for p in sorted(submodules))
        if work is not None and self.worktree:
            tally = self._worktree(work, scanner, everything=not self.history)
            detected.extend(tally.detected)
            skipped.extend(tally.skipped)
            references.extend(tally.references)
            stats_files, stats_bytes = tally.files, tally.nbytes
        stats = ScanStats(files_scanned=stats_files, bytes_scanned=stats_bytes + outcome.nbytes, blobs_scanned=blobs,
                          commits_scanned=commits, seconds=time.perf_counter() - t0)
        references[:0] = outcome.references
        return SourceResult(detected=tuple(detected), references=tuple(references), skipped=tuple(skipped),
                            stats=stats, git=git_map, notes=tuple(notes), scanned_anything=True)

    def _log_args(self) -> list[str]:
        args = ["log", "--pretty=raw", "--raw", "--no-abbrev", "--diff-merges=separate", "--no-renames",
                "--topo-order", "--no-decorate", "--no-color", "--no-ext-diff", "--no-textconv"]
        if self.since:
            args.append(f"--since={self.since}")
        if self.until:
            args.append(f"--until={self.until}")
        if self.max_commits:
            args.append(f"--max-count={self.max_commits}")
        if self.revisions is not None:
            args += list(self.revisions)
        elif self.branches:
            args += list(self.branches)
        else:
            args.append("--all")
        return args + ["--"]

    def _history(self, git_dir: str, root: str, scanner: BlobScanner) -> tuple[History, BatchOutcome]:
        for b in self.branches:
            if b.startswith("-") or rev_parse(git_dir, f"{b}^{{commit}}") is None:
                raise GitSourceError(f"--branch {b}: no such branch or revision in {root}")
        with tempfile.TemporaryFile() as err:
            env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
            proc = subprocess.Popen(git_cmd(self._log_args(), git_dir=git_dir), stdout=subprocess.PIPE, stderr=err,
                                    env=env, bufsize=1 << 20)
            assert proc.stdout is not None
            out: IO[bytes] = proc.stdout
            hist = parse_log(out, self.exclude)
            out.close()
            rc = proc.wait()
            if rc != 0:
                err.seek(0)
                msg = first_error(err.read()) or f"exit {rc}"
                if not hist.order and ("does not have any commits" in msg or "bad default revision" in msg):
                    msg = ""
                elif not hist.order and self.revisions is not None:
                    raise GitSourceError(f"cannot list the commits to scan: {msg}")
                hist.error = msg
        blob_of = list(hist.first_path)
        if self.ledger is not None:  # only blobs not already scanned clean under these rules
            known = self.ledger.known_clean(hist.blob_shas[b].decode("ascii") for b in blob_of)
            self.known_clean = len(known)
            blob_of = [b for b in blob_of if hist.blob_shas[b].decode("ascii") not in known]
        items = [BlobItem(hist.blob_shas[b], hist.paths[hist.first_path[b]]) for b in blob_of]
        jobs = self.jobs or (min(os.cpu_count() or 1, 2) if len(items) >= PARALLEL_MIN_BLOBS else 1)
        outcome = scan_blobs_parallel(git_dir, items, scanner, source="git", root=root, max_bytes=self.max_bytes,
                                      jobs=jobs)
        if self.ledger is not None:  # clean = read, no hit, nothing said about its path (skips stay reproducible)
            said = {sk.target for sk in outcome.skipped}
            self.clean_blobs = [items[i].spec.decode("ascii") for i in range(len(items))
                                if i not in outcome.detected and items[i].path not in said]
        # re-key detections from item index to blob id
        outcome.detected = {blob_of[i]: ds for i, ds in outcome.detected.items()}
        return hist, outcome

    def _head_tree(self, git_dir: str, head: str, root: str,
                   scanner: BlobScanner) -> tuple[list[Detected], BatchOutcome]:
        """--no-history in a bare repository: the blobs of HEAD's tree."""
        out = run_git(["ls-tree", "-r", "-z", "--full-tree", head], git_dir=git_dir).stdout
        items = []
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split(b" ")
            if len(parts) == 3 and parts[1] == b"blob":
                p = display_path(path)
                if not _excluded(p, self.exclude):
                    items.append(BlobItem(parts[2], p))
        outcome = scan_blobs(git_dir, items, range(len(items)), scanner, source="git", root=root,
                             max_bytes=self.max_bytes, commit=head)
        return [d for ds in outcome.detected.values() for d in ds], outcome

    def _worktree(self, work: str, scanner: BlobScanner, *,
                  everything: bool) -> Tally:
        """Untracked (not ignored) and modified files; with ``everything``, every tracked file too."""
        if everything:
            out = run_git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=work).stdout
            rels = [p for p in out.split(b"\0") if p]
        else:
            out = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
                           "--ignore-submodules=all"], cwd=work).stdout
            rels = [e[3:] for e in out.split(b"\0") if len(e) > 3]
        tally = Tally()
        for raw in dict.fromkeys(rels):
            full = os.path.join(os.fsencode(work), raw)
            rel = display_path(raw)
            if _excluded(rel, self.exclude) or os.path.islink(full) or not os.path.isfile(full):
                continue
            tally.add(*scan_file(scanner, FileTask(os.fsdecode(full), rel, work, os.path.getsize(full)),
                                 self.max_bytes))
        return tally


SUBMODULE_SKIP = "submodule-not-followed"


def gitlinks(work: str) -> list[str]:
    """Paths of the submodules (gitlinks, mode 160000) in a working tree's index."""
    out = run_git(["ls-files", "-s", "-z"], cwd=work, check=False).stdout
    paths = []
    for entry in out.split(b"\0"):
        meta, _, raw = entry.partition(b"\t")
        if meta.startswith(b"160000 "):
            paths.append(display_path(raw))
    return paths
