"""Offline checks that need no network and always run: checksums, JWT expiry, PEM structure, GCP key-file shape.

Each returns a ``Verification`` (``offline-valid``, ``offline-invalid`` or ``expired``) or None when the check says
nothing about the finding. Pure functions of the secret text, except the service-account shape check, which rereads
the local file the key was found in (never git objects, never the network).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from scanner.detect import validators
from scanner.detect.ruleset import Rule
from scanner.model import Finding, Location, Verification

_CHECKSUM_VALIDATORS = frozenset({"crc32-base62", "github-crc32", "npm-crc32"})
_PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]*?)-----(.*?)-----END \1-----", re.S)
_JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_OIDS = {
    bytes.fromhex("2a864886f70d010101"): "RSA",
    bytes.fromhex("2a8648ce3d0201"): "EC",
    bytes.fromhex("2b6570"): "Ed25519",
    bytes.fromhex("2b6571"): "Ed448",
    bytes.fromhex("2a8648ce380401"): "DSA",
}
_MAX_SA_FILE = 1 << 20


def _tlv(der: bytes, pos: int) -> tuple[int, int, int] | None:
    """(tag, start of content, end of content) of the DER element at ``pos``, or None if malformed."""
    if pos + 2 > len(der):
        return None
    tag, first = der[pos], der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(der):
            return None
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    if pos + length > len(der):
        return None
    return tag, pos, pos + length


def der_private_key(der: bytes) -> str | None:
    """Describe a DER private key (PKCS#8, PKCS#1 RSA, SEC1 EC), or None when it is not one."""
    outer = _tlv(der, 0)
    if outer is None or outer[0] != 0x30 or outer[2] != len(der):
        return None
    version = _tlv(der, outer[1])
    if version is None or version[0] != 0x02:
        return None
    nxt = _tlv(der, version[2])
    if nxt is None:
        return None
    if nxt[0] == 0x30:  # PKCS#8: AlgorithmIdentifier SEQUENCE { OID, params }
        oid = _tlv(der, nxt[1])
        if oid is None or oid[0] != 0x06:
            return None
        algo = _OIDS.get(der[oid[1] : oid[2]], "unknown-algorithm")
        key = _tlv(der, nxt[2])
        return f"PKCS#8 {algo} private key" if key is not None and key[0] == 0x04 else None
    if nxt[0] == 0x02:  # PKCS#1 RSA: version, modulus, ...
        return "PKCS#1 RSA private key" if nxt[2] - nxt[1] >= 64 else None
    if nxt[0] == 0x04:  # SEC1 EC: version 1, OCTET STRING private key
        return "SEC1 EC private key"
    return None


def pem_check(text: str) -> Verification | None:
    """Parse a PEM private key block: structure only, no key material leaves this function."""
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n")
    m = _PEM_RE.search(text)
    if m is None or "PRIVATE KEY" not in m.group(1):
        return None
    label, body = m.group(1), m.group(2)
    if "ENCRYPTED" in label or "Proc-Type: 4,ENCRYPTED" in body:
        return Verification(status="offline-valid", checked_at=None, detail="encrypted private key (passphrase protected)")
    lines = [ln.strip() for ln in body.splitlines() if ln.strip() and ":" not in ln]
    if "PGP" in label:
        lines = [ln for ln in lines if not ln.startswith("=")]  # armour checksum line
    try:
        der = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        return Verification(status="offline-invalid", checked_at=None, detail="PEM body is not valid base64")
    if "OPENSSH" in label:
        ok = der.startswith(b"openssh-key-v1\0")
        return Verification(status="offline-valid" if ok else "offline-invalid", checked_at=None,
                            detail="OpenSSH private key" if ok else "not an OpenSSH key container")
    if "PGP" in label:
        return Verification(status="offline-valid", checked_at=None, detail="PGP private key armour decodes")
    kind = der_private_key(der)
    if kind is None:
        return Verification(status="offline-invalid", checked_at=None,
                            detail="PEM body is not a DER private key (random, truncated or a placeholder)")
    return Verification(status="offline-valid", checked_at=None, detail=kind)


def jwt_check(token: str, now: datetime) -> Verification | None:
    """Decode a JWT's claims (the signature cannot be checked offline): expiry, issuer, role or scope claims."""
    claims = validators.jwt_claims(token)
    if claims is None:
        return None
    iss = claims.get("iss")
    scopes: list[str] = []
    for name in ("role", "scope", "scp", "access"):
        value = claims.get(name)
        items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
        scopes.extend(f"{name}:{v}"[:100] for v in items if isinstance(v, str | int))
    exp = claims.get("exp")
    identity = f"iss={iss}"[:200] if isinstance(iss, str) else None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        when = datetime.fromtimestamp(float(exp), UTC) if 0 < exp < 1e11 else None
        if when is not None and when < now:
            return Verification(status="expired", checked_at=None, detail=f"JWT expired {when.date().isoformat()}",
                                identity=identity, scopes=tuple(scopes))
        detail = f"JWT well-formed, expires {when.date().isoformat()}" if when else "JWT well-formed"
    else:
        detail = "JWT well-formed, no expiry claim"
    return Verification(status="offline-valid", checked_at=None, detail=detail + " (signature not checked)",
                        identity=identity, scopes=tuple(scopes))


def service_account_shape(doc: Mapping[str, object], private_key: str) -> list[str]:
    """What a Google service-account key file lacks (empty when its shape is complete)."""
    missing = []
    if doc.get("type") != "service_account":
        missing.append('type "service_account"')
    for name in ("project_id", "client_id", "token_uri"):
        if not isinstance(doc.get(name), str) or not doc.get(name):
            missing.append(name)
    kid = doc.get("private_key_id")
    if not isinstance(kid, str) or not re.fullmatch(r"[0-9a-f]{40}", kid):
        missing.append("private_key_id (40 hex)")
    email = doc.get("client_email")
    if not isinstance(email, str) or not email.endswith(".gserviceaccount.com"):
        missing.append("client_email (…gserviceaccount.com)")
    key = doc.get("private_key")
    if not isinstance(key, str) or key.strip() != private_key.replace("\\n", "\n").strip():
        missing.append("private_key")
    return missing


def _read_json_file(loc: Location) -> Mapping[str, object] | None:
    if loc.source != "file" or loc.commit is not None or loc.root is None or loc.decoded:
        return None
    path = Path(loc.root) / loc.path
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SA_FILE:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, Mapping) else None


def service_account_check(value: str, loc: Location) -> Verification | None:
    """PEM structure of the key, plus the JSON shape of the key file when it is a local JSON file."""
    pem = pem_check(value)
    if pem is not None and pem.status == "offline-invalid":
        return pem
    doc = _read_json_file(loc)
    if doc is None:
        return pem
    missing = service_account_shape(doc, value)
    if missing:
        return Verification(status="offline-invalid", checked_at=None,
                            detail="service-account JSON incomplete: missing " + ", ".join(missing))
    what = pem.detail if pem is not None else "private key"
    return Verification(status="offline-valid", checked_at=None, detail=f"service-account JSON shape complete; {what}")


def check(rule: Rule, value: str, loc: Location, now: datetime) -> Verification | None:
    """The offline verification that applies to one finding, if any."""
    result: Verification | None = None
    if rule.validator in _CHECKSUM_VALIDATORS:
        ok = validators.crc32_base62(value)
        if ok is not None:
            result = Verification(status="offline-valid" if ok else "offline-invalid", checked_at=None,
                                  detail="checksum valid (base62 CRC32)" if ok else "checksum does not match")
    elif rule.kind == "service-account-key" and "google" in rule.id:
        result = service_account_check(value, loc)
    elif rule.validator in ("pem", "pem-json") or "PRIVATE KEY-----" in value:
        result = pem_check(value)
    elif value.startswith("LS0tLS1CRUdJTi"):  # base64 of "-----BEGIN": kubeconfig client-key-data and the like
        try:
            result = pem_check(base64.b64decode(value + "=" * (-len(value) % 4)).decode("ascii"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            result = Verification(status="offline-invalid", checked_at=None, detail="not base64 of a PEM block")
    elif rule.validator == "jwt" or _JWT_RE.match(value):
        result = jwt_check(value, now)
    return replace(result, checked_at=now) if result is not None else None


def annotate(findings: tuple[Finding, ...], values: Mapping[str, str], rules: Mapping[str, Rule],
             now: datetime) -> tuple[Finding, ...]:
    """Attach offline verifications to findings (``values`` maps fingerprint to secret)."""
    out = []
    for f in findings:
        value, rule = values.get(f.fingerprint), rules.get(f.rule_id)
        v = check(rule, value, f.location, now) if value is not None and rule is not None else None
        if v is not None and v.status == "expired" and not f.severity_reason:
            f = replace(f, severity_reason=f"{v.detail}; still rotate it if the issuer's signing key is shared")
        out.append(replace(f, verification=v) if v is not None else f)
    return tuple(out)
