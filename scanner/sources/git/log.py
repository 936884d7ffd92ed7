"""The history as data: commits, the blobs each adds or removes per parent, and the refs (one streamed
``git log --raw``; ``git for-each-ref``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from scanner.model import CommitInfo
from scanner.sources.files import _excluded
from scanner.sources.git.batch import (
    display_path,
    run_git,
    unquote_path,
)


@dataclass(slots=True)
class Commit:
    sha: str
    index: int  # position in --topo-order output: 0 is the newest
    parents: tuple[str, ...] = ()
    author: str = ""
    author_date: datetime | None = None
    committer_date: datetime | None = None
    # changes against each parent (None: the root commit's diff against the empty tree): (path, old, new) ids
    changes: dict[str | None, list[tuple[int, int, int]]] = field(default_factory=dict)

    def info(self) -> CommitInfo:
        epoch = datetime.fromtimestamp(0, UTC)
        return CommitInfo(sha=self.sha, author=self.author, author_date=self.author_date or epoch,
                          committer_date=self.committer_date or epoch)

    def age_key(self) -> tuple[datetime, datetime, int]:
        """Sort key, oldest first: committer date, author date, then topology (ancestors come later in the log)."""
        epoch = datetime.fromtimestamp(0, UTC)
        return (self.committer_date or epoch, self.author_date or epoch, -self.index)


@dataclass(slots=True)
class History:
    commits: dict[str, Commit] = field(default_factory=dict)
    order: list[Commit] = field(default_factory=list)  # topo order, newest first
    blob_ids: dict[bytes, int] = field(default_factory=lambda: {b"": 0})
    blob_shas: list[bytes] = field(default_factory=lambda: [b""])
    paths: list[str] = field(default_factory=list)
    path_ids: dict[bytes, int] = field(default_factory=dict)
    first_path: dict[int, int] = field(default_factory=dict)  # blob id -> path id where first seen (insertion order)
    submodules: set[int] = field(default_factory=set)
    error: str = ""

    def blob(self, sha: bytes) -> int:
        if not sha.strip(b"0"):
            return 0
        bid = self.blob_ids.get(sha)
        if bid is None:
            bid = self.blob_ids[sha] = len(self.blob_shas)
            self.blob_shas.append(sha)
        return bid

    def path(self, raw: bytes) -> int:
        pid = self.path_ids.get(raw)
        if pid is None:
            pid = self.path_ids[raw] = len(self.paths)
            self.paths.append(display_path(raw))
        return pid


def _tz(raw: bytes) -> timezone:
    sign = -1 if raw.startswith(b"-") else 1
    digits = raw.lstrip(b"+-")
    try:
        minutes = int(digits[:2]) * 60 + int(digits[2:4])
    except ValueError:
        minutes = 0
    return timezone(timedelta(minutes=sign * minutes))


def _ident(rest: bytes) -> tuple[str, datetime | None]:
    """'Name <email> 1700000000 +0100' -> ('Name <email>', aware datetime)."""
    parts = rest.rsplit(b" ", 2)
    if len(parts) != 3:
        return rest.decode("utf-8", "replace"), None
    who, ts, tz = parts
    try:
        when = datetime.fromtimestamp(int(ts), _tz(tz))
    except (ValueError, OverflowError, OSError):
        when = None
    return who.decode("utf-8", "replace"), when


def parse_log(stream: Iterable[bytes], exclude: Sequence[str] = ()) -> History:
    """Read ``git log --pretty=raw --raw --diff-merges=separate`` output into commits and blob changes."""
    h = History()
    cur: Commit | None = None
    key: str | None = None
    in_header = fresh = False
    frm: str | None = None
    for line in stream:
        if line.startswith(b"commit "):
            rest = line[7:].rstrip(b"\n")
            sha_b, sep, tail = rest.partition(b" (from ")
            sha = sha_b.decode("ascii", "replace")
            frm = tail.rstrip(b")").decode("ascii", "replace") if sep else None
            cur = h.commits.get(sha)
            fresh = cur is None
            if cur is None:
                cur = h.commits[sha] = Commit(sha=sha, index=len(h.order))
                h.order.append(cur)
            in_header, key = True, None
            continue
        if cur is None:
            continue
        if in_header:
            if line == b"\n":
                in_header = False
                key = frm if frm is not None else (cur.parents[0] if cur.parents else None)
            elif fresh and line.startswith(b"parent "):
                cur.parents += (line[7:].strip().decode("ascii", "replace"),)
            elif fresh and line.startswith(b"author "):
                cur.author, cur.author_date = _ident(line[7:].rstrip(b"\n"))
            elif fresh and line.startswith(b"committer "):
                _, cur.committer_date = _ident(line[10:].rstrip(b"\n"))
            continue
        if not line.startswith(b":"):
            continue  # message (indented) or blank
        meta, _, raw_path = line[1:].rstrip(b"\n").partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) < 5:
            continue
        mode_old, mode_new, old, new = parts[0], parts[1], parts[2], parts[3]
        path_b = unquote_path(raw_path)
        if mode_old == b"160000" or mode_new == b"160000":
            h.submodules.add(h.path(path_b))
            continue
        pid = h.path(path_b)
        if exclude and _excluded(h.paths[pid], exclude):
            continue
        new_id = h.blob(new)
        cur.changes.setdefault(key, []).append((pid, h.blob(old), new_id))
        if new_id:
            h.first_path.setdefault(new_id, pid)
    return h


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    commit: str


def list_refs(git_dir: str, names: Sequence[str] | None) -> list[Ref]:
    """Branches, tags (peeled), remote-tracking refs and others, or only the named ones."""
    out = run_git(["for-each-ref", "--format=%(objectname) %(*objectname) %(refname)"], git_dir=git_dir).stdout
    refs = []
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 2:  # no peeled object: "<sha> <refname>" after split of an empty %(*objectname)
            sha, name = parts[0], parts[1]
        elif len(parts) == 3:
            sha, peeled, name = parts
            sha = peeled or sha
        else:
            continue
        refs.append(Ref(name.strip(), sha))
    if names:
        wanted = set(names)
        refs = [r for r in refs if r.name in wanted or r.name.split("/", 2)[-1] in wanted]
    return refs


def rev_parse(git_dir: str, *args: str) -> str | None:
    proc = run_git(["rev-parse", "-q", "--verify", *args], git_dir=git_dir, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("ascii", "replace").strip() or None


def has_refs(git_dir: str) -> bool:
    return bool(run_git(["for-each-ref", "--count=1"], git_dir=git_dir, check=False).stdout.strip())
