"""The only code that turns untrusted content into display text.

Paths, refs, authors, commit messages, key paths, rule text, Vault paths, ARNs and skip details come from the
scanned tree or store: whoever wrote them can put escape sequences (screen clears, window titles, OSC 8 links),
carriage returns that overwrite a line, bidirectional overrides that reorder it, or Markdown and HTML markup in
them. Before such text reaches a terminal, a log, an error message, Markdown or HTML it goes through here:

- ``display``: every control character (C0 with ``\\t \\r \\n``, DEL, C1), bidirectional override, isolate and
  mark, and invisible format character becomes a visible escape (``\\x1b``, ``\\r``, ``\\u202e``). Undecodable
  bytes of a file name (``surrogateescape``) show as ``\\xNN``. Always, whether or not the output is a terminal.
  Backslashes are kept as they are, so ``display`` is idempotent and Windows paths stay readable.
- ``displayable``: the same over every string of a report (or any frozen dataclass tree), for the text, Markdown
  and HTML formats.
- ``json_safe``: JSON text with the same characters written as ``\\uXXXX`` escapes: lossless for a JSON reader,
  harmless when the file is printed on a terminal.
- ``md_text`` and ``md_code``: Markdown that content cannot turn into markup, HTML or links.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")

# C0, DEL, C1; soft hyphen; Arabic letter mark; Mongolian vowel separator; zero-width space/non-joiner/joiner and
# LRM/RLM; line and paragraph separators; bidi embeddings and overrides (202A-202E); word joiner, invisible
# operators, bidi isolates (2066-2069) and deprecated format characters; BOM / zero-width no-break space;
# interlinear annotation; tag characters; lone surrogates (undecodable bytes of file names).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f\ud800-\udfff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# What json.dumps(ensure_ascii=False) leaves raw in strings: the same set without C0 (which it escapes, and whose
# newline is also the layout of the document).
_UNSAFE_JSON = re.compile(
    "[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f\ud800-\udfff]"
)


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    named = _NAMED.get(c)
    if named is not None:
        return named
    o = ord(c)
    if o <= 0xFF:
        return f"\\x{o:02x}"
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8, decoded with surrogateescape
        return f"\\x{o - 0xDC00:02x}"
    return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"


def display(text: str) -> str:
    """``text`` with every control, bidi and invisible format character as a visible escape."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


def display_lines(text: str) -> str:
    """Several lines of our own (an error with its usage text): each line escaped, the line breaks kept."""
    return "\n".join(display(line) for line in text.split("\n"))


def displayable(obj: T) -> T:
    """A copy of ``obj`` (a report, a dataclass, a tuple, ...) with ``display`` applied to every string in it."""
    return _deep(obj)  # type: ignore[no-any-return]


def _deep(obj: Any) -> Any:
    if isinstance(obj, Enum):
        return obj
    if isinstance(obj, str):
        return display(obj)
    if isinstance(obj, tuple):
        items = tuple(_deep(x) for x in obj)
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if isinstance(obj, list):
        return [_deep(x) for x in obj]
    if isinstance(obj, dict):
        return {_deep(k): _deep(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init or f.name == "value" and type(obj).__name__ == "Secret":
                continue
            old = getattr(obj, f.name)
            new = _deep(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


def _json_escape(m: re.Match[str]) -> str:
    o = ord(m.group())
    if o > 0xFFFF:
        o -= 0x10000
        return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"
    return f"\\u{o:04x}"


def json_safe(text: str) -> str:
    """JSON text (from ``json.dumps``) with the unsafe characters as ``\\uXXXX`` escapes.

    They can only occur inside strings (JSON's own syntax is ASCII), so the document means exactly the same."""
    if not _UNSAFE_JSON.search(text):
        return text
    return _UNSAFE_JSON.sub(_json_escape, text)


# Markdown: every character that can start markup, an HTML tag, an entity or a link, escaped with a backslash
# (CommonMark lets any ASCII punctuation be escaped). ':' and the dot of "www." are escaped too, so that GitHub's
# autolinks (https://..., www....) cannot form. Email autolinks are found after escapes are resolved, so an '@'
# is written as a code span: user`@`host, never a mailto link.
_MD_META = re.compile(r"[\\`*_\[\](){}<>#|!~&:]|(?i:(?<=www)\.)|@")


def _md_escape(m: re.Match[str]) -> str:
    return "`@`" if m.group() == "@" else "\\" + m.group()


def md_text(text: object) -> str:
    """Content as Markdown text (also safe in a table cell): no markup, no HTML, no links, one line."""
    return _MD_META.sub(_md_escape, display(str(text)))


def md_code(text: object, *, table: bool = True) -> str:
    """Content as a Markdown code span: shown verbatim, never markup or a link.

    The fence is longer than any run of backticks in the text; in a table cell a pipe is written ``\\|`` (GFM
    unescapes it inside code spans too)."""
    s = display(str(text))
    if not s:
        return "` `"
    runs = [len(r) for r in re.findall(r"`+", s)]
    fence = "`" * (max(runs, default=0) + 1)
    if s[0] in "` " or s[-1] in "` ":
        s = f" {s} "
    if table:
        s = s.replace("|", "\\|")
    return f"{fence}{s}{fence}"


__all__ = ["display", "display_lines", "displayable", "json_safe", "md_code", "md_text"]
