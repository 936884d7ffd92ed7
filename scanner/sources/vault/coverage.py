"""What a Vault scan was asked to cover (``VaultOptions``) and what it covered: counts, Skips and notes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from scanner.model import Skip
from scanner.sources.vault.client import describe_error, error_kind
from scanner.sources.vault.records import (
    SOURCE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class VaultOptions:
    """What to scan."""

    mounts: tuple[str, ...] = ()  # KV mounts to walk (default: every KV mount)
    paths: tuple[str, ...] = ()  # "mount/prefix" subtrees to walk
    read_values: bool = False
    tokens: bool = True
    policies: bool = True
    auth_methods: bool = True
    concurrency: int = 4
    page_size: int = 500
    max_paths: int = 100_000


@dataclass(slots=True)
class Coverage:
    lock: threading.Lock = field(default_factory=threading.Lock)
    mounts: list[str] = field(default_factory=list)
    folders_listed: int = 0
    paths_read: int = 0
    values_read: int = 0
    denied: int = 0
    failed: int = 0
    tokens: int = 0
    tokens_denied: bool = False
    policies: int = 0
    roles: int = 0
    skips: list[Skip] = field(default_factory=list)

    def add(self, **counts: int) -> None:
        with self.lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def skip(self, target: str, exc: BaseException | None = None, *, reason: str | None = None,
             detail: str | None = None) -> None:
        kind = reason or (error_kind(exc) if exc is not None else "error")
        text = detail if detail is not None else (describe_error(exc) if exc is not None else "")
        with self.lock:
            if kind == "forbidden":
                self.denied += 1
            else:
                self.failed += 1
            self.skips.append(Skip(source=SOURCE, target=target, reason=kind, detail=text))


def coverage_notes(cov: Coverage, options: VaultOptions, n_creds: int, anything: bool) -> list[str]:
    notes = [
        f"vault coverage: {len(cov.mounts)} KV mount(s) walked ({', '.join(sorted(cov.mounts)) or 'none'}); "
        f"{cov.folders_listed} folder(s) listed; {cov.paths_read} secret path(s) read; "
        f"{cov.values_read} value(s) read; {cov.denied} path(s) denied; {cov.failed} failed",
    ]
    if not options.read_values:
        notes.append("vault: values not read (metadata only); pass --read-values to classify keys by their value")
    if options.tokens:
        notes.append("vault tokens: not covered (the scanner token lacks sudo on auth/token/accessors)"
                     if cov.tokens_denied else f"vault tokens: {cov.tokens} looked up")
    if options.policies:
        notes.append(f"vault policies: {cov.policies} read")
    if options.auth_methods:
        notes.append(f"vault approle roles: {cov.roles} read")
    if not anything:
        notes.append("vault: nothing scanned: every request was denied or failed (see skipped)")
    elif n_creds == 0:
        notes.append("vault: no credentials found in what was scanned")
    return notes
