"""Wire a scan together: rules -> matcher -> sources -> findings -> Report. Only this module and the CLI know
every layer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import __version__, trust
from scanner import policy as policy_mod
from scanner.config import IGNORE_FILE, ScanConfig
from scanner.detect.matcher import Matcher
from scanner.detect.ruleset import RuleSet
from scanner.model import (
    Credential,
    InventoryItem,
    Report,
    ScanStats,
    Skip,
    TreeSettings,
    Violation,
    Weakening,
)
from scanner.policy import Policy
from scanner.redact import SecretHasher
from scanner.report.findings import Suppression, group, scrub_keys
from scanner.report.suppress import load_baseline, load_ignore_file
from scanner.sources.base import CredentialResult, SourceResult
from scanner.sources.blob import BlobScanner

if TYPE_CHECKING:
    from scanner.detect.detector import Detected
    from scanner.model import Finding
    from scanner.verify.options import VerifyOptions


def load_rules(config: ScanConfig) -> RuleSet:
    """Built-in plus user rules, restricted and filtered as configured (admitted by trust.admit_rules)."""
    return trust.admit_rules(config)[0]


@dataclass(slots=True)
class Engine:
    """The compiled rules and the settings of one run."""

    config: ScanConfig
    rules: RuleSet
    scanner: BlobScanner
    hasher: SecretHasher
    rule_weakenings: tuple[Weakening, ...] = ()  # tree rules refused (verify, reused ids)
    rule_notes: tuple[str, ...] = ()

    @classmethod
    def create(cls, config: ScanConfig) -> Engine:
        """Load and compile rules once."""
        hasher = trust.hasher_for(config)
        rules, weak, notes = trust.admit_rules(config)
        matcher = Matcher(rules, engine=config.engine)
        return cls(config, rules, BlobScanner(matcher, structure=config.structure), hasher, weak, notes)

    def suppression(self, baseline: Path | None, ignore_file: Path | None, root: Path | None,
                    today: date | None = None) -> Suppression:
        """Ignore entries (explicit file, configured file, or the one in the scanned root) and the baseline."""
        path = ignore_file or self.config.ignore_file
        from_tree = trust.ignore_file_is_tree(ignore_file, self.config)
        if self.config.no_repo_config and from_tree:
            path = None  # --no-repo-config: the tree's ignore file is not read
        elif path is None and root is not None:
            cand = (root if root.is_dir() else root.parent) / IGNORE_FILE
            path = cand if cand.is_file() else None
        if path is None and Path(IGNORE_FILE).is_file() and not self.config.no_repo_config:
            path = Path(IGNORE_FILE)
        entries = load_ignore_file(path) if path else ()
        return Suppression(ignore=entries, baseline=load_baseline(baseline) if baseline else frozenset(), today=today,
                           tree_ignore=str(path) if path is not None and from_tree else None,
                           honour_inline=not self.config.no_repo_config)

    def report_from(self, results: Iterable[SourceResult], *, scan_kind: str, targets: Sequence[str],
                    suppression: Suppression | None, started: datetime,
                    credential_results: Iterable[CredentialResult] = (),
                    verify: VerifyOptions | None = None, now: datetime | None = None,
                    policy: Policy | None = None, stores_read: bool | None = None) -> Report:
        """Group matches from every source into one Report; offline checks always, live checks with --verify;
        then severity from the facts and the correlated inventory (the policy defaults to the configured one)."""
        results = list(results)
        now = now or datetime.now(UTC)
        if suppression is not None and suppression.today is None:
            suppression = replace(suppression, today=now.date())  # ignore expiry follows the run's clock (--as-of)
        detected, references = scrub_keys([d for r in results for d in r.detected],
                                          [ref for r in results for ref in r.references])
        git = {k: v for r in results for k, v in r.git.items()}
        findings, unused = group(detected, self.rules.by_id(), self.hasher, suppression=suppression,
                                 severity_overrides=self.config.severity_overrides, git=git)
        findings, verify_notes = self.check_findings(findings, detected, verify, now)
        creds: list[Credential] = []
        violations: list[Violation] = []
        skipped: list[Skip] = [s for r in results for s in r.skipped]
        notes = [n for r in results for n in r.notes] + list(verify_notes)
        for cr in credential_results:
            creds.extend(cr.credentials)
            violations.extend(cr.violations)
            skipped.extend(cr.skipped)
            notes.extend(cr.notes)
        inventory: tuple[InventoryItem, ...] = ()
        if findings or creds or violations:  # hygiene modules load only when a scan has something to judge
            from scanner.hygiene import correlate, severity

            hygiene = policy if policy is not None else policy_mod.load(self.config.policy_file)
            findings = severity.apply(findings, creds, hygiene, now)
            consoles: dict[str, str | None] = {str(r.id): r.rotate_url for r in self.rules}
            corr = correlate.correlate(findings, creds, violations, hygiene, now, consoles=consoles,
                                       stores_read=stores_read)
            violations, inventory = list(corr.violations), corr.inventory
        tree = self.config.tree
        if self.config.no_repo_config and ignore_candidates(self.config, targets):
            tree = replace(tree or TreeSettings(), disregarded=(*(tree.disregarded if tree else ()),
                                                                *ignore_candidates(self.config, targets)))
        tree_settings = trust.finish(tree, self.rule_weakenings, findings, targets,
                                     suppression.tree_ignore if suppression else None,
                                     self.hasher.key_id == "default")
        notes.extend(self.rule_notes)
        scanned = sum(r.stats.files_scanned + r.stats.blobs_scanned for r in results)
        # a hook (scan kind "staged") passes when only excluded files are committed: it is the committer's own tree
        if scan_kind != "staged" and results and not scanned and self.config.exclude and trust.count_excluded(targets, self.config.exclude):
            notes.append(trust.EXCLUDED_EVERYTHING)  # exit code 4 (commands/_common.exit_code)
        stats = ScanStats(
            files_scanned=sum(r.stats.files_scanned for r in results),
            bytes_scanned=sum(r.stats.bytes_scanned for r in results),
            blobs_scanned=sum(r.stats.blobs_scanned for r in results),
            commits_scanned=sum(r.stats.commits_scanned for r in results),
            seconds=(datetime.now(UTC) - started).total_seconds(),
        )
        return Report(
            tool_version=__version__,
            started_at=started,
            finished_at=datetime.now(UTC),
            scan_kind=scan_kind,
            targets=tuple(targets),
            findings=findings,
            skipped=tuple(skipped),
            references=tuple(references),
            credentials=tuple(creds),
            violations=tuple(violations),
            unused_ignores=unused,
            stats=stats,
            notes=tuple(dict.fromkeys(notes)),
            hash_key_id=self.hasher.key_id,
            inventory=inventory,
            tree_settings=tree_settings,
        )

    def check_findings(self, findings: tuple[Finding, ...], detected: Sequence[Detected],
                       verify: VerifyOptions | None, now: datetime) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
        """Offline checks (no network, always), then live checks only when ``verify.enabled`` (--verify)."""
        if not findings:
            return findings, ()
        from scanner.verify import offline

        rules = self.rules.by_id()
        values: dict[str, str] = {}
        for d in detected:
            value = d.match.secret.value
            values.setdefault(self.hasher.fingerprint(d.match.rule_id, value), value)
        findings = offline.annotate(findings, values, rules, now)
        if verify is None or not verify.enabled:
            return findings, ()
        from scanner.verify import verifier as verify_mod  # network code loads only with --verify

        pairs = verify_mod.companions(findings, detected, rules)
        findings, notes = verify_mod.Verifier(verify).verify(findings, values, pairs, rules, self.hasher)
        if verify.only_live:
            findings = tuple(f for f in findings if f.verification is not None and f.verification.status == "live")
        return findings, notes


def ignore_candidates(config: ScanConfig, targets: Sequence[str]) -> tuple[str, ...]:
    """Tree ignore files that --no-repo-config left unread (for the report)."""
    if not config.no_repo_config or config.ignore_file is not None and not config.tree_ignore_file:
        return ()
    found = [str(p) for t in targets[:1] for p in trust.tree_ignore_candidates(Path(t))]
    return tuple(dict.fromkeys(found))


def nothing_scanned(results: Iterable[SourceResult | CredentialResult]) -> bool:
    """True when no source scanned anything at all (exit code 4)."""
    return not any(r.scanned_anything for r in results)
