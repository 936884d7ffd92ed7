"""Frozen value types that flow through credsweep. Imports nothing from the rest of the package.

A ``Secret`` is the only holder of a raw value. It is never serialised: formats read ``Finding.redacted``
and ``Finding.secret_hash`` instead, and ``repr(secret)`` is redacted, so even an accidental f-string is safe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType

RuleId = NewType("RuleId", str)
CheckId = NewType("CheckId", str)


class Severity(enum.IntEnum):
    """Ordered severity; the CLI's ``--fail-on`` compares against it."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name, case-insensitively."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    @property
    def label(self) -> str:
        """Lower-case name used in every output."""
        return self.name.lower()


class Confidence(enum.IntEnum):
    """How sure a rule is that a match is a real credential."""

    LOW = 0
    MEDIUM = 1
    HIGH = 2

    @classmethod
    def parse(cls, text: str) -> Confidence:
        """Read a confidence name, case-insensitively."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown confidence {text!r} (expected low, medium or high)") from None

    @property
    def label(self) -> str:
        """Lower-case name used in every output."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Secret:
    """A raw credential value. Never printed, never serialised."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """One place a secret was seen.

    ``source`` is ``file``, ``git``, ``staged``, ``vault`` or ``aws``. For files and git, ``path`` is relative to
    the scanned root and ``line``/``column`` are 1-based. For Vault and AWS, ``path`` is the Vault path or ARN.
    """

    source: str
    path: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    commit: str | None = None
    key_path: str | None = None  # structured config: dotted key path of the value
    decoded: str | None = None  # "base64", "url", "json-escape" when the secret was found after decoding
    root: str | None = None  # the scanned root (repo or directory) the path is relative to
    offset: int | None = None  # byte offset of the secret in a binary file (printable-run scan; no line)


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """One raw hit of one rule, before grouping into findings."""

    rule_id: RuleId
    secret: Secret
    location: Location
    context_key: str | None = None  # variable / config key the value was assigned to, when known
    validity: str | None = None  # offline check result: "valid-checksum", "marker", ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitInfo:
    """A commit as provenance needs it."""

    sha: str
    author: str
    author_date: datetime
    committer_date: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GitProvenance:
    """Where a secret lives in a repository's history."""

    repo: str
    introduced: CommitInfo
    last_seen: CommitInfo
    removed_by: CommitInfo | None  # set when the secret is no longer at HEAD of the default branch
    at_head: bool
    refs: tuple[str, ...]
    paths: tuple[str, ...]
    history_complete: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """Result of an opt-in live check (``--verify``) or an offline structural check."""

    status: str  # "live", "invalid", "unknown", "offline-valid", "offline-invalid"
    checked_at: datetime | None
    detail: str = ""
    identity: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One secret under one rule, with every place it occurs (noseyparker's definition)."""

    fingerprint: str  # hmac(rule id, secret): stable when lines move
    rule_id: RuleId
    rule_name: str
    provider: str
    category: str
    kind: str
    severity: Severity
    confidence: Confidence
    secret_hash: str  # keyed hash of the value (see redact.secret_hash)
    redacted: str
    locations: tuple[Location, ...]
    status: str = "new"  # new | allowed | baselined | ignored
    status_reason: str | None = None
    remediation: tuple[str, ...] = ()
    description: str = ""
    validity: str | None = None
    context_key: str | None = None
    git: GitProvenance | None = None
    verification: Verification | None = None
    severity_reason: str = ""
    secret_length: int = 0

    @property
    def location(self) -> Location:
        """The primary location (introducing commit for git findings)."""
        return self.locations[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """A secret-named key whose value refers to a store instead of embedding a secret: good practice."""

    location: Location
    name: str
    reference: str  # kind of reference: "env", "vault", "aws-secretsmanager", "k8s-secretKeyRef", "template"
    provider: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip:
    """Something that could not be scanned, and why. Partial results stay honest."""

    source: str
    target: str
    reason: str  # short machine-readable reason: "binary", "unreadable", "too-large", "forbidden", ...
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """Metadata about a stored or issued credential (Vault, AWS, ...). Never its value."""

    id: str  # stable identifier: vault path, ARN, access key id
    source: str  # "vault", "aws"
    store: str  # "vault-kv", "vault-token", "aws-secretsmanager", "aws-ssm", "aws-iam", "aws-lambda", ...
    location: str  # human-readable place (path or ARN)
    provider: str | None = None
    kind: str | None = None
    rule_id: str | None = None
    secret_hash: str | None = None
    redacted: str | None = None
    owner: str | None = None
    created_at: datetime | None = None
    last_rotated_at: datetime | None = None
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    version: int | None = None
    versions: int | None = None
    rotation_enabled: bool | None = None
    rotation_period_days: int | None = None
    status: str | None = None  # "active", "inactive", "deleted", ...
    scopes: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """A policy check that failed for one credential or finding."""

    check_id: CheckId  # LEAKED, HISTORY-ONLY, STALE, UNROTATED, UNUSED, NO-EXPIRY, OVERSCOPED, NO-OWNER, ...
    subject: str  # Credential.id or Finding.fingerprint
    severity: Severity
    message: str
    remediation: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryLocation:
    """One place a correlated secret was seen: a repository path and commit, a Vault path and version, an ARN."""

    source: str  # "git", "file", "staged", "vault", "aws"
    where: str  # repo/path:line, Vault path#field, ARN
    ref: str  # the Finding.fingerprint or Credential.id this place comes from
    commit: str | None = None
    version: int | None = None
    store: str | None = None  # Credential.store for stored copies
    state: str = ""  # "at HEAD", "history only", "working tree", "active", "deleted", ...


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryItem:
    """One secret value wherever it was seen (matched by keyed hash): its places, age, violations and fix."""

    key: str  # the keyed secret hash, or "credential:<id>" when the stored value was not read
    provider: str
    kind: str
    redacted: str
    severity: Severity
    severity_reason: str
    summary: str  # one sentence: where it leaked, where it is stored, how old it is
    locations: tuple[InventoryLocation, ...]
    findings: tuple[str, ...] = ()  # fingerprints
    credentials: tuple[str, ...] = ()  # credential ids
    rule_id: str | None = None
    first_seen: datetime | None = None
    last_rotated: datetime | None = None
    age_days: int | None = None  # of the value: now minus its earliest sighting
    leaked: bool = False  # a new finding in a repository or configuration
    stored: bool = False  # held in Vault or an AWS store
    violations: tuple[Violation, ...] = ()
    steps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Weakening:
    """One thing the scanned tree's own settings changed (or tried to), reported in every format."""

    kind: str  # "exclude", "only_rules", "disable_rules", "severity", "fail_on", "structure", "ignore_entries",
    #            "inline_allow", "rules", "verify_refused", "rule_shadowed", "hash_key_env_refused"
    detail: str  # one short sentence (tree-written text in it is escaped)
    source: str  # the settings file (or rule file) it came from
    count: int | None = None  # files excluded, findings hidden, ...
    items: tuple[str, ...] = ()  # patterns, rule ids


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeSettings:
    """Settings that came from the scanned tree (attacker-writable content), and what they weakened."""

    files: tuple[str, ...] = ()  # settings files of the tree that applied
    weakenings: tuple[Weakening, ...] = ()
    disregarded: tuple[str, ...] = ()  # --no-repo-config: tree settings files present but not read
    default_hash_key: bool = False  # fingerprints use the public default key (tree ignore entries are forgeable)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanStats:
    """Counters for the summary line."""

    files_scanned: int = 0
    bytes_scanned: int = 0
    blobs_scanned: int = 0
    commits_scanned: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything one run produced. Immutable; formats are pure functions of it."""

    tool_version: str
    started_at: datetime
    scan_kind: str  # "files", "repo", "staged", "vault", "aws", "all", "merged"
    targets: tuple[str, ...]
    findings: tuple[Finding, ...]
    skipped: tuple[Skip, ...] = ()
    references: tuple[Reference, ...] = ()
    credentials: tuple[Credential, ...] = ()
    violations: tuple[Violation, ...] = ()
    unused_ignores: tuple[str, ...] = ()
    stats: ScanStats = ScanStats()
    notes: tuple[str, ...] = ()
    hash_key_id: str = "default"
    finished_at: datetime | None = None
    inventory: tuple[InventoryItem, ...] = ()  # correlated view: one item per secret (see correlate.py)
    tree_settings: TreeSettings | None = None  # what the scanned tree's own settings changed (see trust.py)
