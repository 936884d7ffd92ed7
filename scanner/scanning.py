"""Scan one blob of bytes: text pass through the matcher, plus the structure-aware pass for configuration files."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from scanner.detector import Detected, detect
from scanner.matcher import Matcher
from scanner.model import Reference, Skip

BINARY_SNIFF = 8192


@dataclass(slots=True)
class BlobResult:
    """What one blob produced."""

    detected: list[Detected] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)  # e.g. a configuration file the structure pass could not parse


def text_bytes(data: bytes) -> bytes | None:
    """Bytes ready for the matcher, or None for binary content.

    UTF-16/32 text (by BOM) is transcoded to UTF-8; any other encoding is scanned as raw bytes, which works for
    UTF-8, Latin-1 and broken encodings alike because every pattern is ASCII.
    """
    head = data[:4]
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return data.decode(enc, "replace").encode("utf-8")
    if b"\0" in data[:BINARY_SNIFF]:
        return None
    return data


class BlobScanner:
    """Matcher plus the optional structure pass; one per process."""

    def __init__(self, matcher: Matcher, *, structure: bool = True) -> None:
        self.matcher = matcher
        self.structure = structure

    def scan(
        self,
        data: bytes,
        *,
        source: str,
        path: str,
        root: str | None = None,
        commit: str | None = None,
        line_offset: int = 0,
    ) -> BlobResult:
        """Text pass, then (for configuration files) the structure pass; one result per secret and place."""
        detected = detect(self.matcher, data, source=source, path=path, root=root, commit=commit,
                          line_offset=line_offset)
        result = BlobResult(detected=detected)
        if self.structure and line_offset == 0:
            from scanner.structure import analyse

            extra = analyse(self.matcher, data, source=source, path=path, root=root, commit=commit)
            if extra is not None:
                result.references.extend(extra.references)
                result.skipped.extend(extra.skipped)
                result.detected = merge_detected(detected, extra.detected)
        return result


def merge_detected(text_pass: list[Detected], structure_pass: list[Detected]) -> list[Detected]:
    """One entry per (rule, secret, line): the structure pass wins, since it knows the key path and decoding.

    A text-pass hit of the same rule on the same line whose secret is the escaped or truncated form of a
    structure-pass secret (a PEM key with ``\\n`` escapes in JSON, say) is the same secret and is dropped too,
    as is a text-pass hit on the encoded form of a secret the structure pass decoded (base64 in a Secret).
    """
    by_place: dict[tuple[object, ...], list[tuple[str, str, str | None]]] = {}
    for d in structure_pass:
        loc = d.match.location
        by_place.setdefault((loc.path, loc.line, loc.commit), []).append(
            (d.match.rule_id, d.match.secret.value, loc.decoded))

    def same_secret(d: Detected) -> bool:
        loc = d.match.location
        value = d.match.secret.value
        for rule_id, v, decoded in by_place.get((loc.path, loc.line, loc.commit), ()):
            if rule_id == d.match.rule_id and (value in v or v in value or value.replace("\\n", "\n") == v):
                return True
            if encoded_form(value, v, decoded):
                return True
        return False

    def encoded_form(value: str, v: str, decoded: str | None) -> bool:
        """The hit saw the encoded form (Kubernetes Secret data) of a secret the structure pass decoded."""
        return bool(decoded) and decoded != "json-escape" and value != v and _decodes_to(value, v)

    def raw_of_decoded(d: Detected) -> bool:
        loc = d.match.location
        return loc.decoded is None and any(
            encoded_form(d.match.secret.value, v, decoded)
            for _, v, decoded in by_place.get((loc.path, loc.line, loc.commit), ()))

    keyed = {}
    for d in [t for t in text_pass if not same_secret(t)] + [s for s in structure_pass if not raw_of_decoded(s)]:
        loc = d.match.location
        keyed[(d.match.rule_id, d.match.secret.value, loc.path, loc.line, loc.commit)] = d
    return list(keyed.values())


def _decodes_to(encoded: str, secret: str) -> bool:
    from scanner.structure.decode import decodes_to

    return decodes_to(encoded, secret)
