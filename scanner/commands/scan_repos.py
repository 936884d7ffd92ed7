"""``credsweep scan repos [REPO ...] [--from-file LIST]``: every repository of an organisation, incrementally
(``--state``), a stable share per CI runner or pod (``--shard I/N``), each repository isolated from the others."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from scanner.commands._common import (
    emit,
    exit_code,
    load_config,
    output_options,
    resolve_now,
    rule_options,
)
from scanner.engine import Engine
from scanner.errors import CredsweepError, UsageError
from scanner.model import Skip
from scanner.safetext import display
from scanner.sources.base import SourceResult


def _default_cache() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "credsweep" / "mirrors"


@click.command("repos")
@click.argument("repos", nargs=-1)
@click.option("--from-file", "from_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File listing repositories, one URL or path a line ('#' comments).")
@click.option("--org", "orgs", multiple=True, metavar="HOST:NAME",
              help="Every repository of github:ORGANISATION or gitlab:GROUP (token from GITHUB_TOKEN / GITLAB_TOKEN; "
                   "API from GITHUB_API_URL / GITLAB_API_URL). Repeatable.")
@click.option("--include-archived", is_flag=True, help="With --org: also archived repositories.")
@click.option("--include-forks", is_flag=True, help="With --org: also forks.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite state: blobs already scanned clean with the same rules are not read again.")
@click.option("--shard", metavar="I/N", help="Scan only shard I of N (a stable share by repository name).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where bare mirrors of remote repositories are kept [~/.cache/credsweep/mirrors].")
@click.option("--clone-timeout", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True,
              metavar="SECONDS", help="Time limit for cloning or fetching one repository.")
@click.option("--fetch-jobs", type=click.IntRange(min=1, max=64), default=8, show_default=True,
              help="Repositories cloned or fetched at the same time.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Processes for blob scanning [auto].")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Blobs larger than this are streamed in chunks [50].")
@rule_options
@output_options
def command(repos: tuple[str, ...], from_file: Path | None, orgs: tuple[str, ...], include_archived: bool,
            include_forks: bool, state_file: Path | None, shard: str | None,
            cache_dir: Path | None, clone_timeout: float, fetch_jobs: int, jobs: int | None, max_file_mb: float | None,
            config_file: Path | None, rule_dirs: tuple[Path, ...], baseline: Path | None, ignore_file: Path | None,
            exclude: tuple[str, ...], no_structure: bool, engine: str | None, fmt: str, output: Path | None,
            fail_on: str | None, quiet: bool, color: bool | None, policy: Path | None, as_of: object) -> int:
    """Scan many repositories: full history of every ref, each unique blob once, one combined result.

    Remote repositories are kept as bare mirrors in the cache directory (cloned once, then fetched); local paths
    are scanned in place. A repository that cannot be cloned, fetched or read is listed as skipped and the others
    go on. Exit codes: 0 clean, 1 findings, 2 usage, 3 configuration or state file, 4 nothing could be scanned,
    5 some repositories could not be scanned (the others were).
    """
    from scanner.sources.git import mirror
    from scanner.sources.git.history import GitSource
    from scanner.sources.git.ledger import Ledger, rules_version

    specs = [mirror.parse_spec(r) for r in repos]
    if from_file is not None:
        specs += mirror.read_list(from_file)
    if orgs:
        from scanner.sources.git.hosts import list_repositories, parse_org

        for org in orgs:
            parse_org(org)  # a malformed --org is a usage error before any request
        for org in orgs:
            specs += list_repositories(org, include_archived=include_archived, include_forks=include_forks)
    specs = mirror.dedupe(specs)
    if not specs:
        raise UsageError("no repositories: give them as arguments, with --from-file LIST or with --org HOST:NAME")
    if shard is not None:
        index, count = mirror.parse_shard(shard)
        specs = mirror.shard(specs, index, count)
    cfg = load_config(config_file, None, rule_dirs=rule_dirs, exclude=exclude, no_structure=no_structure,
                      fail_on=fail_on, engine=engine, jobs=jobs, max_file_mb=max_file_mb, policy_file=policy)
    started = datetime.now(UTC)
    now = resolve_now(as_of if isinstance(as_of, datetime) else None)
    eng = Engine.create(cfg)
    ledger = None
    if state_file is not None:
        ledger = Ledger(state_file, rules_version(eng.rules, cfg.exclude, cfg.structure, cfg.max_file_mb))
    cache = cache_dir or _default_cache()
    results: list[SourceResult] = []
    failed: list[Skip] = []
    known = unchanged = 0
    progress = _Progress(len(specs)) if _progress_enabled() else None
    # clones and fetches wait on the network, not the CPU: run them ahead of the scan, a few at a time
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=fetch_jobs, thread_name_prefix="credsweep-fetch")
    clean_refs = ledger.clean_refs() if ledger is not None else {}

    def update(spec: mirror.RepoSpec) -> tuple[Path, str | None, bool]:
        """(mirror, refs digest, unchanged since a clean scan). An existing mirror whose remote lists exactly the
        refs recorded at its last clean scan is neither fetched nor walked; otherwise it is fetched (or cloned) and
        its refs are read from the mirror itself, so the digest recorded always describes what was scanned."""
        target = mirror.mirror_dir(cache, spec)
        before = clean_refs.get(spec.name)
        if before is not None and (target / "HEAD").is_file():
            if mirror.remote_refs_digest(target, clone_timeout) == before:
                return target, before, True
        path = mirror.update_mirror(cache, spec, clone_timeout)[0]
        return path, mirror.refs_digest(path), False

    fetched: dict[str, Future[tuple[Path, str | None, bool]]] = {
        s.name: pool.submit(update, s) for s in specs if s.url is not None}
    try:
        for spec in specs:
            if progress is not None:
                progress.show(results, failed)
            try:
                path = spec.path
                refs = None
                if spec.url is not None:
                    path, refs, same = fetched[spec.name].result()
                    if same:
                        unchanged += 1
                        results.append(SourceResult(scanned_anything=True))
                        continue
                assert path is not None
                source = GitSource(path, exclude=cfg.exclude, max_file_mb=cfg.max_file_mb, jobs=cfg.jobs,
                                   ledger=ledger, worktree=spec.url is None)
                result = source.scan(eng.scanner, eng.hasher)
            except CredsweepError as exc:  # one repository's failure never stops the others
                failed.append(Skip(source="repo", target=spec.name, reason="failed", detail=str(exc)))
                continue
            known += source.known_clean
            if ledger is not None:
                ledger.record(spec.name, source.clean_blobs, result.stats.blobs_scanned, started.isoformat(),
                              refs=refs, repo_clean=not result.detected and not result.skipped)
            results.append(_named(result, spec.name))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if ledger is not None:
            ledger.close()
        if progress is not None:
            progress.show(results, failed, done=True)
    notes: tuple[str, ...] = ()
    if ledger is not None:
        notes = (f"state {state_file}: {unchanged} mirrored repositor(y/ies) unchanged since a clean scan were not "
                 f"fetched or walked; {known} blob(s) already scanned clean with these rules were not read again",)
    summary = SourceResult(skipped=tuple(failed), notes=notes, scanned_anything=bool(results))
    report = eng.report_from([*results, summary], scan_kind="repos", targets=[s.name for s in specs],
                             suppression=eng.suppression(baseline, ignore_file, None), started=started, now=now)
    emit(report, fmt, output, quiet=quiet, color=color)
    for s in failed:
        detail = s.detail if s.detail.startswith(s.target) else f"{s.target}: {s.detail}"
        click.echo(display(f"credsweep: warning: {detail}"), err=True)
    return exit_code(report, cfg.fail_on, nothing_scanned=not results, partial=bool(failed))


def _named(result: SourceResult, name: str) -> SourceResult:
    """A repository's result under the name the user gave it (not the path of its mirror in the cache)."""
    from dataclasses import replace

    detected = tuple(replace(d, match=replace(d.match, location=replace(d.match.location, root=name)))
                     for d in result.detected)
    git = {k: replace(v, repo=name) for k, v in result.git.items()}
    return replace(result, detected=detected, git=git)


def _progress_enabled() -> bool:
    from scanner.sources.files import _progress_enabled as enabled  # one rule: a terminal, never in CI logs

    return enabled()


class _Progress:
    """One status line on stderr: repositories done, blobs scanned and findings so far."""

    def __init__(self, total: int) -> None:
        self.total = total

    def show(self, results: list[SourceResult], failed: list[Skip], done: bool = False) -> None:
        blobs = sum(r.stats.blobs_scanned for r in results)
        hits = len({d.match.secret.value for r in results for d in r.detected})
        line = (f"\rrepositories {len(results) + len(failed)}/{self.total}  blobs {blobs:,}  "
                f"secrets {hits}  failed {len(failed)}")
        click.echo(line + ("\n" if done else ""), err=True, nl=False)
