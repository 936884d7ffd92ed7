"""Vault records: KV v2 metadata, token lookups and AppRole roles as Credentials and Violations; time parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.model import CheckId, Credential, Severity, Violation

SOURCE = "vault"
OWNER_KEYS = ("owner", "owner_email", "team", "contact")
ROTATION_KEYS = ("rotation_period_days", "rotation_period", "rotation_days", "rotate_every")
EXPIRY_KEYS = ("expires_at", "expiry", "expires", "expiration", "expire_at")
TICKET_KEYS = ("ticket", "jira", "issue")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 from Vault (nanoseconds allowed), an epoch number, or a date; None when empty or unparseable."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    if text.startswith("0001-01-01"):
        return None
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", text)
    if not m:
        return None
    frac = (m.group(3) or "")[:7]
    tz = m.group(4) or "+00:00"
    tz = "+00:00" if tz == "Z" else tz
    try:
        dt = datetime.fromisoformat(f"{m.group(1)}T{m.group(2) or '00:00:00'}{frac}{tz}")
    except ValueError:
        return None
    return dt.astimezone(UTC)


def parse_days(value: Any) -> int | None:
    """A rotation period: ``30``, ``30d``, ``720h``, ``4w``, ``90 days``."""
    if value is None:
        return None
    m = re.match(r"^\s*(\d+)\s*([a-z]*)\s*$", str(value).lower())
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    factor = {"": 1, "d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7, "h": 1 / 24, "hours": 1 / 24,
              "m": 30, "mo": 30, "month": 30, "months": 30, "y": 365, "year": 365, "years": 365}.get(unit)
    return None if factor is None else max(1, int(n * factor)) if n else 0


def first_of(meta: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """The first non-empty value among ``keys`` (case-insensitive), as text."""
    low = {str(k).lower(): v for k, v in meta.items()}
    for k in keys:
        v = low.get(k)
        if v not in (None, ""):
            return str(v)
    return None


def seconds(value: Any) -> int:
    """A Vault duration (seconds as a number, or ``30s``, ``5m``, ``2h``, ``1d``) in seconds; 0 when unknown."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        m = re.match(r"^(\d+)([smhd]?)$", str(value))
        if not m:
            return 0
        return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]




def kv_credential(mount_path: str, kv_version: int, location: str, meta: Mapping[str, Any]) -> Credential:
    """A KV secret's record from its KV v2 metadata (empty for KV v1: location only)."""
    attrs: list[tuple[str, str]] = [("mount", mount_path), ("kv_version", str(kv_version))]
    if kv_version == 1 or not meta:
        return Credential(id=f"vault-kv:{location}", source=SOURCE, store="vault-kv", location=location,
                          status="active", attributes=tuple(attrs))
    versions = meta.get("versions") or {}
    current = int(meta.get("current_version") or 0)
    cur = versions.get(str(current)) or {}
    live = [int(k) for k, v in versions.items() if not (v or {}).get("destroyed") and not (v or {}).get("deletion_time")]
    deleted = bool(cur.get("destroyed")) or bool(parse_time(cur.get("deletion_time")))
    created = parse_time(meta.get("created_time"))
    current_time = parse_time(cur.get("created_time")) or parse_time(meta.get("updated_time"))
    custom = meta.get("custom_metadata") or {}
    count = len(versions) if versions else current
    attrs += [("current_version", str(current)), ("oldest_version", str(meta.get("oldest_version") or 0)),
              ("live_versions", str(len(live)))]
    if deleted:
        attrs.append(("deletion", "destroyed" if cur.get("destroyed") else "deleted"))
    ticket = first_of(custom, TICKET_KEYS)
    if ticket:
        attrs.append(("ticket", ticket))
    rotation = parse_days(first_of(custom, ROTATION_KEYS))
    return Credential(
        id=f"vault-kv:{location}", source=SOURCE, store="vault-kv", location=location,
        owner=first_of(custom, OWNER_KEYS), created_at=created,
        last_rotated_at=current_time if current > 1 else None,
        expires_at=parse_time(first_of(custom, EXPIRY_KEYS)),
        version=current or None, versions=count or None, rotation_period_days=rotation,
        rotation_enabled=True if rotation else None,
        status="deleted" if deleted else "active", attributes=tuple(attrs))


def token_credential(accessor: str, data: Mapping[str, Any]) -> tuple[Credential, list[Violation]]:
    """A token lookup as a Credential (id = accessor) and its token-specific NO-EXPIRY violations."""
    policies = tuple(str(p) for p in (data.get("policies") or []))
    created = parse_time(data.get("creation_time")) or parse_time(data.get("issue_time"))
    expires = parse_time(data.get("expire_time"))
    period = seconds(data.get("period"))
    explicit_max = seconds(data.get("explicit_max_ttl"))
    ttl = seconds(data.get("ttl"))
    meta = data.get("meta") or {}
    display = str(data.get("display_name") or "")
    attrs = [("display_name", display), ("ttl_seconds", str(ttl)), ("explicit_max_ttl_seconds", str(explicit_max)),
             ("period_seconds", str(period)), ("orphan", str(bool(data.get("orphan"))).lower()),
             ("renewable", str(bool(data.get("renewable"))).lower()), ("num_uses", str(data.get("num_uses") or 0)),
             ("token_type", str(data.get("type") or "service")), ("created_by_path", str(data.get("path") or ""))]
    cred = Credential(
        id=accessor, source=SOURCE, store="vault-token", location=f"auth/token/accessors/{accessor} ({display})",
        provider="HashiCorp Vault", kind="root-token" if "root" in policies else "token",
        owner=first_of(meta, OWNER_KEYS) if isinstance(meta, Mapping) else None,
        created_at=created, expires_at=expires, status="active", scopes=policies, attributes=tuple(attrs))
    out: list[Violation] = []
    if expires is None:
        out.append(Violation(check_id=CheckId("NO-EXPIRY"), subject=accessor,
                             severity=Severity.HIGH if "root" in policies else Severity.MEDIUM,
                             message=f"Vault token {display or accessor} never expires (TTL 0)",
                             remediation=("Revoke it (vault token revoke -accessor ...) and issue tokens with a TTL "
                                          "through an auth method.",)))
    elif period and not explicit_max:
        out.append(Violation(check_id=CheckId("NO-EXPIRY"), subject=accessor, severity=Severity.MEDIUM,
                             message=f"periodic Vault token {display or accessor} (period {period}s) has no explicit "
                                     "max TTL: it can be renewed forever",
                             remediation=("Re-issue it with -explicit-max-ttl, or use a role with token_explicit_max_ttl.",)))
    return cred, out


def approle_violations(subject: str, data: Mapping[str, Any], max_ttl: int) -> list[Violation]:
    """NO-EXPIRY and LONG-TTL for one AppRole role."""
    out = []
    name = subject.split(":", 1)[1]

    def v(check: str, sev: Severity, msg: str, fix: str) -> None:
        out.append(Violation(check_id=CheckId(check), subject=subject, severity=sev, message=msg, remediation=(fix,)))

    if data.get("bind_secret_id", True) and seconds(data.get("secret_id_ttl")) == 0:
        v("NO-EXPIRY", Severity.MEDIUM, f"AppRole {name}: secret_id_ttl is 0, its secret ids never expire",
          "Set secret_id_ttl (and secret_id_num_uses) on the role; rotate existing secret ids.")
    token_max = seconds(data.get("token_max_ttl"))
    explicit = seconds(data.get("token_explicit_max_ttl"))
    if token_max == 0 and explicit == 0:
        periodic = seconds(data.get("token_period"))
        v("NO-EXPIRY", Severity.MEDIUM,
          f"AppRole {name}: token_max_ttl is 0" + (f" and tokens are periodic ({periodic}s): they renew forever"
                                                   if periodic else ": tokens live as long as the mount allows"),
          "Set token_max_ttl (or token_explicit_max_ttl) on the role.")
    for key in ("token_ttl", "token_max_ttl", "token_explicit_max_ttl", "secret_id_ttl"):
        secs = seconds(data.get(key))
        if max_ttl and secs > max_ttl:
            v("LONG-TTL", Severity.LOW, f"AppRole {name}: {key} is {secs // 86400} days, beyond the policy's "
              f"{max_ttl // 86400}-day maximum age", f"Lower {key} to at most the policy's maximum age.")
    return out


def age_attributes(cred: Credential, now: datetime) -> tuple[tuple[str, str], ...]:
    """``age_days`` (since creation) and ``value_age_days`` (since the last rotation) as of ``now``."""
    since = cred.last_rotated_at or cred.created_at
    out = []
    if cred.created_at is not None:
        out.append(("age_days", str(max(0, (now - cred.created_at) // timedelta(days=1)))))
    if since is not None:
        out.append(("value_age_days", str(max(0, (now - since) // timedelta(days=1)))))
    return tuple(out)


def kv_declared(creds: Sequence[Credential], now: datetime) -> list[Violation]:
    """Declared rotation periods and expiry dates in custom_metadata, judged against ``now``."""
    out = []
    for c in creds:
        if c.store != "vault-kv" or c.status == "deleted":
            continue
        since = c.last_rotated_at or c.created_at
        if c.rotation_period_days and since is not None:
            age = (now - since) // timedelta(days=1)
            if age > c.rotation_period_days:
                out.append(Violation(check_id=CheckId("UNROTATED"), subject=c.id, severity=Severity.MEDIUM,
                                     message=f"{c.location}: rotation every {c.rotation_period_days} days is declared "
                                             f"in custom_metadata, but the value is {age} days old",
                                     remediation=("Rotate it now, or correct rotation_period in custom_metadata.",)))
        if c.expires_at is not None and c.expires_at < now:
            out.append(Violation(check_id=CheckId("EXPIRED"), subject=c.id, severity=Severity.LOW,
                                 message=f"{c.location}: custom_metadata says it expired on "
                                         f"{c.expires_at.date().isoformat()}, but it is still stored",
                                 remediation=("Replace or delete it, and update expires_at.",)))
    return out
