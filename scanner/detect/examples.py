"""Rule examples with generated fake values: ``{{hex:32}}``, ``{{fake:N}}``, checksummed tokens and the like
expand at test time into obviously fake credentials, so no real-looking secret is committed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import zlib

from scanner.errors import RuleError

_ALPHABETS = {
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "alnum": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "alpha": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digits": "0123456789",
    "lalnum": "abcdefghijklmnopqrstuvwxyz0123456789",
    "ualnum": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "b64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    "b64": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "b32": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
}


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


_TEMPLATE = re.compile(r"\{\{([A-Za-z0-9_-]+)(?::([^{}]*))?\}\}")


SECRET_OPEN, SECRET_CLOSE = "[[", "]]"


def base62(n: int, width: int) -> str:
    """Fixed-width base62 (0-9A-Za-z), as GitHub and npm checksums use."""
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _BASE62[r] + out
    return out.rjust(width, "0")


def crc32_token(prefix: str, rng: random.Random, body_len: int = 30) -> str:
    """A token with a valid base62 CRC32 checksum over its random part (GitHub/npm style)."""
    body = "".join(rng.choice(_ALPHABETS["alnum"]) for _ in range(body_len))
    return prefix + body + base62(zlib.crc32(body.encode()), 6)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _fake(kind: str, arg: str | None, rng: random.Random) -> str:
    if kind in _ALPHABETS:
        n = int(arg or "32")
        return "".join(rng.choice(_ALPHABETS[kind]) for _ in range(n))
    if kind == "crc32":  # {{crc32:ghp_}} -> GitHub/npm style token with a valid checksum
        return crc32_token(arg or "", rng)
    if kind == "uuid":
        h = "".join(rng.choice(_ALPHABETS["hex"]) for _ in range(32))
        h = h[:12] + "4" + h[13:16] + rng.choice("89ab") + h[17:]
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if kind == "jwt":  # {{jwt:issuer}} -> a structurally valid, unsigned-looking JWT
        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        claims: dict[str, object] = {"iss": arg or "https://issuer.example.test", "sub": "fake-" + str(rng.randrange(10**6))}
        claims["exp"] = 4102444800  # 2100-01-01
        payload = _b64url(json.dumps(claims).encode())
        sig = "".join(rng.choice(_ALPHABETS["b64url"]) for _ in range(43))
        return f"{header}.{payload}.{sig}"
    if kind == "pem":  # {{pem:RSA}} -> a PEM block with a random base64 body
        label = f"{arg} PRIVATE KEY" if arg else "PRIVATE KEY"
        body = base64.b64encode(rng.randbytes(600)).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN " + label + "-----\n" + "\n".join(lines) + "\n-----END " + label + "-----"
    if kind == "b64of":  # {{b64of:text}} -> base64 of a literal text
        return base64.b64encode((arg or "").encode()).decode()
    if kind == "lit":  # {{lit:text}} -> the text itself (to break up a literal in the rule file)
        return arg or ""
    raise RuleError(f"unknown example template '{{{{{kind}}}}}'")


def expand_example(template: str, seed: str) -> tuple[str, str | None]:
    """Expand fake-value templates; return (text, expected secret or None when unmarked)."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    text = _TEMPLATE.sub(lambda m: _fake(m.group(1), m.group(2), rng), template)
    start = text.find(SECRET_OPEN)
    if start < 0:
        return text, None
    end = text.find(SECRET_CLOSE, start + 2)
    if end < 0:
        raise RuleError(f"example {template!r}: '[[' without ']]'")
    secret = text[start + 2 : end]
    return text[:start] + secret + text[end + 2 :], secret
