"""Scan one blob of bytes: text pass through the matcher, plus the structure-aware pass for configuration files."""

from __future__ import annotations

import codecs
import re
from dataclasses import replace

from scanner.detect.detector import BlobResult, Detected, detect
from scanner.detect.matcher import Matcher
from scanner.model import Confidence, Skip

BINARY_SNIFF = 8192
_RUN = re.compile(rb"[\x20-\x7e\t]{8,}")  # printable ASCII runs, as `strings` finds them (linear: one class)
ARCHIVE_SUFFIXES = {".zip": "zip", ".jar": "jar", ".war": "war", ".ear": "ear", ".whl": "wheel", ".egg": "egg",
                    ".apk": "apk", ".nupkg": "nupkg", ".tar": "tar", ".tgz": "tar.gz", ".gz": "gzip",
                    ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".7z": "7z", ".rar": "rar"}
_ARCHIVE_MAGIC = ((0, b"PK\x03\x04", "zip"), (0, b"PK\x05\x06", "zip"), (0, b"\x1f\x8b", "gzip"),
                  (257, b"ustar", "tar"), (0, b"BZh", "bzip2"), (0, b"\xfd7zXZ\x00", "xz"),
                  (0, b"7z\xbc\xaf\x27\x1c", "7z"), (0, b"Rar!\x1a\x07", "rar"), (0, b"\x28\xb5\x2f\xfd", "zstd"))
BINARY_DETAIL = ("binary content (NUL bytes): only printable runs (8+ ASCII characters) scanned, with the "
                 "high-confidence rules; no line numbers (byte offsets)")


def archive_kind(path: str, data: bytes) -> str | None:
    """The archive format of a file by its content or name (zip, jar, wheel, tar, gzip, ...), else None."""
    for at, magic, kind in _ARCHIVE_MAGIC:
        printable = all(0x20 <= b < 0x7F for b in magic)  # "BZh", "ustar" could start a text file
        if data[at : at + len(magic)] == magic and (not printable or b"\0" in data[:BINARY_SNIFF]):
            name = path.rsplit("/", 1)[-1].lower()
            for suffix, named in ARCHIVE_SUFFIXES.items():
                if name.endswith(suffix):
                    return named
            return kind
    return None


def archive_skip(source: str, path: str, kind: str) -> Skip:
    """An archive is named as such: its members are not extracted or scanned."""
    return Skip(source=source, target=path, reason="archive",
                detail=f"{kind} archive: members are not extracted or scanned")


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
        self._binary_rules: frozenset[str] | None = None

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


    def binary_rules(self) -> frozenset[str]:
        """Rules run over printable runs of binary content: a unique prefix or format, high confidence."""
        rules = self._binary_rules
        if rules is None:
            rules = frozenset(str(r.id) for r in self.matcher.rules
                              if r.confidence >= Confidence.HIGH and not r.context and not r.is_generic
                              and not r.structure_only and not r.multiline)
            self._binary_rules = rules
        return rules

    def scan_binary(self, data: bytes, *, source: str, path: str, root: str | None = None,
                    commit: str | None = None) -> BlobResult:
        """The high-confidence rules over the printable runs of binary content; locations carry a byte offset."""
        starts: list[int] = []
        parts: list[bytes] = []
        for m in _RUN.finditer(data):
            starts.append(m.start())
            parts.append(m.group())
        if not parts:
            return BlobResult()
        wanted = self.binary_rules()
        out = []
        for d in detect(self.matcher, b"\n".join(parts), source=source, path=path, root=root, commit=commit):
            loc = d.match.location
            if d.match.rule_id not in wanted or loc.line is None:
                continue
            offset = starts[loc.line - 1] + (loc.column or 1) - 1
            loc = replace(loc, line=None, column=None, end_line=None, end_column=None, offset=offset)
            out.append(replace(d, match=replace(d.match, location=loc)))
        return BlobResult(detected=out)


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
