"""Compile a RuleSet once into one multi-pattern scan; report exact, linear-time matches.

Two engines give the same results:

* ``hyperscan`` (fast path, x86-64 and macOS wheels): one Hyperscan database of every rule reports match end
  offsets in a single pass; each hit is confirmed and its capture group extracted by RE2 on the lines around it.
  The compiled database is cached on disk, so the pre-commit hook does not pay the compile time.
* ``re2`` (portable path): an Aho-Corasick automaton over the rules' keywords selects candidate rules for a
  chunk, and RE2 runs only those.

Both engines run RE2 with ``(?m)`` so ``^``/``$`` mean line boundaries everywhere. RE2 and Hyperscan are
automata engines with no backtracking, so a hostile 10 MB line scans in linear time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scanner.detect.ruleset import Rule, RuleSet

ENGINES = ("auto", "hyperscan", "re2")
_LONG_LINE = 8192  # window cap on very long lines (minified files)


@dataclass(frozen=True, slots=True)
class RawHit:
    """A confirmed regex match of one rule: byte spans of the whole match and of the secret group."""

    rule: Rule
    start: int
    end: int
    match_start: int
    match_end: int


def re2_options() -> Any:
    """RE2 options: quiet on errors, enough memory for large alternations."""
    import re2

    opts = re2.Options()
    opts.log_errors = False
    opts.max_mem = 64 << 20
    return opts


def compile_re2(pattern: str) -> Any:
    """Compile a rule pattern with RE2 in line mode; raises ``re2.error`` on unsupported syntax."""
    import re2

    return re2.compile(("(?m)" + pattern).encode("utf-8"), re2_options())


def hyperscan_available() -> bool:
    """Whether the hyperscan wheel imports on this machine."""
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def _prefilter_ids(payload: bytes, allowed: frozenset[int]) -> frozenset[int] | None:
    """The prefilter sidecar: a JSON list of rule indexes, each one of the database's; else None."""
    try:
        ids = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(ids, list) or not all(type(i) is int and i in allowed for i in ids):
        return None
    return frozenset(ids)


class Matcher:
    """All rules of a RuleSet, compiled once. ``scan(data)`` returns every match in ``data``."""

    def __init__(self, ruleset: RuleSet, engine: str = "auto", *, structure_rules: bool = False) -> None:
        """``structure_rules=True`` makes ``scan`` also run structure-only rules (used to check their examples)."""
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}")
        self.rules: tuple[Rule, ...] = ruleset.rules
        self._re2: list[Any] = [None] * len(self.rules)
        self._structure = tuple(i for i, r in enumerate(self.rules) if r.structure_only)
        self._with_structure = structure_rules
        if engine == "auto":
            engine = "hyperscan" if hyperscan_available() else "re2"
        self.engine = engine
        self._hs_db: Any = None
        self._automaton: Any = None
        self._always: tuple[int, ...] = ()
        self._prefilter: frozenset[int] = frozenset()
        if engine == "hyperscan":
            self._hs_db = self._hyperscan_db()
        else:
            self._build_automaton()

    # ------------------------------------------------------------------ compile

    def regex(self, index: int) -> Any:
        """RE2 for rule ``index``, compiled on first use (most rules never hit a given commit)."""
        rx = self._re2[index]
        if rx is None:
            rx = self._re2[index] = compile_re2(self.rules[index].pattern)
        return rx

    def _hyperscan_db(self) -> Any:
        import hyperscan as hs

        from scanner.detect import cachefiles

        text_idx = [i for i, r in enumerate(self.rules) if not r.structure_only]
        if not text_idx:
            return None
        patterns = [self.rules[i].pattern.encode("utf-8") for i in text_idx]
        source = hashlib.sha256(b"v3\0" + " ".join(map(str, text_idx)).encode() + b"\0" + b"\0".join(patterns)
                                + str(getattr(hs, "__version__", "")).encode()).hexdigest()
        name = f"hs-{source[:24]}"
        # Both files are tagged and checked (scanner/detect/cachefiles.py) before hs.loadb sees a byte.
        blob = cachefiles.read(f"{name}.hsdb", "hyperscan-db", source)
        side = cachefiles.read(f"{name}.prefilter.json", "hyperscan-prefilter", source) if blob else None
        prefilter = _prefilter_ids(side, frozenset(text_idx)) if side is not None else None
        if blob is not None and prefilter is not None:
            try:
                db = hs.loadb(blob, hs.HS_MODE_BLOCK)
                db.scratch = hs.Scratch(db)  # a loaded database has no scratch space yet
                self._prefilter = prefilter
                return db
            except (hs.error, TypeError, ValueError):
                cachefiles.note(f"cache file {name}.hsdb does not load; ignored and rebuilt")
        flags = []
        for p in patterns:  # patterns Hyperscan cannot compile exactly still prefilter (RE2 confirms)
            f = hs.HS_FLAG_MULTILINE
            try:
                probe = hs.Database(mode=hs.HS_MODE_BLOCK)
                probe.compile(expressions=[p], ids=[0], elements=1, flags=[f])
            except hs.error:
                f |= hs.HS_FLAG_PREFILTER
            flags.append(f)
        self._prefilter = frozenset(text_idx[i] for i, f in enumerate(flags) if f & hs.HS_FLAG_PREFILTER)
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=patterns, ids=text_idx, elements=len(patterns), flags=flags)
        cachefiles.write(f"{name}.prefilter.json", "hyperscan-prefilter", source,
                         json.dumps(sorted(self._prefilter)).encode())
        cachefiles.write(f"{name}.hsdb", "hyperscan-db", source, hs.dumpb(db))
        return db

    def _build_automaton(self) -> None:
        import ahocorasick

        auto = ahocorasick.Automaton()
        always = []
        owners: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            if rule.structure_only:
                continue
            if not rule.keywords:
                always.append(i)
            for kw in rule.keywords:
                owners.setdefault(kw, []).append(i)
        for kw, idx in owners.items():
            auto.add_word(kw, tuple(idx))
        if owners:
            auto.make_automaton()
            self._automaton = auto
        self._always = tuple(always)

    # ------------------------------------------------------------------ scan

    def scan(self, data: bytes) -> list[RawHit]:
        """Every match of every rule in ``data``, sorted by position."""
        if not data:
            return []
        if self.engine == "hyperscan":
            hits = self._scan_hyperscan(data) if self._hs_db is not None else []
        else:
            hits = self._scan_re2(data)
        if self._with_structure:
            hits.extend(self.scan_structure(data))
        hits.sort(key=lambda h: (h.start, h.rule.id))
        return hits

    def scan_structure(self, data: bytes) -> list[RawHit]:
        """Matches of the structure-only rules (key-name rules), which the structure pass runs on ``name=value``
        lines it builds itself; RE2 only, after a keyword check."""
        if not self._structure or not data:
            return []
        low = data.lower()
        out: list[RawHit] = []
        whole = ((0, len(data)),)
        for i in self._structure:
            if any(k.encode() in low for k in self.rules[i].keywords):
                out.extend(self._extract(i, data, whole, None))
        return out

    def _extract(self, index: int, data: bytes, spans: Iterable[tuple[int, int]], ends: set[int] | None) -> list[RawHit]:
        rule = self.rules[index]
        rx = self.regex(index)
        group = rule.secret_group
        out = []
        for lo, hi in spans:
            for m in rx.finditer(data, lo, hi):
                if ends is not None and m.end() not in ends and not rule.multiline:
                    continue
                s, e = m.span(group) if group <= rx.groups else m.span()
                if s < 0 or e <= s:
                    continue
                out.append(RawHit(rule, s, e, m.start(), m.end()))
        return out

    def _scan_re2(self, data: bytes) -> list[RawHit]:
        candidates = set(self._always)
        if self._automaton is not None:
            low = data.lower().decode("latin-1")  # 1:1 byte mapping keeps offsets meaningless but cheap
            for _, idx in self._automaton.iter(low):
                candidates.update(idx)
        out: list[RawHit] = []
        whole = ((0, len(data)),)
        for i in sorted(candidates):
            out.extend(self._extract(i, data, whole, None))
        return out

    def _scan_hyperscan(self, data: bytes) -> list[RawHit]:
        ends: dict[int, set[int]] = {}

        def on_match(rule_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            ends.setdefault(rule_id, set()).add(to)

        self._hs_db.scan(data, match_event_handler=on_match)
        out: list[RawHit] = []
        n = len(data)
        for i, rule_ends in ends.items():
            if self.rules[i].multiline or i in self._prefilter:
                out.extend(self._extract(i, data, ((0, n),), None))
                continue
            out.extend(self._extract(i, data, _windows(data, sorted(rule_ends)), rule_ends))
        return out


def _windows(data: bytes, ends: list[int]) -> list[tuple[int, int]]:
    """Merged line windows (the line of each hit and the one before it) around match end offsets."""
    spans: list[tuple[int, int]] = []
    n = len(data)
    for to in ends:
        last = max(to - 1, 0)
        line_start = data.rfind(b"\n", 0, last) + 1
        prev_start = data.rfind(b"\n", 0, max(line_start - 1, 0)) + 1 if line_start > 0 else 0
        line_end = data.find(b"\n", to)
        line_end = n if line_end < 0 else line_end
        lo = prev_start if last - prev_start <= _LONG_LINE else max(line_start, last - _LONG_LINE)
        hi = line_end if line_end - to <= _LONG_LINE else to + 1
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans
