"""Structure-aware scanning of configuration files (YAML, JSON, TOML, INI, .env, ...).

``analyse`` returns None for files that are not configuration, so the text pass alone applies. For
configuration it parses the file (``formats``), walks it into named values with exact lines (``walker``),
decodes encoded values (``decode``) and runs every rule plus the key-name rules on them (``scan``). A file that
does not parse gets a ``parse-error`` Skip: the text pass has already scanned it, nothing is lost silently.

Modules: ``classify`` (which format, and is it worth parsing), ``jsonparse``, ``yamlparse``, ``tomlparse``,
``hcl``, ``lineformats`` (.env, properties, INI, netrc, Dockerfile), ``walker``, ``decode``, ``keynames``,
``scan``.

May import: ``scanner.detect`` and the shared top-level modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scanner.model import Skip
from scanner.structure.classify import format_of, worth_parsing
from scanner.structure.nodes import Node, ParseError, Scalar

if TYPE_CHECKING:
    from scanner.detect.detector import BlobResult
    from scanner.detect.matcher import Matcher

MAX_BYTES = 1 << 20  # configuration files are small; larger ones are data and get the text pass only

__all__ = ["MAX_BYTES", "analyse", "format_of", "parse", "worth_parsing"]


def parse(fmt: str, text: str) -> list[Node]:
    """Parse ``text`` as ``fmt`` into documents with exact lines; ParseError when it is not valid."""
    from scanner.structure import jsonparse

    if fmt in ("json", "notebook"):
        return [jsonparse.parse(text)]
    return _parse(fmt, text)[0]


def _parse(fmt: str, text: str) -> tuple[list[Node], Callable[[Scalar, str], None] | None]:
    """Documents, and for JSON a locator that finds lines on demand (the C parser has none)."""
    from scanner.structure import hcl, jsonparse, lineformats, tomlparse, yamlparse

    if fmt == "yaml":
        return yamlparse.parse(text), None
    if fmt in ("json", "notebook"):
        node, locator = jsonparse.parse_fast(text)
        return [node], locator
    if fmt == "toml":
        return [tomlparse.parse(text)], None
    if fmt == "hcl":
        return [hcl.parse(text)], None
    line_parsers = {"env": lineformats.parse_env, "properties": lineformats.parse_properties,
                    "ini": lineformats.parse_ini, "netrc": lineformats.parse_netrc,
                    "dockerfile": lineformats.parse_dockerfile}
    return [line_parsers[fmt](text)], None


def analyse(
    matcher: Matcher, data: bytes, *, source: str, path: str, root: str | None, commit: str | None
) -> BlobResult | None:
    """Structure pass over a configuration file; None when the file is not configuration."""
    fmt = format_of(path, data[:256])
    if fmt is None:
        return None
    from scanner.detect.detector import BlobResult

    target = path if commit is None else f"{path}@{commit[:12]}"
    if len(data) <= MAX_BYTES and not worth_parsing(data, fmt):
        return None
    if len(data) > MAX_BYTES:
        return BlobResult(skipped=[Skip(source=source, target=target, reason="structure-skipped",
                                        detail=f"{fmt} file larger than {MAX_BYTES >> 20} MB: structure pass not applied, "
                                               "scanned as text only")])
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    try:
        docs, locate = _parse(fmt, text)
    except ParseError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        return BlobResult(skipped=[Skip(source=source, target=target, reason="parse-error",
                                        detail=f"not valid {exc.fmt}{where}: {exc.problem}; "
                                               "structure pass not applied, scanned as text only")])
    except (RecursionError, ValueError, TypeError, KeyError, IndexError, MemoryError) as exc:
        return BlobResult(skipped=[Skip(source=source, target=target, reason="parse-error",
                                        detail=f"{fmt} parser failed ({exc.__class__.__name__}); "
                                               "structure pass not applied, scanned as text only")])
    from scanner.structure.decode import MAX_DEPTH, FileBudget
    from scanner.structure.scan import scan_values
    from scanner.structure.walker import Walker

    walker = Walker(fmt, locate)
    values = [v for doc in docs for v in walker.walk(doc)]
    budget = FileBudget()
    detected, references = scan_values(matcher, values, text, source=source, path=path, root=root,
                                       commit=commit, fmt=fmt, budget=budget)
    skipped = []
    if budget.still_encoded:
        skipped.append(Skip(source=source, target=target, reason="decode-depth-limit",
                            detail=f"{budget.still_encoded} value(s) still encoded after {MAX_DEPTH} decoding steps; "
                                   "decoded no further, so a key inside them is not found"))
    if budget.exhausted:
        skipped.append(Skip(source=source, target=target, reason="decode-budget",
                            detail=f"{budget.exhausted} value(s) not decoded: the file's decoding budget was used up"))
    return BlobResult(detected=detected, references=references, skipped=skipped)
