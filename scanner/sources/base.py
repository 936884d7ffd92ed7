"""Protocols for sources. A content source yields matches from bytes; a credential source yields metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from scanner.detect.detector import Detected
from scanner.model import Credential, GitProvenance, Reference, ScanStats, Skip, Violation
from scanner.redact import SecretHasher
from scanner.sources.blob import BlobScanner


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceResult:
    """What a content source found, what it could not scan, and (for git) provenance by fingerprint."""

    detected: tuple[Detected, ...] = ()
    references: tuple[Reference, ...] = ()
    skipped: tuple[Skip, ...] = ()
    stats: ScanStats = ScanStats()
    git: Mapping[str, GitProvenance] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    scanned_anything: bool = True


class ContentSource(Protocol):
    """Files, git history, staged changes: anything whose bytes the matcher reads."""

    name: str

    def scan(self, scanner: BlobScanner, hasher: SecretHasher) -> SourceResult:
        """Scan everything this source covers."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialResult:
    """What a credential source (Vault, AWS) found: inventory, violations and coverage gaps."""

    credentials: tuple[Credential, ...] = ()
    violations: tuple[Violation, ...] = ()
    skipped: tuple[Skip, ...] = ()
    notes: tuple[str, ...] = ()
    scanned_anything: bool = True
