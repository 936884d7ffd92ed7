"""Incremental state for scans of many repositories (``scan repos --state FILE``): which blobs were already scanned,
clean, under which rules version.

A blob that produced no hit under the same rules is not read again; a blob with a hit is always scanned again; a
mirrored repository whose refs did not move since a clean scan under the same rules is not walked at all. So a
rerun reports exactly the findings of a full run while the state never holds a secret, a match or a preview (only
git blob ids, which are public content hashes of the repositories being scanned). Any change to the rules, the
settings that shape matching or credsweep's version gives a new rules version, and every blob is scanned again.

SQLite from the standard library, WAL mode, one transaction per repository: an interrupted run loses at most the
repository in progress, and the file stays consistent.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from scanner.detect.ruleset import RuleSet
from scanner.errors import ConfigError

SCHEMA_VERSION = 2


def rules_version(rules: RuleSet, *settings: object) -> str:
    """A digest of everything that decides what a blob produces: credsweep's version, each rule, the settings."""
    from scanner import __version__

    h = hashlib.sha256(f"credsweep {__version__}\n".encode())
    for r in rules:
        h.update(repr((r.id, r.pattern, r.secret_group, r.keywords, r.filters, r.validator, r.min_entropy,
                       r.context, r.multiline, r.structure_only, r.severity.label, r.confidence.label)).encode())
    h.update(repr(settings).encode())
    return h.hexdigest()[:32]


class Ledger:
    """Clean blobs by rules version, in one SQLite file."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise ConfigError(f"{path}: state schema {row[0]}, this credsweep reads {SCHEMA_VERSION}; "
                                  "use a new --state file")
            self.db.execute("CREATE TABLE IF NOT EXISTS clean (version TEXT NOT NULL, blob TEXT NOT NULL, "
                            "PRIMARY KEY (version, blob)) WITHOUT ROWID")
            self.db.execute("CREATE TABLE IF NOT EXISTS repos (name TEXT PRIMARY KEY, version TEXT NOT NULL, "
                            "scanned_at TEXT NOT NULL, blobs INTEGER NOT NULL, refs TEXT, clean INTEGER NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path}: not a credsweep state file ({exc})") from None

    def known_clean(self, blobs: Iterable[str]) -> set[str]:
        """The blobs among these that were scanned clean under this rules version."""
        out: set[str] = set()
        batch: list[str] = []
        for b in blobs:
            batch.append(b)
            if len(batch) == 500:
                out |= self._lookup(batch)
                batch = []
        if batch:
            out |= self._lookup(batch)
        return out

    def _lookup(self, batch: list[str]) -> set[str]:
        marks = ",".join("?" * len(batch))
        rows = self.db.execute(f"SELECT blob FROM clean WHERE version = ? AND blob IN ({marks})",  # noqa: S608
                               (self.version, *batch))
        return {r[0] for r in rows}

    def clean_refs(self) -> dict[str, str]:
        """Repository name -> refs digest, for every repository last scanned clean under these rules (read once, so
        the fetch threads can consult it without touching the database)."""
        rows = self.db.execute("SELECT name, refs FROM repos WHERE version = ? AND clean = 1 AND refs IS NOT NULL",
                               (self.version,))
        return {r[0]: r[1] for r in rows}

    def record(self, repo: str, clean: Iterable[str], scanned: int, when: str, *, refs: str | None = None,
               repo_clean: bool = False) -> None:
        """Remember clean blobs and the repository's last scan (its refs, and whether it held no secret), in one
        transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR IGNORE INTO clean VALUES (?, ?)", ((self.version, b) for b in clean))
            self.db.execute("INSERT OR REPLACE INTO repos VALUES (?, ?, ?, ?, ?, ?)",
                            (repo, self.version, when, scanned, refs, int(repo_clean)))

    def close(self) -> None:
        """Close the database (the WAL is checkpointed)."""
        self.db.close()
