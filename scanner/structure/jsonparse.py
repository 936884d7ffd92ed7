"""A small JSON parser that keeps the line of every value (the standard library's does not).

Lenient where configuration files are: ``//`` and ``/* */`` comments and trailing commas are accepted (VS Code
settings, tsconfig). Strings are decoded by the standard library's C ``scanstring``.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]

from scanner.structure.nodes import MAX_DEPTH, Mapping, Node, ParseError, Scalar, Sequence

_WS = re.compile(r"(?:[ \t\n\r]+|//[^\n]*|/\*.*?\*/)*", re.S)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"true": "true", "false": "false", "null": "null"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._nl = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self._nl, pos) + 1

    def column(self, pos: int) -> int:
        i = bisect.bisect_left(self._nl, pos)
        start = self._nl[i - 1] + 1 if i else 0
        return pos - start + 1

    def fail(self, problem: str) -> ParseError:
        return ParseError("JSON", self.line(min(self.pos, len(self.text))), problem)

    def ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def string(self) -> Scalar:
        start = self.pos
        try:
            value, end = scanstring(self.text, start + 1, False)
        except ValueError:
            raise self.fail("bad string") from None
        self.pos = end
        raw_has_escape = "\\" in self.text[start:end]
        return Scalar(value, self.line(start), self.column(start) + 1, self.line(end), raw_has_escape)

    def value(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail("nested too deeply")
        self.ws()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.fail("unexpected end of input")
        ch = text[pos]
        if ch == '"':
            return self.string()
        if ch == "{":
            return self.obj(depth)
        if ch == "[":
            return self.arr(depth)
        m = _NUMBER.match(text, pos)
        if m:
            self.pos = m.end()
            return Scalar(m.group(), self.line(pos), self.column(pos))
        for word in _LITERALS:
            if text.startswith(word, pos):
                self.pos = pos + len(word)
                return Scalar(word, self.line(pos), self.column(pos))
        raise self.fail("unexpected character")

    def obj(self, depth: int) -> Mapping:
        node = Mapping([], self.line(self.pos))
        self.pos += 1
        while True:
            self.ws()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return node
            if not self.text.startswith('"', self.pos):
                raise self.fail("expected a key")
            key = self.string().text
            self.ws()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            node.items.append((key, self.value(depth + 1)))
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")

    def arr(self, depth: int) -> Sequence:
        node = Sequence([], self.line(self.pos))
        self.pos += 1
        while True:
            self.ws()
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return node
            node.items.append(self.value(depth + 1))
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("]", self.pos):
                raise self.fail("expected ',' or ']'")


def parse(text: str) -> Node:
    """Parse one JSON document; raise ParseError (with a line, never content) when it is not JSON."""
    p = _Parser(text.removeprefix("\ufeff"))
    node = p.value(0)
    p.ws()
    if p.pos != len(p.text):
        raise p.fail("extra data after the document")
    return node


class Locator:
    """Lines for a tree built by the C ``json`` module, found on demand: values are located in document order
    from a moving cursor, so only the values the walker keeps cost anything."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cursor = 0
        self._nl = [m.start() for m in re.finditer("\n", text)]

    def __call__(self, node: Scalar, key: str = "") -> None:
        """Fill in ``node.line``, ``column``, ``end_line`` and ``escaped`` from the raw text; when the value is
        written with escapes the encoder would not use, the line of its key."""
        text = self.text
        for ascii_only in (False, True):
            enc = json.dumps(node.text, ensure_ascii=ascii_only)
            pos = text.find(enc, self.cursor)
            if pos < 0:
                pos = text.find(enc)
            if pos >= 0:
                self.cursor = pos + len(enc)
                node.escaped = "\\" in enc
                self._set(node, pos + 1, pos + len(enc))
                return
        pos = text.find(json.dumps(key) + ":", self.cursor) if key else -1
        if pos < 0 and key:
            pos = text.find(json.dumps(key), self.cursor)
        if pos >= 0:
            end = text.find('"', text.find(":", pos) + 1)
            pos = end if end >= 0 else pos
            self.cursor = pos + 1
        self._set(node, pos + 1 if pos >= 0 else self.cursor, pos + 1 if pos >= 0 else self.cursor)
        node.escaped = True

    def _set(self, node: Scalar, start: int, end: int) -> None:
        i = bisect.bisect_left(self._nl, start)
        node.line = i + 1
        node.column = start - (self._nl[i - 1] + 1 if i else 0) + 1
        node.end_line = bisect.bisect_left(self._nl, end) + 1


def _tree(obj: object, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise ParseError("JSON", None, "nested too deeply")
    if isinstance(obj, list):
        if obj and isinstance(obj[0], tuple) and getattr(obj, "is_object", False):
            return Mapping([(k, _tree(v, depth + 1)) for k, v in obj], 0)
        return Sequence([_tree(v, depth + 1) for v in obj], 0)
    if isinstance(obj, str):
        return Scalar(obj, 0)
    if obj is None:
        return Scalar("null", 0)
    if isinstance(obj, bool):
        return Scalar("true" if obj else "false", 0)
    return Scalar(str(obj), 0)


class _Pairs(list):  # type: ignore[type-arg]
    is_object = True


def parse_fast(text: str) -> tuple[Node, Locator | None]:
    """Strict JSON through the C parser (lines found later by a Locator); JSONC and other lenient input
    through ``parse`` with exact lines. ParseError when neither accepts it."""
    try:
        obj = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return parse(text), None
    return _tree(obj, 0), Locator(text.removeprefix("\ufeff"))
