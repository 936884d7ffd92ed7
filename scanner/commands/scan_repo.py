"""``credsweep scan repo [PATH]``: working tree and full history with provenance; ``--staged``, ``--pre-push``
and ``--range`` for hooks."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.commands._common import (
    check_targets,
    emit,
    exit_code,
    load_config,
    output_options,
    parse_date_option,
    resolve_now,
    rule_options,
    verify_options,
    verify_settings,
)
from scanner.engine import Engine
from scanner.errors import EXIT_OK, UsageError
from scanner.sources.base import SourceResult

if TYPE_CHECKING:
    from scanner.sources.git.history import GitSource

ZERO = frozenset("0")


def pre_push_revisions(lines: Sequence[str]) -> list[str]:
    """Revisions for ``git log`` from pre-push stdin lines ``<local ref> <local sha> <remote ref> <remote sha>``.

    Deleted refs push nothing. An updated ref pushes ``remote..local``. A new ref (or one whose remote commit we
    do not have) pushes what no remote-tracking ref already has.
    """
    include: list[str] = []
    exclude: list[str] = []
    new_ref = False
    for line in lines:
        parts = line.split()
        if len(parts) != 4:
            if line.strip():
                raise UsageError(f"--pre-push: cannot read {line.strip()!r}; expected "
                                 "'<local ref> <local sha> <remote ref> <remote sha>' as git's pre-push hook gives")
            continue
        _, local, _, remote = parts
        if set(local) <= ZERO:
            continue
        include.append(local)
        if set(remote) <= ZERO:
            new_ref = True
        else:
            exclude.append(remote)
    if not include:
        return []
    return include + [f"^{r}" for r in exclude] + (["--not", "--remotes"] if new_ref else [])


def _known(path: Path, revs: list[str]) -> list[str]:
    """Drop ``^sha`` exclusions git does not have (a force-push over commits never fetched)."""
    from scanner.sources.git.batch import run_git

    out = []
    need_remotes = False
    for r in revs:
        if r.startswith("^"):
            ok = run_git(["cat-file", "-e", f"{r[1:]}^{{commit}}"], cwd=str(path), check=False).returncode == 0
            if not ok:
                need_remotes = True
                continue
        out.append(r)
    if need_remotes and "--remotes" not in out:
        out += ["--not", "--remotes"]
    return out


@click.command("repo")
@click.argument("path", required=False, default=Path("."), type=click.Path(path_type=Path))
@rule_options
@output_options
@verify_options
@click.option("--branch", "branches", multiple=True, metavar="REF",
              help="Scan only the history of this branch or ref (repeatable) [default: every ref].")
@click.option("--since", metavar="DATE", help="Only commits newer than DATE (2026-01-31, 2026-01-31T12:00:00, "
                                              "'30 days ago').")
@click.option("--until", metavar="DATE", help="Only commits older than DATE (same forms as --since).")
@click.option("--max-commits", type=click.IntRange(min=1), help="Scan at most N commits (newest first).")
@click.option("--no-history", is_flag=True, help="Scan only the working tree (HEAD's files in a bare repo).")
@click.option("--staged", is_flag=True, help="Scan only what is staged for the next commit (the index).")
@click.option("--pre-push", is_flag=True, help="Read git's pre-push lines on stdin; scan only the commits pushed.")
@click.option("--range", "rev_range", metavar="A..B", help="Scan only the commits in a revision range.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Processes for blob scanning [auto].")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Blobs larger than this are streamed in chunks [50].")
@click.option("--recurse-submodules", is_flag=True,
              help="Also scan each initialised submodule (working tree and history) as its own repository.")
def command(path: Path, config_file: Path | None, rule_dirs: tuple[Path, ...], baseline: Path | None,
            ignore_file: Path | None, exclude: tuple[str, ...], no_structure: bool, engine: str | None, fmt: str,
            output: Path | None, fail_on: str | None, quiet: bool, color: bool | None, policy: Path | None,
            as_of: object, verify: bool, verify_timeout: float | None, verify_hosts: tuple[str, ...], only_live: bool,
            branches: tuple[str, ...], since: str | None, until: str | None, max_commits: int | None,
            no_history: bool, staged: bool, pre_push: bool, rev_range: str | None, jobs: int | None,
            max_file_mb: float | None, recurse_submodules: bool = False) -> int:
    """Scan a git repository: the working tree and the full history of every branch, tag and remote ref.

    Each leaked secret is reported once, with the commit that introduced it, the last commit holding it, whether
    it is still at HEAD of the default branch (or only in history, with the commit that removed it), the refs that
    reach it and every path. Exit codes: 0 clean, 1 findings, 2 usage (an unparseable or future --since/--until),
    3 configuration, 4 missing path, not a repository or unreadable index.
    """
    modes = [m for m, on in (("--staged", staged), ("--pre-push", pre_push), ("--range", rev_range)) if on]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined")
    if modes and recurse_submodules:
        raise UsageError(f"{modes[0]} cannot be combined with --recurse-submodules")
    if modes and (branches or no_history):
        raise UsageError(f"{modes[0]} cannot be combined with --branch or --no-history")
    if rev_range is not None and (not rev_range.strip() or rev_range.startswith("-")):
        raise UsageError("--range needs a revision range such as origin/main..HEAD")
    if (since or until) and (staged or pre_push):
        raise UsageError("--since and --until narrow the history; they cannot be combined with --staged or --pre-push")
    clock = datetime.now(UTC)
    since_at, until_at = parse_date_option("--since", since, clock), parse_date_option("--until", until, clock)
    if since_at and until_at and since_at > until_at:
        raise UsageError(f"--since {since!r} is after --until {until!r}")
    check_targets([path])
    cfg = load_config(config_file, path, rule_dirs=rule_dirs, exclude=exclude, no_structure=no_structure,
                      fail_on=fail_on, engine=engine, jobs=jobs, max_file_mb=max_file_mb, policy_file=policy)
    started = datetime.now(UTC)
    now = resolve_now(as_of if isinstance(as_of, datetime) else None)
    verify_opts = verify_settings(verify, verify_timeout, verify_hosts, only_live)
    result: SourceResult
    if staged:
        from scanner.sources.staged import NOTHING_STAGED, StagedSource, toplevel

        top = Path(toplevel(path))
        eng = Engine.create(cfg)
        result = StagedSource(path, exclude=cfg.exclude, max_file_mb=cfg.max_file_mb).scan(eng.scanner, eng.hasher)
        if NOTHING_STAGED in result.notes:
            click.echo(f"credsweep: {NOTHING_STAGED}", err=True)
            return EXIT_OK
        report = eng.report_from([result], scan_kind="staged", targets=[str(top)],
                                 suppression=eng.suppression(baseline, ignore_file, top), started=started,
                                 verify=verify_opts, now=now)
        emit(report, fmt, output, quiet=quiet, color=color, hook=fmt == "text")
        return exit_code(report, cfg.fail_on)
    from scanner.sources.git.history import GitSource

    revisions: list[str] | None = None
    if pre_push:
        revisions = pre_push_revisions(sys.stdin.read().splitlines())
        if not revisions:
            click.echo("credsweep: nothing to push (only deletions); nothing to scan", err=True)
            return EXIT_OK
        revisions = _known(path, revisions)
    elif rev_range is not None:
        revisions = [rev_range]
    source = GitSource(path, branches=branches, since=since_at.isoformat() if since_at else None,
                       until=until_at.isoformat() if until_at else None, max_commits=max_commits, history=not no_history,
                       worktree=revisions is None, revisions=revisions, exclude=cfg.exclude,
                       max_file_mb=cfg.max_file_mb, jobs=cfg.jobs)
    git_dir, work, _ = source.open()
    top = Path(work or git_dir)
    eng = Engine.create(cfg)
    suppression = eng.suppression(baseline, ignore_file, top)  # a broken ignore file is refused before scanning
    result = source.scan(eng.scanner, eng.hasher)
    results = [result]
    if recurse_submodules and work is not None:
        results = _with_submodules(result, Path(work), source, eng)
    report = eng.report_from(results, scan_kind="repo", targets=[str(top)],
                             suppression=suppression, started=started,
                                 verify=verify_opts, now=now)
    emit(report, fmt, output, quiet=quiet, color=color)
    return exit_code(report, cfg.fail_on)


MAX_SUBMODULE_DEPTH = 8


def _with_submodules(result: SourceResult, work: Path, source: GitSource, eng: Engine, prefix: str = "",
                     depth: int = 0) -> list[SourceResult]:
    """The result of a repository plus one result per initialised submodule, scanned as its own repository with
    the same options; paths are shown from the top repository (``sub/dir/file``). Submodules that are not
    checked out stay listed as skipped (``submodule-not-followed``)."""
    import copy
    from dataclasses import replace as dc_replace

    from scanner.errors import CredsweepError
    from scanner.model import Skip
    from scanner.sources.git.history import SUBMODULE_SKIP, gitlinks

    followed = [(prefix + sub, work / sub) for sub in gitlinks(str(work))
                if depth < MAX_SUBMODULE_DEPTH and (work / sub / ".git").exists()]
    names = {shown for shown, _ in followed}
    skipped = tuple(sk for sk in result.skipped if not (sk.reason == SUBMODULE_SKIP and sk.target in names))
    left = sum(1 for sk in skipped if sk.reason == SUBMODULE_SKIP)
    notes = tuple(n for n in result.notes if "submodule(s) not followed" not in n)
    if left:
        notes += (f"{left} submodule(s) not checked out, so not followed (listed as skipped)",)
    out = [dc_replace(result, skipped=skipped, notes=notes)]
    for shown, sub_path in followed:
        sub_source = copy.copy(source)
        sub_source.path = sub_path
        try:
            sub_result = sub_source.scan(eng.scanner, eng.hasher)
        except CredsweepError as exc:  # a broken submodule is a skip; the rest of the scan goes on
            out.append(SourceResult(skipped=(Skip(source="git", target=shown, reason="unreadable",
                                                  detail=f"submodule could not be scanned: {exc}"),)))
            continue
        out.extend(_with_submodules(_prefixed(sub_result, shown + "/"), sub_path, sub_source, eng, shown + "/",
                                    depth + 1))
    return out


def _prefixed(result: SourceResult, prefix: str) -> SourceResult:
    """A submodule's result with every path shown from the top repository."""
    from dataclasses import replace as dc_replace

    detected = tuple(dc_replace(d, match=dc_replace(d.match, location=dc_replace(
        d.match.location, path=prefix + d.match.location.path))) for d in result.detected)
    references = tuple(dc_replace(r, location=dc_replace(r.location, path=prefix + r.location.path))
                       if getattr(r, "location", None) is not None else r for r in result.references)
    skipped = tuple(dc_replace(s, target=prefix + s.target) if s.source in ("git", "file") else s
                    for s in result.skipped)
    git = {k: dc_replace(v, paths=tuple(prefix + p for p in v.paths)) for k, v in result.git.items()}
    notes = tuple(f"submodule {prefix.rstrip('/')}: {n}" for n in result.notes)
    return dc_replace(result, detected=detected, references=references, skipped=skipped, git=git, notes=notes)
