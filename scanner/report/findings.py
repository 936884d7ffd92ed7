"""Group matches into findings (one secret under one rule, with every place it occurs) and set their status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from scanner.detect.detector import Detected
from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import Rule
from scanner.model import Finding, GitProvenance, Location, Reference, Severity
from scanner.redact import SecretHasher, redact, redact_key
from scanner.report.suppress import IgnoreEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """What can mark a finding as not new."""

    ignore: tuple[IgnoreEntry, ...] = ()
    baseline: frozenset[str] = frozenset()
    today: date | None = None
    tree_ignore: str | None = None  # the ignore file came from the scanned tree (reported by trust.finish)
    honour_inline: bool = True  # False under --no-repo-config: credsweep:allow markers hide nothing


def _loc_key(loc: Location) -> tuple[object, ...]:
    return (loc.source, loc.root, loc.path, loc.line, loc.column, loc.commit)


def _place(d: Detected) -> tuple[object, ...]:
    loc = d.match.location
    return (loc.root, loc.path, loc.line, loc.commit)


def scrub_keys(detected: Iterable[Detected], references: Iterable[Reference] = ()
               ) -> tuple[list[Detected], list[Reference]]:
    """Key paths, context keys and reference names with any secret in them redacted.

    A secret used as a mapping key (``users: {<key>: {api_key: ...}}``) is in the key path of its sibling's
    finding. Every secret found in a file (by any rule, allowed or not) is redacted wherever it occurs in a key
    path of that file, and so is any segment that looks like a secret (``redact.looks_like_secret``)."""
    detected, references = list(detected), list(references)
    by_file: dict[tuple[object, ...], set[str]] = {}
    for d in detected:
        loc = d.match.location
        by_file.setdefault((loc.source, loc.root, loc.path), set()).add(d.match.secret.value)

    def loc_of(loc: Location) -> Location:
        if not loc.key_path:
            return loc
        shown = redact_key(loc.key_path, by_file.get((loc.source, loc.root, loc.path), ()))
        return loc if shown == loc.key_path else replace(loc, key_path=shown)

    out = []
    for d in detected:
        m = d.match
        loc = loc_of(m.location)
        key = redact_key(m.context_key, by_file.get((loc.source, loc.root, loc.path), ())) if m.context_key else None
        if loc is not m.location or key != m.context_key:
            d = replace(d, match=replace(m, location=loc, context_key=key))
        out.append(d)
    refs = []
    for r in references:
        loc = loc_of(r.location)
        name = redact_key(r.name, by_file.get((loc.source, loc.root, loc.path), ()))
        refs.append(r if loc is r.location and name == r.name else replace(r, location=loc, name=name))
    return out, refs


def drop_shadowed(detected: list[Detected], rules: Mapping[str, Rule]) -> list[Detected]:
    """One rule per secret.

    A generic hit whose secret overlaps a specific rule's secret on the same line is dropped. When several rules
    of one provider match the same value (a Gemini key is also a Google API key), every hit of that value is
    reported under the most specific of them (highest confidence, then severity).
    """
    specific: dict[tuple[object, ...], list[str]] = {}
    best: dict[tuple[str, str], Rule] = {}
    for d in detected:
        rule = rules[d.match.rule_id]
        if rule.is_generic:
            continue
        specific.setdefault(_place(d), []).append(d.match.secret.value)
        key = (rule.id.split(".", 1)[0], d.match.secret.value)
        cur = best.get(key)
        if cur is None or (rule.confidence, rule.severity, not rule.context) > (cur.confidence, cur.severity, not cur.context):
            best[key] = rule

    def shadowed(d: Detected) -> bool:
        value = d.match.secret.value
        return any(v in value or value in v for v in specific.get(_place(d), ()))

    out = []
    generic_seen: set[tuple[object, ...]] = set()
    for d in sorted(detected, key=lambda d: d.match.location.key_path is None):  # structure-pass hits first
        rule = rules[d.match.rule_id]
        if rule.is_generic:
            seen_key = (*_place(d), d.match.secret.value)
            if not shadowed(d) and seen_key not in generic_seen:  # two generic rules on one value: report it once
                generic_seen.add(seen_key)
                out.append(d)
            continue
        winner = best[(rule.id.split(".", 1)[0], d.match.secret.value)]
        if winner.id != rule.id:
            d = replace(d, match=replace(d.match, rule_id=winner.id))
        out.append(d)
    return out


def group(
    detected: Iterable[Detected],
    rules: Mapping[str, Rule],
    hasher: SecretHasher,
    *,
    suppression: Suppression | None = None,
    severity_overrides: Mapping[str, Severity] | None = None,
    git: Mapping[str, GitProvenance] | None = None,
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Findings sorted by severity then path, and the ignore fingerprints that matched nothing."""
    items = drop_shadowed(list(detected), rules)
    groups: dict[tuple[str, str], list[Detected]] = {}
    for d in items:
        groups.setdefault((d.match.rule_id, d.match.secret.value), []).append(d)
    sup = suppression or Suppression()
    today = sup.today or date.today()
    ignores = {e.fingerprint: e for e in sup.ignore}
    used: set[str] = set()
    findings = []
    for (rule_id, value), ds in groups.items():
        rule = rules[rule_id]
        fp = hasher.fingerprint(rule_id, value)
        seen: dict[tuple[object, ...], Location] = {}
        allowed_all = sup.honour_inline and all(d.allowed for d in ds)
        for d in ds:
            if d.allowed and not allowed_all and sup.honour_inline:
                continue
            seen.setdefault(_loc_key(d.match.location), d.match.location)
        locations = tuple(seen.values())
        status, reason = "new", None
        entry = ignores.get(fp)
        if allowed_all:
            status, reason = "allowed", "inline credsweep:allow"
        elif entry is not None and entry.active(today):
            status, reason = "ignored", entry.reason
        elif fp in sup.baseline:
            status, reason = "baselined", "in the baseline"
        if entry is not None and entry.active(today):
            used.add(fp)
        severity = (severity_overrides or {}).get(rule_id, rule.severity)
        first = ds[0].match
        findings.append(
            Finding(
                fingerprint=fp,
                rule_id=rule.id,
                rule_name=rule.name,
                provider=rule.provider,
                category=rule.category,
                kind=rule.kind,
                severity=severity,
                confidence=rule.confidence,
                secret_hash=hasher.secret_hash(value),
                redacted=redact(value, public_prefixes(rule)),
                locations=locations,
                status=status,
                status_reason=reason,
                remediation=rule.remediation,
                description=rule.description,
                validity=first.validity,
                context_key=first.context_key,
                git=(git or {}).get(fp),
                secret_length=len(value),
            )
        )
    if git:
        findings = [_order_git(f) for f in findings]
    findings.sort(key=lambda f: (-f.severity, f.location.path, f.location.line or 0, f.rule_id))
    unused = tuple(sorted(fp for fp, e in ignores.items() if fp not in used and e.active(today)))
    return tuple(findings), unused


def _order_git(f: Finding) -> Finding:
    """Put the location in the introducing commit first."""
    if f.git is None:
        return f
    intro = f.git.introduced.sha
    locs = sorted(f.locations, key=lambda loc: (loc.commit != intro, loc.path, loc.line or 0))
    return replace(f, locations=tuple(locs))
