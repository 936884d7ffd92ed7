"""Terraform ``.tf``/``.tfvars`` (HCL): blocks, ``name = value`` attributes, nested objects and heredocs, read
line by line. Enough for configuration values; expressions are kept as text (``var.x`` is a reference)."""

from __future__ import annotations

import re

from scanner.structure.nodes import MAX_DEPTH, Mapping, Node, Scalar, Sequence

_BLOCK = re.compile(r'^\s*([A-Za-z_][\w-]*)((?:\s+(?:"[^"]*"|[A-Za-z_][\w-]*))*)\s*\{\s*(?:#.*|//.*)?$')
_ATTR = re.compile(r'^\s*("?[A-Za-z_][\w.-]*"?)\s*[=:]\s*(.*?)\s*,?\s*$')
_HEREDOC = re.compile(r"^<<-?\s*([A-Za-z_]\w*)$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def parse(text: str) -> Node:
    """A Terraform file as nested mappings; unreadable lines are skipped, so this never fails."""
    root = Mapping([], 1)
    stack: list[Mapping] = [root]
    lines = text.split("\n")
    i = 0
    in_comment = False
    while i < len(lines):
        n, line = i + 1, lines[i]
        i += 1
        stripped = line.strip()
        if in_comment:
            in_comment = "*/" not in stripped
            continue
        if stripped.startswith("/*"):
            in_comment = "*/" not in stripped
            continue
        if not stripped or stripped[0] == "#" or stripped.startswith("//"):
            continue
        if stripped.startswith("}") or stripped.startswith("]"):
            if len(stack) > 1:
                stack.pop()
            continue
        m = _BLOCK.match(line)
        if m and len(stack) < MAX_DEPTH:
            labels = [lab.strip('"') for lab in m.group(2).split()]
            child = Mapping([], n)
            stack[-1].items.append((".".join([m.group(1), *labels]), child))
            stack.append(child)
            continue
        m = _ATTR.match(line)
        if not m:
            continue
        key, raw = m.group(1).strip('"'), m.group(2)
        col = m.start(2) + 1
        heredoc = _HEREDOC.match(raw)
        if heredoc:
            seq = Sequence([], n)
            while i < len(lines) and lines[i].strip() != heredoc.group(1) and len(seq.items) < 10_000:
                body = lines[i]
                seq.items.append(Scalar(body.strip(), i + 1, len(body) - len(body.lstrip()) + 1))
                i += 1
            i += 1
            stack[-1].items.append((key, seq))
        elif raw in ("{", "[") and len(stack) < MAX_DEPTH:
            child = Mapping([], n)
            stack[-1].items.append((key, child))
            stack.append(child)
        elif raw.startswith("[") and not raw.endswith("]") and len(stack) < MAX_DEPTH:
            child = Mapping([], n)
            stack[-1].items.append((key, child))
            stack.append(child)
        else:
            strings = list(_STRING.finditer(raw))
            if raw.startswith('"') and len(strings) == 1 and strings[0].end() == len(raw):
                stack[-1].items.append((key, Scalar(_unescape(strings[0].group(1)), n, col + 1)))
            elif strings and raw[:1] in "[{":
                seq = Sequence([Scalar(_unescape(s.group(1)), n, col + s.start() + 1) for s in strings], n)
                stack[-1].items.append((key, seq))
            else:
                stack[-1].items.append((key, Scalar(raw, n, col)))
    return root


def _unescape(body: str) -> str:
    return body.replace('\\"', '"').replace("\\\\", "\\") if "\\" in body else body
