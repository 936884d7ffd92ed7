"""Scan walked values: every rule over ``name=value`` lines, key-name rules over literal secret-named values,
and references listed instead of reported. Lines and columns point into the original file."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from scanner.detect.detector import ALLOW_MARKER, Detected, detect, keep_reason
from scanner.detect.matcher import Matcher, RawHit
from scanner.model import Location, Match, Reference, Secret
from scanner.structure import decode, jsonparse
from scanner.structure.keynames import is_placeholder, is_secret_name, reference_kind
from scanner.structure.nodes import ParseError, Value
from scanner.structure.walker import Walker

_URL_CREDS = re.compile(r"^[a-z][a-z0-9+.-]*://([^/\s:@]{0,200}):([^@\s/]{1,300})@", re.I)
_PROVIDER_PROBE = "Zq8xK2mP9vL4nR7tW1yB3cD5"
MAX_NESTED = 2


@dataclass(slots=True)
class _Segment:
    value: Value
    text: str
    decoded: str | None
    group: int
    start_line: int  # 1-based buffer line where ``text`` starts
    prefix: int  # characters before ``text`` on that line


@dataclass(slots=True)
class _Context:
    matcher: Matcher
    lines: list[str]
    source: str
    path: str
    root: str | None
    commit: str | None
    budget: decode.FileBudget = field(default_factory=decode.FileBudget)
    providers: dict[str, str | None] = field(default_factory=dict)


class _Buffer:
    """``name=value`` lines for one matcher run, and the way back from a buffer line to a value."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[_Segment] = []
        self.starts: list[int] = []
        self.line = 1

    def add(self, value: Value, text: str, decoded: str | None, group: int) -> None:
        prefix = value.name + "="
        self.segments.append(_Segment(value, text, decoded, group, self.line, len(prefix)))
        self.starts.append(self.line)
        self.parts.append(prefix + text + "\n")
        self.line += text.count("\n") + 1

    def data(self) -> bytes:
        return "".join(self.parts).encode("utf-8", "replace")

    def find(self, line: int) -> _Segment:
        return self.segments[bisect.bisect_right(self.starts, line) - 1]


def scan_values(matcher: Matcher, values: list[Value], text: str, *, source: str, path: str, root: str | None,
                commit: str | None, fmt: str,
                budget: decode.FileBudget | None = None) -> tuple[list[Detected], list[Reference]]:
    """Findings and references for the values of one file (``budget`` records what decoding left undone)."""
    ctx = _Context(matcher, text.split("\n"), source, path, root, commit, budget or decode.FileBudget())
    refs: list[Reference] = []
    buf = _Buffer()
    candidates: list[tuple[int, Value, str, str | None]] = []  # (group, value, text, decoded) for key-name rules
    work = list(values)
    group = 0
    while work:
        v = work.pop(0)
        group += 1
        if v.reference:
            refs.append(_reference(ctx, v, v.reference))
            continue
        if not v.text.strip():
            continue
        secretish = is_secret_name(v.name)
        ref = reference_kind(v.text) if secretish else None
        if ref:
            refs.append(_reference(ctx, v, ref))
        forms = [(v.text, v.decoded)]
        forms += [(t, f"{v.decoded}+{label}" if v.decoded else label)
                  for t, label in decode.variants(v.text, ctx.budget, hint=v.hint if v.hint == "base64" else None)]
        if v.hint == "base64" and len(forms) > 1:
            forms = forms[1:] + forms[:1]
        for form, label in forms:
            buf.add(v, form, label, group)
            if v.depth < MAX_NESTED and form[:1] in "{[" and form.rstrip()[-1:] in "}]" and len(form) < 1 << 20:
                work.extend(_nested(v, form, label, fmt))
        if secretish and not ref:
            ordered = forms if v.hint != "base64" else forms[:-1]
            for form, label in ordered:
                if "\n" not in form.strip() and len(form) <= 1024 and not is_placeholder(form):
                    candidates.append((group, v, form.strip(), label))
        for form, label in forms:
            m = _URL_CREDS.match(form)
            if m and not is_placeholder(m.group(2)):
                pw = decode.url(m.group(2)) or m.group(2)
                sub = Value(key_path=v.key_path, name=(v.key or "url") + ".password", key=v.key, text=pw,
                            line=v.line, column=v.column, end_line=v.end_line, decoded=label)
                candidates.append((group, sub, pw, label))
    generic: set[str] = {str(r.id) for r in matcher.rules if r.is_generic}
    by_group: dict[int, list[Detected]] = {}
    if buf.segments:
        for d in detect(matcher, buf.data(), source=source, path=path):
            seg = buf.find(d.match.location.line or 1)
            found = _place(ctx, seg, d)
            if found is not None:
                by_group.setdefault(seg.group, []).append(found)
    # Key-name rules run where no rule matched, and where only generic rules did: a provider inferred from the
    # name (OPENAI_API_KEY) beats "some API key"; a generic key-name hit never adds to a generic rule's.
    generic_only = {g for g, ds in by_group.items() if all(d.match.rule_id in generic for d in ds)}
    for g, d in _keyname(ctx, [c for c in candidates if c[0] not in by_group or c[0] in generic_only]):
        if g in by_group:
            if d.match.rule_id in generic:
                continue
            by_group[g] = []
        by_group.setdefault(g, []).append(d)
    return [d for ds in by_group.values() for d in _unshadowed(ds, generic)], _unique(refs)


def _unshadowed(ds: list[Detected], generic: set[str]) -> list[Detected]:
    """A generic rule's hit on a value a specific rule also matched is the same secret: keep the specific one."""
    specific = [d.match.secret.value for d in ds if d.match.rule_id not in generic]
    if not specific:
        return ds
    return [d for d in ds if d.match.rule_id not in generic
            or not any(v in d.match.secret.value or d.match.secret.value in v for v in specific)]


def _nested(v: Value, form: str, label: str | None, fmt: str) -> list[Value]:
    """Values of a JSON document held in a value (a service-account key, a docker config in a Secret)."""
    try:
        node = jsonparse.parse(form)
    except (ParseError, RecursionError):
        return []
    out = []
    for n in Walker(fmt).walk(node, [v.key_path]):
        n.line = v.line + (n.line - 1 if label is None else 0)
        n.end_line = max(n.line, v.end_line if label else n.line)
        n.column = n.column if label is None and n.line != v.line else v.column
        n.decoded = label if n.decoded is None else (f"{label}+{n.decoded}" if label else n.decoded)
        n.depth = v.depth + 1
        out.append(n)
    return out


def _line_and_column(ctx: _Context, seg: _Segment, secret: str, inner: int, offset: int) -> tuple[int, int | None]:
    v = seg.value
    first = secret.split("\n", 1)[0]
    start = v.line + (inner if seg.decoded is None else 0)
    last = max(start, v.end_line or v.line)
    if seg.decoded is None and first:
        for n in range(start, min(last, start + 500) + 1):
            if 0 < n <= len(ctx.lines):
                col = ctx.lines[n - 1].find(first)
                if col >= 0:
                    return n, col + 1
    if seg.decoded is None and inner == 0 and v.column:
        return start, v.column + offset
    return start, v.column or None


def _allowed(ctx: _Context, line: int) -> bool:
    marker = ALLOW_MARKER.decode()
    this = ctx.lines[line - 1] if 0 < line <= len(ctx.lines) else ""
    prev = ctx.lines[line - 2] if 1 < line <= len(ctx.lines) + 1 else ""
    return marker in this or "credsweep:allow-next-line" in prev


def _place(ctx: _Context, seg: _Segment, d: Detected) -> Detected | None:
    loc = d.match.location
    secret = d.match.secret.value
    inner = (loc.line or 1) - seg.start_line
    offset = (loc.column or 1) - 1 - (seg.prefix if inner == 0 else 0)
    if inner == 0 and offset < 0:
        return None  # the match starts in the name, not in the value
    line, column = _line_and_column(ctx, seg, secret, inner, offset)
    return _detected(ctx, seg.value, d.match.rule_id, secret, line, column, seg.decoded, d.match.validity)


def _detected(ctx: _Context, v: Value, rule_id: str, secret: str, line: int, column: int | None,
              decoded: str | None, validity: str | None) -> Detected:
    single = "\n" not in secret
    loc = Location(
        source=ctx.source, path=ctx.path, line=line, column=column,
        end_line=line + secret.count("\n") if decoded is None else line,
        end_column=column + len(secret) if column and single and decoded is None else None,
        commit=ctx.commit, key_path=v.key_path or None, decoded=decoded, root=ctx.root,
    )
    match = Match(rule_id=rule_id, secret=Secret(secret), location=loc,  # type: ignore[arg-type]
                  context_key=v.key or None, validity=validity)
    return Detected(match=match, allowed=_allowed(ctx, line))


def _keyname(ctx: _Context, candidates: list[tuple[int, Value, str, str | None]]) -> list[tuple[int, Detected]]:
    """Key-name rules over ``name=value`` lines of literal secret-named values; one finding per value at most."""
    if not candidates:
        return []
    lines = [f"{v.name}={form}\n" for _, v, form, _ in candidates]
    starts, pos = [], 0
    for text in lines:
        starts.append(pos)
        pos += len(text.encode("utf-8", "replace"))
    data = "".join(lines).encode("utf-8", "replace")
    order = {r.id: i for i, r in enumerate(ctx.matcher.rules)}
    best: dict[int, tuple[int, int, RawHit]] = {}
    for hit in ctx.matcher.scan_structure(data):
        i = bisect.bisect_right(starts, hit.start) - 1
        group = candidates[i][0]
        secret = data[hit.start : hit.end].decode("utf-8", "replace")
        if keep_reason(hit, secret, ctx.path) is not None:
            continue
        rank = (i, order[hit.rule.id])
        if group not in best or rank < best[group][:2]:
            best[group] = (*rank, hit)
    out = []
    for i, _rank, hit in best.values():
        group, v, form, label = candidates[i]
        secret = data[hit.start : hit.end].decode("utf-8", "replace")
        seg = _Segment(v, form, label, 0, 0, 0)
        line, column = _line_and_column(ctx, seg, secret, 0, form.find(secret))
        validity = "valid-" + hit.rule.validator if hit.rule.validator else None
        out.append((group, _detected(ctx, v, hit.rule.id, secret, line, column, label, validity)))
    return out


def _reference(ctx: _Context, v: Value, kind: str) -> Reference:
    loc = Location(source=ctx.source, path=ctx.path, line=v.line, column=v.column or None, commit=ctx.commit,
                   key_path=v.key_path or None, root=ctx.root)
    if v.name not in ctx.providers:  # the provider a name implies, from the key-name rules themselves
        probe = f"{v.name}={_PROVIDER_PROBE}\n".encode()
        hits = [h for h in ctx.matcher.scan_structure(probe) if h.rule.category != "generic"]
        ctx.providers[v.name] = hits[0].rule.provider if hits else None
    provider = ctx.providers[v.name]
    return Reference(location=loc, name=v.key or v.name, reference=kind, provider=provider)


def _unique(refs: list[Reference]) -> list[Reference]:
    seen: dict[tuple[object, ...], Reference] = {}
    for r in refs:
        seen.setdefault((r.location.line, r.location.key_path, r.name, r.reference), r)
    return list(seen.values())
