"""YAML (every document of a stream) to nodes with lines, through PyYAML's composer: no objects are built,
so unknown tags (CloudFormation ``!Ref``) and aliases cost nothing. Helm/Jinja ``{{ }}`` directives are masked
first, keeping lines and columns, so chart templates parse."""

from __future__ import annotations

import re
from typing import Any

import yaml

from scanner.structure.nodes import MAX_DEPTH, Mapping, Node, ParseError, Scalar, Sequence

_DIRECTIVE_LINE = re.compile(r"^[ \t]*(?:\{\{-?.*?-?\}\}[ \t]*|\{%-?.*?-?%\}[ \t]*)+$", re.M)
_INLINE = re.compile(r"(?<!\$)\{\{-?.*?-?\}\}|\{%-?.*?-?%\}")  # not GitHub's ${{ }}: valid plain YAML
MAX_NODES = 200_000


def mask_templates(text: str) -> str:
    """Blank lines that hold only template directives and turn inline ``{{ x }}`` into a same-length word.

    The masked value starts ``{{`` so it is still recognised as a template reference.
    """
    if "{{" not in text and "{%" not in text:
        return text
    text = _DIRECTIVE_LINE.sub(lambda m: " " * len(m.group()), text)
    return _INLINE.sub(lambda m: "{{" + "_" * max(len(m.group()) - 4, 0) + "}}" if len(m.group()) >= 4
                       else m.group(), text).replace("{{", "\u00ab\u00ab").replace("}}", "\u00bb\u00bb")


def _unmask(text: str) -> str:
    return text.replace("\u00ab\u00ab", "{{").replace("\u00bb\u00bb", "}}")


class _Converter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: set[int] = set()
        self.count = 0

    def convert(self, node: Any, depth: int) -> Node:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_NODES:
            raise ParseError("YAML", node.start_mark.line + 1, "too large or nested too deeply")
        if isinstance(node, yaml.ScalarNode):
            start, end = node.start_mark, node.end_mark
            line, col = start.line + 1, start.column + 1
            if node.style in ("|", ">"):
                line, col = line + 1, 0  # the content starts on the line after the indicator
            elif node.style in ("'", '"'):
                col += 1
            escaped = node.style == '"' and "\\" in self.text[start.index : end.index]
            return Scalar(_unmask(str(node.value)), line, col, end.line + 1, escaped)
        if id(node) in self.seen:  # an alias of a collection: walked once, at its anchor
            return Scalar("", node.start_mark.line + 1)
        self.seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            return Sequence([self.convert(n, depth + 1) for n in node.value], node.start_mark.line + 1)
        items = []
        for k, v in node.value:
            key = _unmask(str(k.value)) if isinstance(k, yaml.ScalarNode) else "?"
            items.append((key, self.convert(v, depth + 1)))
        return Mapping(items, node.start_mark.line + 1)


def parse(text: str) -> list[Node]:
    """Every document of a YAML stream as nodes; raise ParseError (a line, no content) when it is not YAML."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    masked = mask_templates(text)
    conv = _Converter(masked)
    docs: list[Node] = []
    try:
        for doc in yaml.compose_all(masked, Loader=loader):
            if doc is not None:
                docs.append(conv.convert(doc, 0))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ParseError("YAML", mark.line + 1 if mark else None) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        raise ParseError("YAML") from None
    return docs
