"""The only code that turns a secret into displayable text: a redacted preview, a keyed hash, and key paths with
any secret in them redacted (a secret used as a mapping key, a Vault path segment or a field name).

Results never carry a plain hash of a secret (a short secret's SHA-256 can be brute-forced). Every hash is an
HMAC-SHA256 under an organisation key (``CREDSWEEP_HASH_KEY`` or ``hash_key_env`` in the configuration), so the
same secret gets the same hash across repositories, Vault and AWS within one organisation, and nothing outside it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

HASH_KEY_ENV = "CREDSWEEP_HASH_KEY"
# Used when no organisation key is configured. Results say so (hash_key_id "default"), because anyone can
# recompute hashes made with a public key.
_DEFAULT_KEY = b"credsweep-default-hash-key-v1"
ELLIPSIS = "\u2026"


MASK = ELLIPSIS
SHORT = 12  # a shorter secret shows no tail
MIN_HIDDEN = 8  # never show so much that fewer characters than this stay hidden


def redact(value: str, prefixes: tuple[str, ...] | list[str] = ()) -> str:
    """The displayable form of a secret: its format's public prefix, a fixed mask, and the last 4 characters.

    ``prefixes`` are the public prefixes of the rule that found the value (``ruleset.public_prefixes``); the longest
    one the value starts with is shown (``sk-proj-``, ``AKIA``, ``ghp_``), a PEM block shows its ``-----BEGIN ...``
    line. A generic secret shows no prefix. The mask does not depend on the length. A secret shorter than 12
    characters shows no tail, and at least 8 characters always stay hidden (the tail goes first, then the prefix).
    """
    n = len(value)
    prefix = next((p for p in sorted(prefixes, key=len, reverse=True) if value.startswith(p)), "")
    if prefix.startswith("-----BEGIN") and "\n" in value:
        header = value.split("\n", 1)[0].rstrip("\r")
        if header.endswith("-----"):
            prefix = header
    tail = value[-4:] if n >= SHORT else ""
    if n - len(prefix) - len(tail) < MIN_HIDDEN:
        tail = ""
    if n - len(prefix) < MIN_HIDDEN:
        prefix = ""
    return prefix + MASK + tail


# A segment of a key path, Vault path or field name: a run of token characters between separators (. [ ] / # :
# spaces, quotes). Inside it, a chunk is a run of letters, digits and base64 punctuation.
_SEGMENT = re.compile(r"[A-Za-z0-9+=_\-]+")
_CHUNK = re.compile(r"[A-Za-z0-9+=]{16,}")
_SWITCH = re.compile(r"[A-Za-z][0-9]|[0-9][A-Za-z]")


def looks_like_secret(segment: str) -> bool:
    """A conservative test for a key name that is really a token: at least 20 characters, no spaces, and a chunk
    of 16 or more letters and digits that mixes them like random text does (2+ digits, 2+ letters, 4+ switches
    between letters and digits). ``HF_TOKEN``, ``OPENAI_API_KEY_2024``, ``containers``, UUIDs are not."""
    if len(segment) < 20 or any(c.isspace() for c in segment):
        return False
    for chunk in _CHUNK.findall(segment):
        digits = sum(c.isdigit() for c in chunk)
        if digits >= 2 and len(chunk) - digits >= 2 and len(_SWITCH.findall(chunk)) >= 4:
            return True
    return False


def redact_key(text: str, secrets: Iterable[str] = ()) -> str:
    """A key path, key name, Vault path or field name as it may be shown: every occurrence of a known secret
    (found in the same file or record) and every segment that looks like a secret replaced by ``redact()``."""
    for value in sorted({v for v in secrets if len(v) >= 8}, key=len, reverse=True):
        if value in text:
            text = text.replace(value, redact(value))
    return _SEGMENT.sub(lambda m: redact(m.group()) if looks_like_secret(m.group()) else m.group(), text)


@dataclass(frozen=True, slots=True)
class SecretHasher:
    """Keyed hashing of secret values; ``key_id`` names the key without revealing it."""

    key: bytes = field(repr=False)

    @classmethod
    def from_env(cls, env_name: str | None = None) -> SecretHasher:
        """Read the organisation key from the environment, or fall back to the public default key."""
        raw = os.environ.get(env_name or HASH_KEY_ENV, "")
        return cls(raw.encode("utf-8") if raw else _DEFAULT_KEY)

    @property
    def key_id(self) -> str:
        """A short public identifier of the key, so two results can tell whether their hashes compare."""
        if self.key == _DEFAULT_KEY:
            return "default"
        return hashlib.sha256(b"credsweep-key-id:" + self.key).hexdigest()[:12]

    def secret_hash(self, value: str) -> str:
        """HMAC-SHA256 of the value, hex."""
        return hmac.new(self.key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def fingerprint(self, rule_id: str, value: str) -> str:
        """Content-based id of a finding: rule and secret, never the line, so it survives edits above it."""
        msg = rule_id.encode() + b"\0" + value.encode("utf-8", "surrogatepass")
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()[:32]
