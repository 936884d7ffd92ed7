"""The only code that turns a secret into displayable text: a redacted preview and a keyed hash.

Results never carry a plain hash of a secret (a short secret's SHA-256 can be brute-forced). Every hash is an
HMAC-SHA256 under an organisation key (``CREDSWEEP_HASH_KEY`` or ``hash_key_env`` in the configuration), so the
same secret gets the same hash across repositories, Vault and AWS within one organisation, and nothing outside it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
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
