"""Offline validity checks named by rules (``validator:``). Pure functions of the secret text.

Each returns ``True`` (structurally valid), ``False`` (reject the match) or ``None`` (cannot tell). A rule whose
validator returns ``False`` drops the match: a GitHub token with a wrong checksum is a random look-alike.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import zlib
from collections.abc import Callable

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b62_decode(text: str) -> int | None:
    n = 0
    for ch in text:
        i = _BASE62.find(ch)
        if i < 0:
            return None
        n = n * 62 + i
    return n


def crc32_base62(token: str) -> bool | None:
    """GitHub (ghp_/gho_/ghu_/ghs_/ghr_) and npm (npm_) tokens: the last 6 characters are a base62 CRC32."""
    _, _, body = token.partition("_")
    if len(body) < 12:
        return None
    random_part, check = body[:-6], body[-6:]
    value = _b62_decode(check)
    return value is not None and value == zlib.crc32(random_part.encode())


def _b64json(part: str) -> dict[str, object] | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def jwt_claims(token: str) -> dict[str, object] | None:
    """Decode a JWT's claims without verifying it; None if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header = _b64json(parts[0])
    if header is None or "alg" not in header:
        return None
    return _b64json(parts[1])


def jwt(token: str) -> bool | None:
    """A JWT with a decodable header and JSON claims. An expired JWT is still reported (as expired)."""
    return jwt_claims(token) is not None


def jwt_expired(token: str, now: float | None = None) -> bool | None:
    """True when the JWT carries an ``exp`` claim in the past."""
    claims = jwt_claims(token)
    if not claims or not isinstance(claims.get("exp"), int | float):
        return None
    return float(claims["exp"]) < (now if now is not None else time.time())  # type: ignore[arg-type]


_PEM_BODY = re.compile(r"-----BEGIN[^-]*-----(.*?)-----END", re.S)


def pem(text: str) -> bool | None:
    """A PEM private key whose body is base64 of a plausible length (or an OpenSSH / PGP armour)."""
    m = _PEM_BODY.search(text)
    if not m:
        return False
    body = "".join(line for line in m.group(1).splitlines() if line and ":" not in line)
    body = "".join(body.split())
    if len(body) < 40:
        return False
    try:
        base64.b64decode(body + "=" * (-len(body) % 4), validate=False)
    except (binascii.Error, ValueError):
        return False
    return True


def pem_escaped(text: str) -> bool | None:
    """A PEM private key stored inside a JSON string, with its line breaks written as ``\\n`` escapes."""
    return pem(text.replace("\\r\\n", "\n").replace("\\n", "\n"))


def uuid4(text: str) -> bool | None:
    """Firecrawl-style ids: 32 hex (dashes optional) with UUID v4 version and variant nibbles."""
    h = text.replace("-", "")[-32:].lower()
    if len(h) != 32:
        return False
    return h[12] == "4" and h[16] in "89ab"


def base64_decodes(text: str) -> bool | None:
    """The value decodes as base64 (Bedrock long-term keys, Docker auths)."""
    try:
        base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_DEFAULT_SECRETS = frozenset(
    {
        "password", "passwd", "pass", "pwd", "secret", "admin", "root", "test", "user", "username", "guest",
        "postgres", "mysql", "mongo", "redis", "rabbitmq", "changeme", "default", "letmein", "qwerty", "example",
        "abcdef.0123456789abcdef",  # kubeadm documentation bootstrap token
        "token-abc123",  # vLLM documentation --api-key value
    }
)


def not_default_secret(text: str) -> bool | None:
    """Reject well-known default or documentation values (``password``, ``guest``, kubeadm's doc token)."""
    low = text.lower()
    if low in _DEFAULT_SECRETS or low.rstrip("0123456789!") in _DEFAULT_SECRETS:
        return False
    return None


VALIDATORS: dict[str, Callable[[str], bool | None]] = {
    "crc32-base62": crc32_base62,
    "github-crc32": crc32_base62,
    "npm-crc32": crc32_base62,
    "jwt": jwt,
    "pem": pem,
    "pem-json": pem_escaped,
    "uuid4": uuid4,
    "base64": base64_decodes,
    "not-default": not_default_secret,
}


def validate(name: str, secret: str) -> bool | None:
    """Run a named validator; unknown names are a rule error caught by ``rules check``."""
    return VALIDATORS[name](secret)
