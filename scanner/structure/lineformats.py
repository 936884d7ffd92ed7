"""Line-oriented formats: .env, Java properties, INI/cfg (pip.conf, .pypirc, .npmrc, AWS credentials), .netrc
and Dockerfile. Each becomes a small node tree with exact lines; none of them can fail to parse."""

from __future__ import annotations

import json
import re

from scanner.structure.nodes import Mapping, Node, Scalar, Sequence

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s?(.*)$")
_PROP_LINE = re.compile(r"^\s*((?:[^\s:=\\]|\\.)+)\s*[:=\s]\s*(.*)$")
_INI_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*(?:[#;].*)?$")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s]+')


def _unquote_double(body: str) -> tuple[str, bool]:
    if "\\" not in body:
        return body, False
    try:
        return json.loads('"' + body.replace('"', '\\"').replace('\\\\"', '\\"') + '"'), True
    except ValueError:
        return body, False


def parse_env(text: str) -> Node:
    """``KEY=value`` lines with optional ``export``, quotes, inline comments and multi-line double quotes."""
    items: list[tuple[str, Node]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = _ENV_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        key, raw = m.group(1), m.group(2)
        col = m.start(2) + 1
        start = i
        if raw.startswith('"'):
            body = raw[1:]
            while not _closes(body) and i < len(lines) and i - start < 200:
                body += "\n" + lines[i]
                i += 1
            end = _closing(body)
            value, escaped = _unquote_double(body[:end] if end >= 0 else body)
            items.append((key, Scalar(value, start, col + 1, i, escaped)))
        elif raw.startswith("'"):
            end = raw.find("'", 1)
            items.append((key, Scalar(raw[1:end] if end > 0 else raw[1:], start, col + 1)))
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
            items.append((key, Scalar(value, start, col)))
    return Mapping(items, 1)


def _closing(body: str) -> int:
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == '"':
            return i
        i += 1
    return -1


def _closes(body: str) -> bool:
    return _closing(body) >= 0


_PROP_ESCAPES = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def _prop_unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("u") and len(e) == 5:
            return chr(int(e[1:], 16))
        return {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(e, e)

    return _PROP_ESCAPES.sub(repl, text)


def parse_properties(text: str) -> Node:
    """Java ``.properties``: ``key=value``, ``key: value`` or ``key value``; backslash continuations and escapes."""
    items: list[tuple[str, Node]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        start = i + 1
        i += 1
        stripped = line.lstrip()
        if not stripped or stripped[0] in "#!":
            continue
        while line.endswith("\\") and not line.endswith("\\\\") and i < len(lines) and i - start < 200:
            line = line[:-1] + lines[i].lstrip()
            i += 1
        m = _PROP_LINE.match(line)
        if not m:
            continue
        raw = m.group(2)
        value = _prop_unescape(raw)
        items.append((_prop_unescape(m.group(1)), Scalar(value, start, m.start(2) + 1, i, value != raw)))
    return Mapping(items, 1)


def parse_ini(text: str) -> Node:
    """INI/cfg: ``[section]``, ``key = value`` or ``key: value``, indented continuation lines (one scalar each)."""
    root: list[tuple[str, Node]] = []
    section = root
    last: tuple[list[tuple[str, Node]], int] | None = None  # (items, index of the last key) for continuations
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if line[0] in " \t" and last is not None:
            items, idx = last
            key, node = items[idx]
            seq = node if isinstance(node, Sequence) else Sequence([node] if node.text else [], node.line)
            seq.items.append(Scalar(stripped, n, len(line) - len(line.lstrip()) + 1))
            items[idx] = (key, seq)
            continue
        m = _INI_SECTION.match(line)
        if m:
            section = []
            root.append((m.group(1).strip(), Mapping(section, n)))
            last = None
            continue
        indent = len(line) - len(line.lstrip())
        eq, colon = stripped.find("="), stripped.find(":")
        cut = eq if eq > 0 and (colon < 0 or eq < colon or stripped[0] in "/@") else colon
        if cut > 0:
            key, rest = stripped[:cut].strip(), stripped[cut + 1 :]
            value = rest.strip()
            col = indent + cut + 1 + (len(rest) - len(rest.lstrip())) + 1
        else:
            key, value, col = stripped, "", 0
        section.append((key, Scalar(value, n, col)))
        last = (section, len(section) - 1)
    return Mapping(root, 1)


def parse_netrc(text: str) -> Node:
    """``.netrc``: ``machine HOST login USER password SECRET`` tokens across lines; ``macdef`` bodies skipped."""
    root: list[tuple[str, Node]] = []
    current: list[tuple[str, Node]] | None = None
    pending: str | None = None
    in_macro = False
    for n, line in enumerate(text.split("\n"), 1):
        if in_macro:
            in_macro = bool(line.strip())
            continue
        for m in _TOKEN.finditer(line):
            tok = m.group()
            if tok.startswith("#") and pending is None:
                break
            word = tok[1:-1] if tok[0] in "\"'" and len(tok) > 1 else tok
            if pending is not None:
                if pending == "machine":
                    current = []
                    root.append((f"machine {word}", Mapping(current, n)))
                elif pending == "macdef":
                    in_macro = True
                elif current is not None:
                    current.append((pending, Scalar(word, n, m.start() + 1 + (tok[0] in "\"'"))))
                pending = None
                continue
            if tok == "default":
                current = []
                root.append(("default", Mapping(current, n)))
            elif tok in ("machine", "login", "password", "account", "macdef"):
                pending = tok
    return Mapping(root, 1)


_DOCKER_INSTR = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$", re.S)
_KV = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s]*)')


def parse_dockerfile(text: str) -> Node:
    """``ENV``/``ARG`` as key/value mappings; ``RUN``/``CMD``/``ENTRYPOINT`` as argument lists (for --api-key)."""
    items: list[tuple[str, Node]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start = i
        parts = [(i + 1, lines[i])]
        while lines[i].rstrip().endswith("\\") and i + 1 < len(lines) and i - start < 500:
            i += 1
            parts.append((i + 1, lines[i]))
        i += 1
        m = _DOCKER_INSTR.match(parts[0][1])
        if not m or parts[0][1].lstrip().startswith("#"):
            continue
        instr = m.group(1).upper()
        if instr in ("ENV", "ARG", "LABEL"):
            kv: list[tuple[str, Node]] = []
            for n, line in parts:
                body = line[m.start(2):] if n == parts[0][0] else line
                offset = m.start(2) if n == parts[0][0] else 0
                found = list(_KV.finditer(body.rstrip("\\")))
                for f in found:
                    raw = f.group(2)
                    quoted = raw[:1] in ("'", '"') and len(raw) > 1
                    kv.append((f.group(1), Scalar(raw[1:-1] if quoted else raw, n, offset + f.start(2) + 1 + quoted)))
                if not found and instr == "ENV" and n == parts[0][0]:  # legacy ``ENV KEY value``
                    legacy = re.match(r"([A-Za-z_][A-Za-z0-9_.-]*)\s+(.+)$", body.rstrip("\\").strip())
                    if legacy:
                        kv.append((legacy.group(1), Scalar(legacy.group(2).strip(), n, offset + legacy.start(2) + 1)))
            items.append((instr, Mapping(kv, parts[0][0])))
        elif instr in ("RUN", "CMD", "ENTRYPOINT"):
            args: list[Node] = []
            for n, line in parts:
                offset = m.start(2) if n == parts[0][0] else 0
                body = line[offset:]
                for tok in _TOKEN.finditer(body):
                    word = tok.group().strip("[],")
                    if word[:1] in ("'", '"') and word[-1:] == word[:1] and len(word) > 1:
                        word = word[1:-1]
                    if word and word != "\\":
                        args.append(Scalar(word, n, offset + tok.start() + 1))
            items.append((instr.lower(), Sequence(args, parts[0][0])))
    return Mapping(items, 1)
