"""The JSON result: versioned, documented in docs/json-schema.md and scanner/schema/result.schema.json."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from scanner.model import (
    CheckId,
    CommitInfo,
    Confidence,
    Credential,
    Finding,
    GitProvenance,
    InventoryItem,
    InventoryLocation,
    Location,
    Reference,
    Report,
    RuleId,
    ScanStats,
    Severity,
    Skip,
    TreeSettings,
    Verification,
    Violation,
    Weakening,
)
from scanner.report.formats.base import FormatOptions

SCHEMA_VERSION = "1.2"


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
            **({"tree_settings": _plain(report.tree_settings)} if report.tree_settings is not None else {}),
        },
        "summary": {
            "findings": len(report.findings),
            "by_severity": dict(sorted(sev.items())),
            "by_status": dict(sorted(status.items())),
            "credentials": len(report.credentials),
            "violations": len(report.violations),
            "references": len(report.references),
            "skipped": len(report.skipped),
            "inventory": len(report.inventory),
        },
        "findings": [finding_dict(f) for f in report.findings],
        "references": [{**_plain(r), "location": location_dict(r.location)} for r in report.references],
        "credentials": [_plain(c) for c in report.credentials],
        "violations": [_plain(v) for v in report.violations],
        "skipped": [asdict(s) for s in report.skipped],
        "unused_ignores": list(report.unused_ignores),
        "stats": asdict(report.stats),
        "notes": list(report.notes),
        "inventory": [_plain(i) for i in report.inventory],
    }


def render(report: Report, options: FormatOptions) -> str:
    """JSON text, stable key order, one trailing newline."""
    from scanner.safetext import json_safe  # DEL, C1, bidi and invisible characters as \u escapes

    return json_safe(json.dumps(report_dict(report), indent=2, ensure_ascii=False)) + "\n"


# --------------------------------------------------------------------------- loading (the inverse of report_dict)


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _dt_req(value: Any) -> datetime:
    moment = _dt(value)
    if moment is None:
        raise ValueError(f"expected a timestamp, got {value!r}")
    return moment


def _sev(value: Any) -> Severity:
    return Severity.parse(str(value or "info"))


def _load_location(d: Mapping[str, Any], root: str | None) -> Location:
    known = {f.name for f in fields(Location)} - {"root"}
    return Location(**{k: v for k, v in d.items() if k in known}, root=root)


def _load_commit(d: Mapping[str, Any] | None) -> CommitInfo | None:
    if not d:
        return None
    return CommitInfo(sha=d["sha"], author=d.get("author", ""), author_date=_dt_req(d["author_date"]),
                      committer_date=_dt_req(d.get("committer_date") or d["author_date"]))


def _load_git(d: Mapping[str, Any] | None) -> GitProvenance | None:
    if not d:
        return None
    introduced = _load_commit(d["introduced"])
    last_seen = _load_commit(d.get("last_seen")) or introduced
    assert introduced is not None and last_seen is not None
    return GitProvenance(repo=d.get("repo", ""), introduced=introduced, last_seen=last_seen,
                         removed_by=_load_commit(d.get("removed_by")), at_head=bool(d.get("at_head")),
                         refs=tuple(d.get("refs") or ()), paths=tuple(d.get("paths") or ()),
                         history_complete=bool(d.get("history_complete", True)))


def _load_verification(d: Mapping[str, Any] | None) -> Verification | None:
    if not d:
        return None
    return Verification(status=d.get("status", "unknown"), checked_at=_dt(d.get("checked_at")),
                        detail=d.get("detail") or "", identity=d.get("identity"),
                        scopes=tuple(d.get("scopes") or ()))


def _load_finding(d: Mapping[str, Any], root: str | None) -> Finding:
    locations = tuple(_load_location(loc, root) for loc in d.get("locations") or [d["location"]])
    return Finding(
        fingerprint=d["fingerprint"], rule_id=RuleId(d["rule_id"]), rule_name=d.get("rule_name", d["rule_id"]),
        provider=d.get("provider", ""), category=d.get("category", ""), kind=d.get("kind", ""),
        severity=_sev(d.get("severity")), confidence=Confidence.parse(d.get("confidence") or "medium"),
        secret_hash=d.get("secret_hash", ""), redacted=d.get("redacted", ""), locations=locations,
        status=d.get("status", "new"), status_reason=d.get("status_reason"),
        remediation=tuple(d.get("remediation") or ()), description=d.get("description") or "",
        validity=d.get("validity"), context_key=d.get("context_key"), git=_load_git(d.get("git")),
        verification=_load_verification(d.get("verification")), severity_reason=d.get("severity_reason") or "",
        secret_length=int(d.get("secret_length") or 0),
    )


def _load_credential(d: Mapping[str, Any]) -> Credential:
    times = {"created_at", "last_rotated_at", "last_used_at", "expires_at"}
    known = {f.name for f in fields(Credential)}
    kwargs: dict[str, Any] = {}
    for k, v in d.items():
        if k not in known:
            continue
        if k in times:
            kwargs[k] = _dt(v)
        elif k == "scopes":
            kwargs[k] = tuple(v or ())
        elif k == "attributes":
            kwargs[k] = tuple((str(a), str(b)) for a, b in (v or ()))
        else:
            kwargs[k] = v
    return Credential(**kwargs)


def _load_violation(d: Mapping[str, Any]) -> Violation:
    return Violation(check_id=CheckId(d["check_id"]), subject=d["subject"], severity=_sev(d.get("severity")),
                     message=d.get("message", ""), remediation=tuple(d.get("remediation") or ()))


def _load_inventory(d: Mapping[str, Any]) -> InventoryItem:
    known = {f.name for f in fields(InventoryLocation)}
    return InventoryItem(
        key=d["key"], provider=d.get("provider", ""), kind=d.get("kind", ""), rule_id=d.get("rule_id"),
        redacted=d.get("redacted", ""), severity=_sev(d.get("severity")), severity_reason=d.get("severity_reason", ""),
        summary=d.get("summary", ""),
        locations=tuple(InventoryLocation(**{k: v for k, v in loc.items() if k in known})
                        for loc in d.get("locations") or ()),
        findings=tuple(d.get("findings") or ()), credentials=tuple(d.get("credentials") or ()),
        first_seen=_dt(d.get("first_seen")), last_rotated=_dt(d.get("last_rotated")), age_days=d.get("age_days"),
        leaked=bool(d.get("leaked")), stored=bool(d.get("stored")),
        violations=tuple(_load_violation(v) for v in d.get("violations") or ()),
        steps=tuple(d.get("steps") or ()),
    )


def load_report(doc: Mapping[str, Any]) -> Report:
    """A Report from a JSON result (the inverse of ``report_dict``). Location roots are not stored; a result
    of a single target gets that target as root."""
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"unsupported result schema_version {version!r} (this credsweep reads {SCHEMA_VERSION})")
    scan = doc.get("scan") or {}
    targets = tuple(scan.get("targets") or ())
    root = targets[0] if len(targets) == 1 else None
    known_stats = {f.name for f in fields(ScanStats)}
    return Report(
        tool_version=(doc.get("tool") or {}).get("version", ""),
        started_at=_dt_req(scan.get("started_at")),
        finished_at=_dt(scan.get("finished_at")),
        scan_kind=scan.get("kind", "files"),
        targets=targets,
        findings=tuple(_load_finding(f, root) for f in doc.get("findings") or ()),
        skipped=tuple(Skip(**s) for s in doc.get("skipped") or ()),
        references=tuple(
            Reference(location=_load_location(r["location"], root), name=r["name"], reference=r["reference"],
                      provider=r.get("provider"))
            for r in doc.get("references") or ()
        ),
        credentials=tuple(_load_credential(c) for c in doc.get("credentials") or ()),
        violations=tuple(_load_violation(v) for v in doc.get("violations") or ()),
        unused_ignores=tuple(doc.get("unused_ignores") or ()),
        stats=ScanStats(**{k: v for k, v in (doc.get("stats") or {}).items() if k in known_stats}),
        notes=tuple(doc.get("notes") or ()),
        hash_key_id=((scan.get("hash") or {}).get("key_id")) or "default",
        inventory=tuple(_load_inventory(i) for i in doc.get("inventory") or ()),
        tree_settings=_load_tree(scan.get("tree_settings")),
    )


def _load_tree(d: Any) -> TreeSettings | None:
    if not isinstance(d, Mapping):
        return None
    weak = tuple(Weakening(kind=str(w.get("kind", "")), detail=str(w.get("detail", "")), source=str(w.get("source", "")),
                           count=w.get("count"), items=tuple(map(str, w.get("items") or ())))
                 for w in d.get("weakenings") or () if isinstance(w, Mapping))
    return TreeSettings(files=tuple(map(str, d.get("files") or ())), weakenings=weak,
                        disregarded=tuple(map(str, d.get("disregarded") or ())),
                        default_hash_key=bool(d.get("default_hash_key")))
