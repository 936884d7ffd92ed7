r"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

- One run per category: code findings (files, repo history) always; Vault and AWS only with
  ``FormatOptions.include_cloud`` (``--sarif-include-cloud``), as separate runs with logical locations, because
  they have no file in the repository. Each run has its own ``automationDetails.id`` (``credsweep/<category>/``):
  GitHub rejects an upload with two runs of the same tool and category.
- Rules come from the findings: id, name, descriptions, help (text and markdown, with the remediation steps),
  tags (``security``, ``secret``, provider, CWE-798), precision and ``security-severity``.
- Results carry ruleId + ruleIndex, a level from the severity, a message with the redacted value, a relative
  artifact URI under ``%SRCROOT%``, a full region, and ``partialFingerprints["credsweep/finding/v1"]``: the
  content-based finding fingerprint. ``primaryLocationLineHash`` is left to ``upload-sarif``, which computes it
  with GitHub's own algorithm (a home-made one draws "inconsistent fingerprint" warnings).
- History-only findings point to the path and line in the introducing commit and carry the commit in properties.
- The runner's absolute root is not in the log: ``originalUriBaseIds`` defines ``%SRCROOT%`` without a ``uri``
  (GitHub resolves artifact URIs against the repository), and absolute skip targets under the root are written
  relative to it. ``FormatOptions.absolute_root`` (``--sarif-absolute-root``) adds the ``file://`` URI of the root.
- Message texts are escaped with ``safetext.display`` (no control or bidi characters reach a SARIF viewer), and
  the JSON text writes DEL, C1, bidi and invisible characters as ``\uXXXX`` escapes.
- Skips become ``toolExecutionNotifications``. Past GitHub's limits (25,000 results per run, 10 MB gzipped) the
  lowest-severity results are left out, and a notification says how many.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scanner.model import Finding, Location, Report, Severity, Skip, Violation
from scanner.report.formats.base import FormatOptions
from scanner.report.formats.descriptors import (
    RuleIndex,
    check_rule,
    finding_rule,
    help_uris,
    level_from_severity,
)
from scanner.safetext import display, json_safe

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


INFORMATION_URI = "https://github.com/credsweep/credsweep"


FINGERPRINT_KEY = "credsweep/finding/v1"


SRCROOT = "%SRCROOT%"


MAX_RESULTS = 25_000  # per run (GitHub rejects more)


MAX_GZIP_BYTES = 10_000_000  # per file, gzip-compressed (GitHub rejects more)


MAX_NOTIFICATIONS = 1_000


MAX_RELATED = 9  # GitHub keeps at most 10 locations per result


CLOUD_SOURCES = ("vault", "aws")


def _is_cloud(loc: Location) -> bool:
    return loc.source in CLOUD_SOURCES


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path.replace("\\", "/").lstrip("/"), safe="/-_.~@+")


def _region(loc: Location, snippet: str) -> dict[str, Any]:
    line = loc.line or 1
    region: dict[str, Any] = {"startLine": line}
    if loc.column:
        region["startColumn"] = loc.column
    region["endLine"] = loc.end_line or line
    if loc.end_column:
        region["endColumn"] = loc.end_column
    elif loc.column:
        region["endColumn"] = loc.column + 1
    region["snippet"] = {"text": snippet}
    if loc.line is None and loc.offset is not None:
        region["byteOffset"] = loc.offset  # a printable run in a binary file: the line is not meaningful
    return region


def _physical(loc: Location, snippet: str, message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(loc.path), "uriBaseId": SRCROOT},
            "region": _region(loc, snippet),
        }
    }
    if message:
        out["message"] = {"text": display(message)}
    return out


def _code_locations(f: Finding) -> list[Location]:
    """Working-tree places first; a history-only finding leads with its introducing commit."""
    code = [loc for loc in f.locations if not _is_cloud(loc)]
    if f.git is not None and not f.git.at_head:
        intro = f.git.introduced.sha
        return sorted(code, key=lambda loc: (loc.commit != intro, loc.commit is None))
    return sorted(code, key=lambda loc: loc.commit is not None)


def _place_text(loc: Location) -> str:
    text = loc.path + (f" line {loc.line}" if loc.line else f" byte {loc.offset}" if loc.offset is not None else "")
    if loc.commit:
        text += f" in commit {loc.commit[:12]}"
    return text


def _finding_properties(f: Finding, primary: Location) -> dict[str, Any]:
    props: dict[str, Any] = {
        "fingerprint": f.fingerprint,
        "severity": f.severity.label,
        "confidence": f.confidence.label,
        "status": f.status,
        "provider": f.provider,
        "kind": f.kind,
        "redacted": f.redacted,
        "occurrences": len(f.locations),
    }
    if primary.commit:
        props["commit"] = primary.commit
    if f.git is not None:
        props["introducedIn"] = f.git.introduced.sha
        props["introducedAt"] = f.git.introduced.author_date.isoformat()
        props["atHead"] = f.git.at_head
        if f.git.removed_by is not None:
            props["removedBy"] = f.git.removed_by.sha
    if f.verification is not None:
        props["verification"] = f.verification.status
    if primary.key_path:
        props["keyPath"] = primary.key_path
    if primary.decoded:
        props["decoded"] = primary.decoded
    return props


def _suppressions(f: Finding) -> list[dict[str, Any]] | None:
    if f.status == "new":
        return None
    kind = "inSource" if f.status == "allowed" else "external"
    return [{"kind": kind, "status": "accepted", "justification": f.status_reason or f.status}]


def _finding_result(f: Finding, rule_index: int) -> dict[str, Any] | None:
    locs = _code_locations(f)
    if not locs:
        return None
    primary = locs[0]
    history = f.git is not None and not f.git.at_head
    first_step = f.remediation[0] if f.remediation else "Rotate it and move it to a secret store."
    where = "was committed in history (no longer at HEAD)" if history else "found"
    message = f"{f.rule_name} {f.redacted} {where} at {_place_text(primary)}. {first_step}"
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": level_from_severity(f.severity),
        "message": {"text": display(message)},
        "locations": [_physical(primary, f.redacted)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": _finding_properties(f, primary),
    }
    related = [_physical(loc, f.redacted, f"Also at {_place_text(loc)}") for loc in locs[1 : 1 + MAX_RELATED]]
    for i, rel in enumerate(related):
        rel["id"] = i + 1
    if related:
        result["relatedLocations"] = related
    sup = _suppressions(f)
    if sup:
        result["suppressions"] = sup
    return result


def _logical(name: str, kind: str) -> dict[str, Any]:
    return {"logicalLocations": [{"name": name, "fullyQualifiedName": name, "kind": kind}]}


def _cloud_finding_result(f: Finding, rule_index: int, source: str) -> dict[str, Any] | None:
    locs = [loc for loc in f.locations if loc.source == source]
    if not locs:
        return None
    where = locs[0].path + (f" ({locs[0].key_path})" if locs[0].key_path else "")
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": level_from_severity(f.severity),
        "message": {"text": display(f"{f.rule_name} {f.redacted} stored at {where}.")},
        "locations": [_logical(loc.path, "resource") for loc in locs[: 1 + MAX_RELATED]],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"fingerprint": f.fingerprint, "severity": f.severity.label, "source": source},
    }
    sup = _suppressions(f)
    if sup:
        result["suppressions"] = sup
    return result


def _violation_result(v: Violation, rule_index: int, source: str) -> dict[str, Any]:
    import hashlib

    key = hashlib.sha256(f"{v.check_id}\0{v.subject}".encode()).hexdigest()[:32]
    return {
        "ruleId": f"hygiene/{v.check_id.lower()}",
        "ruleIndex": rule_index,
        "level": level_from_severity(v.severity),
        "message": {"text": display(f"{v.message} ({v.subject}).")},
        "locations": [_logical(v.subject, "resource")],
        "partialFingerprints": {FINGERPRINT_KEY: key},
        "properties": {"check": v.check_id, "subject": v.subject, "severity": v.severity.label, "source": source},
    }


def _notification(ident: str, level: str, text: str) -> dict[str, Any]:
    return {"descriptor": {"id": ident}, "level": level, "message": {"text": display(text)}}


def _relative(target: str, root: str | None) -> str:
    """A skip target under the scanned root, relative to it (the log does not carry the runner's paths)."""
    if root and target.startswith("/"):
        import os.path

        base = os.path.abspath(root)
        if target == base or target.startswith(base.rstrip("/") + "/"):
            return os.path.relpath(target, base)
    return target


def _skip_notifications(skipped: Iterable[Skip], root: str | None = None) -> list[dict[str, Any]]:
    items = list(skipped)
    out = []
    for s in items[:MAX_NOTIFICATIONS]:
        detail = f" ({s.detail})" if s.detail else ""
        level = "note" if s.reason in ("binary", "streamed") else "warning"
        out.append(_notification(f"credsweep/skipped/{s.reason}", level,
                                 f"Not scanned: {s.source} {_relative(s.target, root)}: {s.reason}{detail}."))
    if len(items) > MAX_NOTIFICATIONS:
        out.append(_notification("credsweep/skipped/more", "warning",
                                 f"{len(items) - MAX_NOTIFICATIONS} more items were not scanned; see the JSON result."))
    return out


@dataclass(slots=True)
class _Run:
    category: str
    rules: RuleIndex
    results: list[tuple[Severity, dict[str, Any]]]
    skipped: list[Skip]
    root: str | None


def _build_runs(report: Report, opts: FormatOptions) -> list[_Run]:
    code = _Run(category=report.scan_kind if report.scan_kind not in CLOUD_SOURCES else "code",
                rules=RuleIndex([], {}), results=[], skipped=[], root=None)
    cloud = {s: _Run(category=s, rules=RuleIndex([], {}), results=[], skipped=[], root=None) for s in CLOUD_SOURCES}
    uris = help_uris() if report.findings else {}
    rule_severity: dict[str, Severity] = {}
    for f in report.findings:
        rule_severity[f.rule_id] = max(rule_severity.get(f.rule_id, f.severity), f.severity)
    for f in report.findings:
        sev = rule_severity[f.rule_id]
        if any(not _is_cloud(loc) for loc in f.locations):
            idx = code.rules.add(f.rule_id, lambda f=f, sev=sev: finding_rule(f, sev, uris.get(f.rule_id)))
            res = _finding_result(f, idx)
            if res is not None:
                code.results.append((f.severity, res))
                code.root = code.root or next((loc.root for loc in f.locations if loc.root), None)
        if opts.include_cloud:
            for source in CLOUD_SOURCES:
                if any(loc.source == source for loc in f.locations):
                    run = cloud[source]
                    idx = run.rules.add(f.rule_id, lambda f=f, sev=sev: finding_rule(f, sev, uris.get(f.rule_id)))
                    cres = _cloud_finding_result(f, idx, source)
                    if cres is not None:
                        run.results.append((f.severity, cres))
    cred_source = {c.id: c.source for c in report.credentials}
    if opts.include_cloud:
        check_sev: dict[str, Severity] = {}
        for v in report.violations:
            check_sev[v.check_id] = max(check_sev.get(v.check_id, v.severity), v.severity)
        for v in report.violations:
            src = cred_source.get(v.subject)
            if src is None or src not in cloud:
                continue  # about a code finding (already a result) or an unknown subject
            crun = cloud[src]
            idx = crun.rules.add(f"hygiene/{v.check_id.lower()}",
                                 lambda v=v: check_rule(v, check_sev[v.check_id]))
            crun.results.append((v.severity, _violation_result(v, idx, src)))
    for s in report.skipped:
        (cloud[s.source] if s.source in cloud and opts.include_cloud else code).skipped.append(s)
    runs = [code]
    if opts.include_cloud:
        runs += [r for s, r in cloud.items() if r.results or r.skipped or any(c.source == s for c in
                                                                               report.credentials)]
    return runs


def _run_dict(run: _Run, report: Report, limit: int, absolute_root: bool = False) -> tuple[dict[str, Any], int]:
    ordered = sorted(run.results, key=lambda sr: -sr[0])  # stable: keeps report order within a severity
    kept = [r for _, r in ordered[:limit]]
    dropped = len(ordered) - len(kept)
    notifications = _skip_notifications(run.skipped, None if absolute_root else run.root)
    if dropped:
        lowest = ordered[len(kept)][0].label if dropped else ""
        notifications.insert(0, _notification(
            "credsweep/truncated", "warning",
            f"{dropped} of {len(ordered)} results (severity {lowest} and below) were left out to stay within "
            f"GitHub code scanning limits ({MAX_RESULTS} results per run, {MAX_GZIP_BYTES // 1_000_000} MB "
            "gzipped per upload). The JSON or HTML report has every finding."))
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "startTimeUtc": _utc(report.started_at),
        "toolExecutionNotifications": notifications,
    }
    if report.finished_at is not None:
        invocation["endTimeUtc"] = _utc(report.finished_at)
    tree = report.tree_settings
    if tree is not None:  # settings from the scanned tree: every weakening, with the file it came from
        invocation["toolConfigurationNotifications"] = [
            _notification(f"credsweep/tree-settings/{w.kind}", "warning",
                          f"Settings from the scanned tree ({w.source}): {w.detail}"
                          + ("" if w.detail.endswith(".") else "."))
            for w in tree.weakenings
        ] + [_notification("credsweep/tree-settings/not-read", "note",
                           f"Settings from the scanned tree not read (--no-repo-config): {f}.")
             for f in tree.disregarded]
        invocation["properties"] = {"treeSettings": {
            "files": list(tree.files), "disregarded": list(tree.disregarded), "defaultHashKey": tree.default_hash_key,
            "weakenings": [{"kind": w.kind, "source": w.source, "detail": w.detail, "count": w.count,
                            "items": list(w.items)} for w in tree.weakenings]}}
    d: dict[str, Any] = {
        "tool": {"driver": {
            "name": "credsweep",
            "version": report.tool_version,
            "semanticVersion": report.tool_version,
            "informationUri": INFORMATION_URI,
            "rules": run.rules.descriptors,
        }},
        "automationDetails": {"id": f"credsweep/{run.category}/"},
        "invocations": [invocation],
        "results": kept,
        "columnKind": "unicodeCodePoints",
        "properties": {"scanKind": report.scan_kind, "hashKeyId": report.hash_key_id},
    }
    if run.root and run.results and any("physicalLocation" in r["locations"][0] for r in kept):
        if absolute_root:
            from pathlib import Path

            d["originalUriBaseIds"] = {SRCROOT: {"uri": Path(run.root).resolve().as_uri().rstrip("/") + "/"}}
        else:
            d["originalUriBaseIds"] = {SRCROOT: {"description": {
                "text": "The root of the scanned repository or directory; artifact URIs are relative to it."}}}
    return d, dropped


def _utc(moment: Any) -> str:
    from datetime import UTC

    text: str = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return text


def build_log(report: Report, opts: FormatOptions, *, max_results: int = MAX_RESULTS,
              max_gzip_bytes: int = MAX_GZIP_BYTES) -> dict[str, Any]:
    """The SARIF log as a dict, within the result and size limits."""
    runs = _build_runs(report, opts)
    limits = [min(max_results, len(r.results)) for r in runs]
    while True:
        built = [_run_dict(run, report, lim, opts.absolute_root) for run, lim in zip(runs, limits, strict=True)]
        log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [d for d, _ in built]}
        size = len(gzip.compress(json.dumps(log, ensure_ascii=False).encode("utf-8"), compresslevel=6))
        if size <= max_gzip_bytes or not any(limits):
            return log
        # shrink the largest run by the overshoot ratio (at least 1 result) and try again
        i = max(range(len(runs)), key=lambda k: limits[k])
        ratio = max_gzip_bytes / size
        limits[i] = max(0, min(limits[i] - 1, int(limits[i] * ratio * 0.95)))


def render(report: Report, options: FormatOptions) -> str:
    """SARIF 2.1.0 JSON text."""
    return json_safe(json.dumps(build_log(report, options), indent=2, ensure_ascii=False)) + "\n"
