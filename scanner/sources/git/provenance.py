"""Provenance of each secret: the commit that introduced it, the last commit holding it, whether it is at HEAD
or in history only (and which commit removed it), the refs that reach it and every path.

A (path, blob) pair is introduced by a commit whose parents lack it; a secret is removed by a commit whose parent
holds it and which does not. Refs reaching a commit come from bitsets pushed to parents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scanner.detect.detector import Detected
from scanner.model import GitProvenance
from scanner.redact import SecretHasher
from scanner.sources.git.batch import (
    BatchOutcome,
    run_git,
)
from scanner.sources.git.log import Commit, History, Ref, list_refs

_EMPTY: frozenset[tuple[int, int]] = frozenset()


@dataclass(slots=True)
class TrackedSecret:
    fingerprint: str
    blobs: set[int] = field(default_factory=set)


def build_provenance(hist: History, outcome: BatchOutcome, git_dir: str, head: str | None, hasher: SecretHasher,
                branches: Sequence[str], complete: bool,
                root: str) -> tuple[list[Detected], dict[str, GitProvenance]]:
    """Expand each blob's hits to every (commit, path) that introduced it, and build provenance per fingerprint."""
    if not outcome.detected:
        return [], {}
    tracked = set(outcome.detected)
    live, intro = _propagate(hist, tracked)
    detected: list[Detected] = []
    secrets: dict[tuple[str, str], TrackedSecret] = {}
    for bid, ds in outcome.detected.items():
        events = intro.get(bid, [])
        for d in ds:
            m = d.match
            key = (m.rule_id, m.secret.value)
            s = secrets.get(key)
            if s is None:
                s = secrets[key] = TrackedSecret(hasher.fingerprint(m.rule_id, m.secret.value))
            s.blobs.add(bid)
            if not events:
                detected.append(d)
            for c, pid in events:
                loc = replace(m.location, path=hist.paths[pid], commit=c.sha, root=root)
                detected.append(replace(d, match=replace(m, location=loc)))
    refs = list_refs(git_dir, branches or None)
    ref_bits = _reach(hist, refs, head)
    head_blobs = None if head is None or head in live else _tree_blobs(git_dir, head, hist)
    git_map: dict[str, GitProvenance] = {}
    for s in secrets.values():
        prov = _secret_provenance(hist, s, live, intro, ref_bits, refs, head, head_blobs, complete, root)
        if prov is not None:
            git_map[s.fingerprint] = prov
    return detected, git_map


def _propagate(hist: History, tracked: set[int]) -> tuple[dict[str, frozenset[tuple[int, int]]],
                                                             dict[int, list[tuple[Commit, int]]]]:
    """Per commit, the tracked (path, blob) pairs in its tree; per blob, the (commit, path) events introducing it."""
    live: dict[str, frozenset[tuple[int, int]]] = {}
    intro: dict[int, list[tuple[Commit, int]]] = {}
    for c in reversed(hist.order):  # parents before children
        ps = [p for p in c.parents if p in live]
        base = live[ps[0]] if ps else _EMPTY
        key = ps[0] if ps else (c.parents[0] if c.parents else None)
        changes = [ch for ch in c.changes.get(key, ()) if ch[1] in tracked or ch[2] in tracked]
        if changes:
            cur = set(base)
            for pid, old, new in changes:
                cur.discard((pid, old))
                if new in tracked:
                    cur.add((pid, new))
            state = frozenset(cur)
        else:
            state = base
        live[c.sha] = state
        if not state or (len(ps) == 1 and state is base):
            continue
        for pair in state:
            if not any(pair in live[q] for q in ps):
                intro.setdefault(pair[1], []).append((c, pair[0]))
    return live, intro


def _reach(hist: History, refs: Sequence[Ref], head: str | None) -> dict[str, int]:
    """Bitsets of the refs reaching each commit: bit 0 is HEAD, bit i+1 is refs[i]."""
    bits: dict[str, int] = {}
    if head is not None:
        bits[head] = 1
    for i, r in enumerate(refs):
        bits[r.commit] = bits.get(r.commit, 0) | (1 << (i + 1))
    for c in hist.order:  # children before parents
        b = bits.get(c.sha, 0)
        if b:
            for p in c.parents:
                bits[p] = bits.get(p, 0) | b
    return bits


def _tree_blobs(git_dir: str, commit: str, hist: History) -> set[int]:
    out = run_git(["ls-tree", "-r", "-z", "--full-tree", commit], git_dir=git_dir, check=False).stdout
    found = set()
    for entry in out.split(b"\0"):
        parts = entry.partition(b"\t")[0].split(b" ")
        if len(parts) == 3 and parts[2] in hist.blob_ids:
            found.add(hist.blob_ids[parts[2]])
    return found


def _secret_provenance(hist: History, s: TrackedSecret, live: dict[str, frozenset[tuple[int, int]]],
                       intro: dict[int, list[tuple[Commit, int]]], ref_bits: dict[str, int], refs: Sequence[Ref],
                       head: str | None, head_blobs: set[int] | None, complete: bool,
                       root: str) -> GitProvenance | None:
    events = [(c, pid) for b in s.blobs for c, pid in intro.get(b, [])]
    if not events:
        return None

    def holds(sha: str) -> bool:
        return any(b in s.blobs for _, b in live.get(sha, _EMPTY))

    introduced = min((c for c, _ in events), key=Commit.age_key)
    containing = [c for c in hist.order if holds(c.sha)]
    last = max(containing, key=Commit.age_key) if containing else introduced
    if head is not None and head in live:
        at_head = holds(head)
    else:
        at_head = bool(head_blobs and head_blobs & s.blobs)
    bits = 0
    for c, _ in events:
        bits |= ref_bits.get(c.sha, 0)
    ref_names = tuple(sorted(r.name for i, r in enumerate(refs) if bits & (1 << (i + 1))))
    removed = None
    if not at_head:
        removals = [c for c in hist.order if not holds(c.sha) and any(holds(p) for p in c.parents)]
        on_head = [c for c in removals if ref_bits.get(c.sha, 0) & 1]
        pick = on_head or removals
        if pick:
            removed = max(pick, key=Commit.age_key).info()
    return GitProvenance(
        repo=root,
        introduced=introduced.info(),
        last_seen=last.info(),
        removed_by=removed,
        at_head=at_head,
        refs=ref_names,
        paths=tuple(sorted({hist.paths[pid] for _, pid in events})),
        history_complete=complete,
    )
