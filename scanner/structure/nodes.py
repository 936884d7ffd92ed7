"""The shapes every parser produces: a small tree of scalars with lines (YAML, JSON, TOML) and flat values."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DEPTH = 128  # deeper documents are data, not configuration


class ParseError(Exception):
    """A configuration file that its format's parser rejects. Carries no file content, only a line."""

    def __init__(self, fmt: str, line: int | None = None, problem: str = "syntax error") -> None:
        super().__init__(f"{fmt}: {problem}" + (f" at line {line}" if line else ""))
        self.fmt = fmt
        self.line = line
        self.problem = problem


@dataclass(slots=True)
class Scalar:
    """A leaf value with the 1-based line (and column, 0 when unknown) where its text starts."""

    text: str
    line: int
    column: int = 0
    end_line: int = 0  # last line of the value in the file (0: same as line)
    escaped: bool = False  # the file holds an escaped form (JSON ``\\u0041``, .env ``\\n``): decoded by parsing


@dataclass(slots=True)
class Mapping:
    """Key/value pairs in file order (duplicate keys kept)."""

    items: list[tuple[str, Node]]
    line: int = 0

    def get(self, key: str) -> Node | None:
        """The last value under ``key``, as the formats' own loaders would keep it."""
        found = None
        for k, v in self.items:
            if k == key:
                found = v
        return found

    def text(self, key: str) -> str | None:
        """The text of a scalar under ``key``."""
        node = self.get(key)
        return node.text if isinstance(node, Scalar) else None


@dataclass(slots=True)
class Sequence:
    """A list of nodes."""

    items: list[Node]
    line: int = 0


Node = Scalar | Mapping | Sequence


@dataclass(slots=True)
class Value:
    """One scalar the structure pass looks at, after walking: where it is and what it is called."""

    key_path: str  # dotted path, list indices in brackets: ``spec.containers[0].env.OPENAI_API_KEY``
    name: str  # the key name as presented to key-name rules: ``env.OPENAI_API_KEY``, ``litellm_params.api_key``
    key: str  # the leaf key (``OPENAI_API_KEY``), reported as Match.context_key
    text: str
    line: int
    column: int = 0
    end_line: int = 0
    decoded: str | None = None  # decoding applied before the text was found ("base64", "url", "json-escape", ...)
    hint: str | None = None  # "base64": the format says the value is base64 (Kubernetes Secret data)
    reference: str | None = None  # set by the walker when the structure says it is a reference (secretKeyRef)
    depth: int = 0  # nesting of decoded documents inside values
    extra: dict[str, str] = field(default_factory=dict)
