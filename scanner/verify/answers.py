"""Reading a provider's answer: live, invalid or unknown, with identity and scopes, never echoing the key."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scanner.detect.verifyspec import Extract, VerifySpec
from scanner.model import Verification
from scanner.verify.client import Response

_NOT_JSON = object()


def json_values(doc: Any, path: str) -> list[Any]:
    """Values at a dotted path; ``name[]`` walks every item of a list."""
    current = [doc]
    for seg in path.split("."):
        many = seg.endswith("[]")
        name = seg[:-2] if many else seg
        nxt: list[Any] = []
        for item in current:
            value = item.get(name) if isinstance(item, Mapping) else None
            if value is None:
                continue
            if many:
                nxt.extend(value if isinstance(value, list) else [])
            else:
                nxt.append(value)
        current = nxt
    return current


def _text(value: Any, secret: str) -> str | None:
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        return None
    text = "".join(c for c in text if c.isprintable())[:120]
    if not text or (len(secret) >= 8 and (secret in text or text in secret and len(text) >= 8)):
        return None  # never echo the key (or a piece of it) back into a report
    return text


def _extract(extracts: tuple[Extract, ...], doc: Any, headers: Mapping[str, str], secret: str) -> list[str]:
    out: list[str] = []
    for e in extracts:
        if e.header:
            raw = headers.get(e.header.lower(), "")
            values: list[Any] = [v.strip() for v in raw.split(",") if v.strip()]
        else:
            values = json_values(doc, e.json or "") if doc is not _NOT_JSON else []
        for v in values:
            text = _text(v, secret)
            if text is not None:
                out.append(e.prefix + text)
    return list(dict.fromkeys(out))


def _json_matches(doc: Any, cond: tuple[tuple[str, tuple[Any, ...]], ...]) -> bool:
    if not cond:
        return True
    if doc is _NOT_JSON:
        return False
    return all(any(v in wanted for v in json_values(doc, path)) for path, wanted in cond)


def classify(spec: VerifySpec, resp: Response) -> tuple[str, str]:
    """(live | restricted | invalid | unknown, why) for one answer."""
    try:
        doc: Any = json.loads(resp.body) if resp.body else _NOT_JSON
    except (ValueError, UnicodeDecodeError):
        doc = _NOT_JSON
    status = resp.status
    if status == 429:
        return "unknown", "rate limited (HTTP 429)"
    result = None
    for a in spec.answers:
        if (not a.status or status in a.status) and _json_matches(doc, a.json):
            result = a.result
            break
    if result is None:
        if status in spec.live:
            result = "live"
        elif status in spec.restricted:
            result = "restricted"
        elif status in spec.invalid:
            result = "invalid"
        else:
            return "unknown", f"unexpected answer (HTTP {status})"
    if result in ("live", "restricted") and spec.reads_json and spec.type == "http" and doc is _NOT_JSON:
        return "unknown", f"unexpected answer (HTTP {status}, not JSON)"
    if result == "invalid" and not spec.trust_invalid:
        return "unknown", f"HTTP {status}: {spec.note or 'this check cannot tell a revoked key from one it cannot see'}"
    return result, f"HTTP {status}"


def _sts_fields(body: bytes) -> dict[str, str]:
    text = body.decode("utf-8", "replace")
    return {k: m.group(1) for k in ("Arn", "Account", "UserId", "Code")
            if (m := re.search(rf"<{k}>([^<]{{1,300}})</{k}>", text))}


def read_answer(spec: VerifySpec, resp: Response, secret: str, host: str, now: datetime) -> Verification:
    """Turn one response into a Verification with identity, scopes and details where the answer shows them."""
    if spec.type == "aws-sts":
        fields_ = _sts_fields(resp.body)
        if resp.status == 200 and "Arn" in fields_:
            arn = fields_["Arn"]
            return Verification(status="live", checked_at=now, detail=f"HTTP 200 from {host}; account {fields_.get('Account', '?')}",
                                identity=arn, scopes=("root",) if arn.endswith(":root") else ())
        if resp.status == 403 and fields_.get("Code") in ("InvalidClientTokenId", "SignatureDoesNotMatch"):
            return Verification(status="invalid", checked_at=now, detail=f"HTTP 403 from {host}: {fields_['Code']}")
        why = "rate limited (HTTP 429)" if resp.status == 429 else f"unexpected answer (HTTP {resp.status})"
        return Verification(status="unknown", checked_at=now, detail=f"{why} from {host}")
    result, why = classify(spec, resp)
    if result in ("unknown", "invalid"):
        return Verification(status=result, checked_at=now, detail=f"{why} from {host}")
    try:
        doc: Any = json.loads(resp.body) if resp.body else _NOT_JSON
    except (ValueError, UnicodeDecodeError):
        doc = _NOT_JSON
    identity = _extract(spec.identity, doc, resp.headers, secret)
    scopes = _extract(spec.scopes, doc, resp.headers, secret)
    details = _extract(spec.details, doc, resp.headers, secret)
    if result == "restricted":
        scopes.append("restricted")
    detail = f"{why} from {host}" + (" (key is live but restricted)" if result == "restricted" else "")
    if details:
        detail += "; " + ", ".join(details[:12])
    return Verification(status="live", checked_at=now, detail=detail, identity=", ".join(identity[:6]) or None,
                        scopes=tuple(scopes[:64]))


def is_admin(spec: VerifySpec, v: Verification) -> bool:
    """A live key whose kind or scopes give administrative power."""
    if v.status != "live":
        return False
    if spec.admin_when_live or (spec.type == "aws-sts" and "root" in v.scopes):
        return True
    return any(fnmatch.fnmatchcase(s.lower(), p.lower()) for s in v.scopes for p in spec.admin_scopes)
