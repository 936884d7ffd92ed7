"""The JSON result: versioned, documented in docs/json-schema.md and scanner/schema/result.schema.json."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from scanner.formats.base import FormatOptions
from scanner.model import Finding, Location, Report

SCHEMA_VERSION = "1.0"


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def location_dict(loc: Location) -> dict[str, Any]:
    """A location as JSON; paths are relative to the scanned root."""
    d = _plain(loc)
    d.pop("root", None)
    return d  # type: ignore[no-any-return]


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as JSON. Carries the redacted value and a keyed hash, never the secret."""
    return {
        "fingerprint": f.fingerprint,
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "provider": f.provider,
        "category": f.category,
        "kind": f.kind,
        "severity": f.severity.label,
        "severity_reason": f.severity_reason,
        "confidence": f.confidence.label,
        "status": f.status,
        "status_reason": f.status_reason,
        "redacted": f.redacted,
        "secret_hash": f.secret_hash,
        "secret_length": f.secret_length,
        "validity": f.validity,
        "context_key": f.context_key,
        "description": f.description,
        "remediation": list(f.remediation),
        "location": location_dict(f.location),
        "locations": [location_dict(loc) for loc in f.locations],
        "git": _plain(f.git) if f.git else None,
        "verification": _plain(f.verification) if f.verification else None,
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The whole result as a JSON-ready dict."""
    sev = Counter(f.severity.label for f in report.findings)
    status = Counter(f.status for f in report.findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "credsweep", "version": report.tool_version},
        "scan": {
            "kind": report.scan_kind,
            "targets": list(report.targets),
            "started_at": report.started_at.isoformat(),
            "finished_at": report.finished_at.isoformat() if report.finished_at else None,
            "hash": {"algorithm": "hmac-sha256", "key_id": report.hash_key_id},
        },
        "summary": {
            "findings": len(report.findings),
            "by_severity": dict(sorted(sev.items())),
            "by_status": dict(sorted(status.items())),
            "credentials": len(report.credentials),
            "violations": len(report.violations),
            "references": len(report.references),
            "skipped": len(report.skipped),
        },
        "findings": [finding_dict(f) for f in report.findings],
        "references": [{**_plain(r), "location": location_dict(r.location)} for r in report.references],
        "credentials": [_plain(c) for c in report.credentials],
        "violations": [_plain(v) for v in report.violations],
        "skipped": [asdict(s) for s in report.skipped],
        "unused_ignores": list(report.unused_ignores),
        "stats": asdict(report.stats),
        "notes": list(report.notes),
    }


def render(report: Report, options: FormatOptions) -> str:
    """JSON text, stable key order, one trailing newline."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
