"""Decoding of values before scanning: base64, URL (percent) encoding and JSON string escapes.

Bounded on every axis: a value is decoded only when it looks encoded, the result must be text, chains stop at
``MAX_DEPTH`` steps, and one file never decodes more than ``FileBudget.bytes_left`` bytes in total.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote

MAX_DEPTH = 3
MAX_VALUE = 256 * 1024  # larger values (notebook images, bundled blobs) are not decoded
_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_JSON_ESC = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|[\"\\/bfnrt])")


@dataclass(slots=True)
class FileBudget:
    """How much one file may still decode."""

    bytes_left: int = 4 << 20
    still_encoded: int = 0  # values that still decode at MAX_DEPTH (reported as a limit, not silently dropped)
    exhausted: int = 0  # values not decoded because the budget ran out


def _texty(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    printable = sum(1 for c in text if c.isprintable() or c in "\n\r\t")
    return text if printable >= 0.97 * len(text) else None


def b64(value: str, *, force: bool = False) -> str | None:
    """Base64 (standard or URL-safe, padding optional) that decodes to text, else None."""
    text = "".join(value.split()) if force else value
    if len(text) < (4 if force else 16) or not _B64.match(text):
        return None
    if not force and (text.isalpha() or text.isdigit() or text.islower() or text.isupper()):
        return None  # plain words and hex digests are valid base64 by accident
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _texty(raw)


def url(value: str) -> str | None:
    """Percent-decoded text when the value holds percent escapes."""
    if not _PCT.search(value):
        return None
    out = unquote(value, errors="strict") if value.isascii() else None
    return out if out and out != value else None


def json_escape(value: str) -> str | None:
    """The value with JSON string escapes (``\\u0041``, ``\\n``, ``\\/``) resolved."""
    if "\\" not in value or not _JSON_ESC.search(value):
        return None
    try:
        out = json.loads('"' + value.replace('"', '\\"').replace('\\\\"', '\\"') + '"')
    except ValueError:
        return None
    return out if isinstance(out, str) and out != value else None


def variants(value: str, budget: FileBudget, *, hint: str | None = None, label: str | None = None,
             depth: int = 0) -> list[tuple[str, str]]:
    """Every decoded form of ``value`` (text, label such as ``base64`` or ``base64+url``), outermost first."""
    if depth >= MAX_DEPTH or len(value) > MAX_VALUE or budget.bytes_left <= 0:
        if len(value) <= MAX_VALUE and (depth > 0 or budget.bytes_left <= 0) and (b64(value) or url(value) or json_escape(value)):
            if depth >= MAX_DEPTH:
                budget.still_encoded += 1
            else:
                budget.exhausted += 1
        return []
    out: list[tuple[str, str]] = []
    for name, fn in (("base64", b64), ("url", url), ("json-escape", json_escape)):
        decoded = b64(value, force=True) if name == "base64" and hint == "base64" and depth == 0 else fn(value)
        if decoded is None or decoded == value:
            continue
        budget.bytes_left -= len(decoded)
        tag = f"{label}+{name}" if label else name
        out.append((decoded, tag))
        out.extend(variants(decoded, budget, label=tag, depth=depth + 1))
    return out


def decodes_to(encoded: str, secret: str) -> bool:
    """Whether ``secret`` appears in a decoded form of ``encoded`` (one text, two spellings of one secret)."""
    if len(encoded) > MAX_VALUE:
        return False
    return any(secret in text for text, _ in variants(encoded, FileBudget(1 << 20), hint="base64"))
