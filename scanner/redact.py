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


def redact(value: str) -> str:
    """Show a few leading and trailing characters of ``value``; never more than a quarter of it."""
    n = len(value)
    if n < 8:
        return value[:1] + ELLIPSIS if n >= 4 else "*" * n
    if n < 16:
        return value[:2] + ELLIPSIS + value[-1:]
    if n < 32:
        return value[:4] + ELLIPSIS + value[-2:]
    return value[:6] + ELLIPSIS + value[-4:]


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
