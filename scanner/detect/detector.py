"""Turn the bytes of one file or blob into Matches: regex hits, offline validity, filters, inline allows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from scanner.detect import filters, validators
from scanner.detect.matcher import Matcher, RawHit
from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import Rule
from scanner.model import Location, Match, Reference, Secret, Skip

ALLOW_MARKER = b"credsweep:allow"
_MAX_SECRET = 16384


@dataclass(frozen=True, slots=True, kw_only=True)
class Detected:
    """A match and whether an inline ``credsweep:allow`` covers it."""

    match: Match
    allowed: bool


@dataclass(slots=True)
class BlobResult:
    """What one blob produced: the detected matches, the references it names, and what could not be parsed."""

    detected: list[Detected] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)  # e.g. a configuration file the structure pass could not parse


def _secret_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def keep_reason(hit: RawHit, secret: str, path: str, lead: bytes = b"") -> str | None:
    """Why a raw hit is dropped, or None to keep it. ``lead`` is the matched text before the secret (the name)."""
    rule = hit.rule
    # cheapest checks first: generic rules see tens of thousands of candidates in a large tree
    if "needs-digit" in rule.filters and (not 8 <= len(secret) <= 255 or secret.isalpha()
                                          or not any(c.isdigit() for c in secret)):
        return "not-a-token-shape"  # checked here so the pattern stays a small automaton
    if rule.min_entropy is not None and filters.shannon_entropy(secret) < rule.min_entropy:
        return "low-entropy"
    if filters.is_known_example(secret):
        return "known-example"
    if filters.is_placeholder(secret, exact_prefix=_exact_prefix(rule, secret)):
        return "placeholder"
    if rule.validator:
        if validators.validate(rule.validator, secret) is False:
            return "invalid-" + rule.validator
    if rule.is_generic or "generic" in rule.filters:
        return filters.generic_noise(secret, path) or filters.generic_name_noise(lead.decode("utf-8", "replace"))
    if rule.context and filters.looks_like_identifier(secret):
        return "identifier"
    if rule.context and filters.is_resource_name(secret):
        return "resource-name"
    if "lock-files" in rule.filters and filters.is_lock_file(path):
        return "lock-file"
    return None


def _exact_prefix(rule: Rule, secret: str) -> str | None:
    """The public prefix of an exact-format key ("" for a checksummed token without one), or None for a value of
    unknown format (generic rules, rules without a fixed prefix), whose placeholders are judged by its words."""
    if rule.is_generic or "generic" in rule.filters:
        return None
    prefixes = public_prefixes(rule)
    if rule.validator and not prefixes:
        return ""
    return next((p for p in prefixes if secret.startswith(p)), None)


_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/")


def _name_start(data: bytes, start: int) -> int:
    """Extend a match backwards over the rest of the name it starts in (``page_`` of ``page_token``)."""
    i = start
    while i > 0 and start - i < 64 and data[i - 1] in _NAME_BYTES:
        i -= 1
    return i


def _line_info(data: bytes, offsets: Iterable[int]) -> dict[int, tuple[int, int, int]]:
    """offset -> (line number, line start, line end), counting newlines once in order."""
    out: dict[int, tuple[int, int, int]] = {}
    line, pos = 1, 0
    for off in sorted(set(offsets)):
        line += data.count(b"\n", pos, off)
        pos = off
        start = data.rfind(b"\n", 0, off) + 1
        end = data.find(b"\n", off)
        out[off] = (line, start, len(data) if end < 0 else end)
    return out


def _col(data: bytes, line_start: int, off: int) -> int:
    return len(data[line_start:off].decode("utf-8", "replace")) + 1


def detect(
    matcher: Matcher,
    data: bytes,
    *,
    source: str,
    path: str,
    root: str | None = None,
    commit: str | None = None,
    line_offset: int = 0,
    decoded: str | None = None,
    key_path: str | None = None,
) -> list[Detected]:
    """Scan ``data`` and return the matches worth reporting, with exact 1-based lines and columns."""
    hits = [h for h in matcher.scan(data) if h.end - h.start <= _MAX_SECRET]
    if not hits:
        return []
    info = _line_info(data, [h.start for h in hits] + [h.end for h in hits])
    out = []
    for hit in hits:
        secret = _secret_text(data[hit.start : hit.end])
        if keep_reason(hit, secret, path, data[_name_start(data, hit.match_start) : hit.start]) is not None:
            continue
        line, ls, le = info[hit.start]
        end_line, els, _ = info[hit.end]
        allowed = ALLOW_MARKER in data[ls:le] or _allowed_by_previous_line(data, ls)
        if hit.rule.multiline and not allowed:
            allowed = ALLOW_MARKER in data[info[hit.end][1] : info[hit.end][2]]
        validity = None
        if hit.rule.validator:
            validity = "valid-" + hit.rule.validator
        loc = Location(
            source=source,
            path=path,
            line=line + line_offset,
            column=_col(data, ls, hit.start),
            end_line=end_line + line_offset,
            end_column=_col(data, els, hit.end),
            commit=commit,
            key_path=key_path,
            decoded=decoded,
            root=root,
        )
        out.append(Detected(match=Match(rule_id=hit.rule.id, secret=Secret(secret), location=loc, validity=validity),
                            allowed=allowed))
    return out


def _allowed_by_previous_line(data: bytes, line_start: int) -> bool:
    if line_start == 0:
        return False
    prev_start = data.rfind(b"\n", 0, line_start - 1) + 1
    return b"credsweep:allow-next-line" in data[prev_start:line_start]
