"""Correlation: the same secret seen in several places is one credential.

Findings (repositories, configuration) and stored credentials (Vault, AWS) are matched by their keyed secret hash
(HMAC under the organisation key, see redact.py), never by value. Each match becomes one ``InventoryItem`` with
every place, the value's age, all violations and the filled runbook steps. Correlation adds the checks that need
every source at once:

- LEAKED on a stored copy: a leaked value that is also in Vault or AWS is critical; the stored copy is
  compromised and every consumer of that path is affected
- UNVAULTED: a model key in a repository or configuration that no scanned secret store holds (only judged when a
  store was read with values: otherwise we cannot know)
- DUPLICATED across stores (the same value in Vault and in AWS)

A pure function of its inputs; the engine calls it once per report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from scanner.hygiene.checks import duplicated
from scanner.hygiene.checks import leaks as leak_checks
from scanner.hygiene.checks.base import days
from scanner.hygiene.runbooks import Runbooks, StepContext
from scanner.hygiene.runbooks import load as load_runbooks
from scanner.model import (
    CheckId,
    Credential,
    Finding,
    InventoryItem,
    InventoryLocation,
    Severity,
    Violation,
)
from scanner.policy import Policy

MODEL_CATEGORIES = frozenset({"ai-inference", "ai-mlops"})
STORE_ALIASES = {"vault-kv": "vault"}  # Credential.store -> the name allowed_storage uses
STORE_LABELS = {"vault-kv": "Vault", "aws-secretsmanager": "AWS Secrets Manager", "aws-ssm-securestring": "SSM",
                "aws-ssm-string": "SSM (plain String)", "aws-lambda-env": "a Lambda environment",
                "aws-ecs-env": "an ECS task definition"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Correlation:
    """The inventory, and the report's violations with the correlation checks added and runbook steps filled."""

    inventory: tuple[InventoryItem, ...]
    violations: tuple[Violation, ...]


@dataclass(slots=True)
class _Group:
    findings: list[Finding] = field(default_factory=list)
    creds: list[Credential] = field(default_factory=list)


def _active(c: Credential) -> bool:
    return c.status not in ("deleted", "inactive")


def _in_store(c: Credential, allowed: Sequence[str]) -> bool:
    return c.source in ("vault", "aws") and _active(c) and (
        c.store in allowed or STORE_ALIASES.get(c.store, "") in allowed)


def _days(now: datetime, when: datetime | None) -> int | None:
    return None if when is None else max(0, days((now - when).total_seconds()))


def _repo(f: Finding) -> str:
    root = f.git.repo if f.git is not None else (f.location.root or "")
    return os.path.basename(root.rstrip("/")) if root else ""


def _finding_places(f: Finding) -> list[InventoryLocation]:
    repo = _repo(f)
    prefix = f"{repo}/" if repo not in ("", ".", "..") else ""
    if f.git is not None:
        state = "at HEAD" if f.git.at_head else "history only"
    else:
        state = {"staged": "staged", "file": "working tree"}.get(f.location.source, f.location.source)
    out = []
    for loc in f.locations:
        where = prefix + loc.path + (f":{loc.line}" if loc.line else "")
        if loc.key_path:
            where += f" [{loc.key_path}]"
        if loc.decoded:
            where += f" (decoded {loc.decoded})"
        out.append(InventoryLocation(source=loc.source, where=where, ref=f.fingerprint, commit=loc.commit,
                                     state=state))
    return out


def _cred_place(c: Credential) -> InventoryLocation:
    where = c.id.partition("#")[0] if c.id.startswith("arn:") else c.location
    return InventoryLocation(source=c.source, where=where, ref=c.id, version=c.version, store=c.store,
                             state=c.status or "")


def _stored_phrase(c: Credential, now: datetime) -> str:
    path = c.location.partition("#")[0]
    if c.store == "vault-kv":
        head = f"version {c.version} of {path} in Vault" if c.version else f"stored at {path} in Vault"
    else:
        head = f"stored in {STORE_LABELS.get(c.store, c.store)} as {c.id.partition('#')[0]}"
    rotated = _days(now, c.last_rotated_at)
    created = _days(now, c.created_at)
    if rotated is not None:
        return f"{head}, last rotated {rotated} days ago"
    if created is not None:
        return f"{head}, never rotated since it was stored {created} days ago"
    return head


def _leak_phrase(f: Finding) -> str:
    g = f.git
    place = leak_checks.place(f)
    if g is None:
        return f"found in {place}"
    if g.at_head:
        return f"leaked in commit {g.introduced.sha[:10]} ({place})"
    removed = f", removed by {g.removed_by.sha[:10]}" if g.removed_by is not None else ""
    return f"leaked in commit {g.introduced.sha[:10]} ({place}{removed}, still in history)"


def summary(label: str, leaked: Sequence[Finding], stored: Sequence[Credential], now: datetime,
            stores_read: bool) -> str:
    """One sentence: where the value leaked, where it is stored, how old it is."""
    subject = f"the {label}"
    if leaked:
        subject += " " + _leak_phrase(leaked[0])
        if len(leaked) > 1:
            subject += f" (and {len(leaked) - 1} more finding(s))"
    if stored:
        rest = "; ".join(_stored_phrase(c, now) for c in stored[:2])
        more = f"; and {len(stored) - 2} more stored copies" if len(stored) > 2 else ""
        return f"{subject} is {rest}{more}."
    if leaked:
        tail = " is in no scanned secret store." if stores_read else "."
        return subject + tail
    return subject + "."


def _label(provider: str, kind: str, rule_name: str | None) -> str:
    if rule_name:
        return rule_name
    return f"{provider} {kind}".strip() or "credential"


def correlate(findings: Iterable[Finding], credentials: Iterable[Credential], violations: Iterable[Violation],
              policy: Policy, now: datetime, *, consoles: Mapping[str, str | None] | None = None,
              stores_read: bool | None = None, runbooks: Runbooks | None = None) -> Correlation:
    """One inventory item per secret; the correlation checks; runbook steps on every violation."""
    findings, creds, existing = list(findings), list(credentials), list(violations)
    if not findings and not creds:  # a clean hook run reads no runbook
        return Correlation(inventory=(), violations=tuple(existing))
    books = runbooks or load_runbooks()
    consoles = consoles or {}
    if stores_read is None:
        stores_read = any(c.secret_hash for c in creds if c.source in ("vault", "aws"))
    groups: dict[str, _Group] = {}
    for f in findings:
        groups.setdefault(f.secret_hash, _Group()).findings.append(f)
    for c in creds:
        groups.setdefault(c.secret_hash or f"credential:{c.id}", _Group()).creds.append(c)
    said = {(v.check_id, v.subject) for v in existing}
    extra = [v for v in duplicated(creds) if (v.check_id, v.subject) not in said]  # across stores
    by_subject: dict[str, list[Violation]] = {}
    for v in existing + extra:
        by_subject.setdefault(v.subject, []).append(v)

    items: list[InventoryItem] = []
    out_violations: dict[tuple[str, str], Violation] = {}
    for key, g in groups.items():
        item, cred_violations = _item(key, g, by_subject, policy, now, consoles, stores_read, books)
        items.append(item)
        for v in cred_violations:
            out_violations.setdefault((v.check_id, v.subject), v)
    # keep the report's order for violations it already had; new ones (correlation) after them
    ordered = [out_violations.pop((v.check_id, v.subject), v) for v in existing + extra]
    ordered += list(out_violations.values())
    items.sort(key=lambda i: (-i.severity, not i.leaked, not i.stored, i.provider, i.key))
    return Correlation(inventory=tuple(items), violations=tuple(ordered))


def _item(key: str, g: _Group, by_subject: Mapping[str, list[Violation]], policy: Policy, now: datetime,
          consoles: Mapping[str, str | None], stores_read: bool,
          books: Runbooks) -> tuple[InventoryItem, list[Violation]]:
    lead_f = max(g.findings, key=lambda f: (f.status == "new", f.severity), default=None)
    lead_c = next((c for c in g.creds if c.provider), g.creds[0] if g.creds else None)
    provider = (lead_f.provider if lead_f else None) or (lead_c.provider if lead_c else None) or "unknown"
    kind = (lead_f.kind if lead_f else None) or (lead_c.kind if lead_c else None) or (
        lead_c.store if lead_c else "")
    rule_id = (lead_f.rule_id if lead_f else None) or (lead_c.rule_id if lead_c else None)
    rules = policy.rules_for(provider, kind)
    label = _label(provider, kind, lead_f.rule_name if lead_f else None)
    new = [f for f in g.findings if f.status == "new"]
    allowed = rules.allowed_storage
    stored = [c for c in g.creds if _in_store(c, allowed)]
    held = [c for c in g.creds if c.source in ("vault", "aws") and _active(c)]  # incl. plain-text places
    lead_new = new[0] if new else None
    base_ctx = StepContext(
        provider=provider, kind=kind, console=consoles.get(rule_id or "") if rule_id else None, stored=tuple(held),
        leak_where=leak_checks.place(lead_new) if lead_new else "",
        commit=lead_new.git.introduced.sha if lead_new and lead_new.git else "",
        repo=_repo(lead_new) if lead_new else "",
        first_seen="", max_age_days=rules.max_age_days)

    dates = [f.git.introduced.author_date for f in g.findings if f.git is not None]
    value_dates = dates + [d for c in g.creds for d in [c.last_rotated_at or c.created_at] if d is not None]
    first_dates = dates + [c.created_at for c in g.creds if c.created_at is not None]
    first_seen = min(first_dates, default=None)
    since = min(value_dates, default=None)
    rotated = max((c.last_rotated_at for c in g.creds if c.last_rotated_at is not None), default=None)
    base_ctx = replace(base_ctx, first_seen=first_seen.date().isoformat() if first_seen else "")

    violations: list[Violation] = []
    cred_out: list[Violation] = []
    for f in g.findings:
        fr = policy.rules_for(f.provider, f.kind)
        ctx = replace(base_ctx, leak_where=leak_checks.place(f), where=leak_checks.place(f),
                      commit=f.git.introduced.sha if f.git else "", repo=_repo(f))
        found = [v for check in leak_checks.FINDING_CHECKS for v in check(f, fr, now)]
        if f.status == "new" and f.category in MODEL_CATEGORIES and fr.store_required and stores_read \
                and not stored:
            found.append(Violation(
                check_id=CheckId("UNVAULTED"), subject=f.fingerprint, severity=max(Severity.MEDIUM, min(
                    f.severity, Severity.HIGH)),
                message=f"{f.rule_name} in {leak_checks.place(f)} is not held in any scanned secret store "
                        f"({', '.join(fr.allowed_storage)})"))
        violations += [_with_steps(v, books.steps(v.check_id, ctx)) for v in found]
    for c in g.creds:
        ctx = replace(base_ctx, subject=c, where=c.location, stored=tuple(held))
        for v in by_subject.get(c.id, ()):
            filled = books.steps(v.check_id, ctx) if c.store in books.stores else ()
            cred_out.append(_with_steps(v, filled))
        if new and c in held:
            leak = _leak_phrase(new[0])
            version = f" (version {c.version})" if c.version else ""
            v = Violation(check_id=CheckId("LEAKED"), subject=c.id, severity=Severity.CRITICAL,
                          message=f"the value at {c.location}{version} leaked: the {label} {leak}; the stored "
                                  "copy is compromised and every consumer of this path is affected")
            cred_out.append(_with_steps(v, books.steps("LEAKED-STORED", ctx)))
    violations += cred_out

    sev = max([f.severity for f in new] + [v.severity for v in violations], default=Severity.INFO)
    top_f = max(new, key=lambda f: f.severity, default=None)
    if top_f is not None and top_f.severity >= sev:
        reason = top_f.severity_reason
    elif violations:
        top_v = max(violations, key=lambda v: v.severity)
        reason = f"{sev.label}: {top_v.check_id} — {top_v.message}"
    else:
        reason = "no policy violation"
    steps: list[str] = []
    stored_ids = {c.id for c in g.creds}
    for v in sorted(violations, key=lambda v: (-v.severity, not (v.check_id == "LEAKED" and v.subject in stored_ids))):
        steps.extend(s for s in v.remediation if s not in steps)
    locations = [p for f in g.findings for p in _finding_places(f)] + [_cred_place(c) for c in g.creds]
    redacted = (lead_f.redacted if lead_f else None) or (lead_c.redacted if lead_c else None) or ""
    item = InventoryItem(
        key=key, provider=provider, kind=kind, rule_id=rule_id, redacted=redacted, severity=sev,
        severity_reason=reason, summary=summary(label, new, held, now, stores_read),
        locations=tuple(locations), findings=tuple(f.fingerprint for f in g.findings),
        credentials=tuple(c.id for c in g.creds), first_seen=first_seen, last_rotated=rotated,
        age_days=_days(now, since), leaked=bool(new), stored=bool(stored), violations=tuple(violations),
        steps=tuple(steps))
    return item, cred_out


def _with_steps(v: Violation, steps: tuple[str, ...]) -> Violation:
    return replace(v, remediation=steps) if steps else v
