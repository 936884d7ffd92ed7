"""TOML through ``tomllib``, which has no positions: lines are found again by reading the raw text for table
headers and ``key =`` lines, then looking for the value itself from there."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time
from typing import Any

from scanner.structure.nodes import MAX_DEPTH, Mapping, Node, ParseError, Scalar, Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'""")


def _parts(dotted: str) -> list[str]:
    return [p[1:-1] if p[0] in "\"'" else p for p in _PART.findall(dotted)]


def key_lines(lines: list[str]) -> dict[tuple[str, ...], int]:
    """Path (array-of-table entries as ``[n]``) -> 1-based line of its header or ``key =`` line."""
    out: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    in_multiline: str | None = None
    for n, line in enumerate(lines, 1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        m = _HEADER.match(line)
        if m and "=" not in line.split("]", 1)[0]:
            path = tuple(_parts(m.group(2)))
            if m.group(1) == "[[":
                counts[path] = counts.get(path, -1) + 1
                table = (*_resolve(path, counts), f"[{counts[path]}]")
            else:
                table = _resolve(path, counts)
            out.setdefault(table, n)
            continue
        k = _KEY.match(line)
        if k:
            out.setdefault((*table, *_parts(k.group(1))), n)
            rest = line[k.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return out


def _resolve(path: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> tuple[str, ...]:
    """Insert the current index of enclosing arrays of tables (``[[a]]`` then ``[a.b]`` means a[n].b)."""
    out: list[str] = []
    for i, part in enumerate(path):
        out.append(part)
        prefix = path[: i + 1]
        if prefix in counts and i + 1 < len(path):
            out.append(f"[{counts[prefix]}]")
    return tuple(out)


class _Builder:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.where = key_lines(self.lines)

    def line_of(self, path: tuple[str, ...]) -> int:
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return 1

    def find(self, value: str, start: int) -> tuple[int, int]:
        """Line and column of ``value``'s first line at or after ``start`` (within a window), else the start."""
        needle = value.split("\n", 1)[0].strip()
        if needle:
            for n in range(start, min(start + 200, len(self.lines)) + 1):
                col = self.lines[n - 1].find(needle)
                if col >= 0:
                    return n, col + 1
        return start, 0

    def build(self, obj: Any, path: tuple[str, ...], depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ParseError("TOML", None, "nested too deeply")
        if isinstance(obj, dict):
            return Mapping([(str(k), self.build(v, (*path, str(k)), depth + 1)) for k, v in obj.items()],
                           self.line_of(path))
        if isinstance(obj, list):
            return Sequence([self.build(v, (*path, f"[{i}]"), depth + 1) for i, v in enumerate(obj)],
                            self.line_of(path))
        text = obj if isinstance(obj, str) else _plain(obj)
        line, col = self.find(text, self.line_of(path)) if isinstance(obj, str) else (self.line_of(path), 0)
        return Scalar(text, line, col, line + text.count("\n"))


def _plain(obj: Any) -> str:
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    return str(obj)


def parse(text: str) -> Node:
    """One TOML document as nodes; raise ParseError (a line, no content) when it is not TOML."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ParseError("TOML", int(m.group(1)) if m else None) from None
    except (RecursionError, ValueError):
        raise ParseError("TOML") from None
    return _Builder(text).build(data, (), 0)
