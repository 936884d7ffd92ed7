"""Suppression: the ignore file (fingerprints with reason and optional expiry) and baselines (a previous result).

Ignore file (``.credsweep-ignore.toml``)::

    [[ignore]]
    fingerprint = "3f1c..."          # from any credsweep output
    reason = "test fixture, not a real key"
    expires = 2027-03-31              # optional: after this date the finding fails again
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scanner.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class IgnoreEntry:
    """One fingerprint the user accepted, and why."""

    fingerprint: str
    reason: str
    expires: date | None = None

    def active(self, today: date) -> bool:
        """Whether the entry still suppresses its finding."""
        return self.expires is None or today <= self.expires


_IGNORE_FIELDS = frozenset({"fingerprint", "reason", "expires"})


def load_ignore_file(path: Path) -> tuple[IgnoreEntry, ...]:
    """Read an ignore file; a missing file is an empty list, a broken one a ConfigError."""
    if not path.is_file():
        return ()
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ignore file: {exc}") from None
    out = []
    for i, raw in enumerate(doc.get("ignore", [])):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("fingerprint"), str):
            raise ConfigError(f"{path}: ignore[{i}] needs a 'fingerprint' string")
        unknown = sorted(set(raw) - _IGNORE_FIELDS)
        if unknown:  # a misspelt 'expires' would otherwise make the entry permanent
            raise ConfigError(f"{path}: ignore[{i}] has unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(_IGNORE_FIELDS))})")
        if not isinstance(raw.get("reason"), str) or not raw["reason"].strip():
            raise ConfigError(f"{path}: ignore[{i}] needs a 'reason'")
        expires = raw.get("expires")
        if expires is not None and not isinstance(expires, date):
            raise ConfigError(f"{path}: ignore[{i}].expires must be a TOML date such as 2027-03-31")
        out.append(IgnoreEntry(fingerprint=raw["fingerprint"].strip(), reason=raw["reason"].strip(), expires=expires))
    return tuple(out)


def ignore_entry_toml(fingerprint: str, reason: str, expires: date | None = None) -> str:
    """The TOML text of one ignore entry, for ``credsweep ignore``."""
    lines = ["[[ignore]]", f"fingerprint = {json.dumps(fingerprint)}", f"reason = {json.dumps(reason)}"]
    if expires:
        lines.append(f"expires = {expires.isoformat()}")
    return "\n".join(lines) + "\n"


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints of a previous JSON result (``--baseline``)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read baseline (a credsweep JSON result): {exc}") from None
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        raise ConfigError(f"{path}: not a credsweep JSON result (no 'findings' list)")
    for i, f in enumerate(findings):
        if not isinstance(f, dict) or not isinstance(f.get("fingerprint"), str):
            raise ConfigError(f"{path}: findings[{i}] has no 'fingerprint' string; not a credsweep JSON result")
    return frozenset(f["fingerprint"] for f in findings)
