"""``credsweep scan files PATH...``"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from scanner.commands._common import (
    check_targets,
    emit,
    exit_code,
    load_config,
    output_options,
    resolve_now,
    rule_options,
    verify_options,
    verify_settings,
)
from scanner.engine import Engine, nothing_scanned
from scanner.sources.files import FileSource


@click.command("files")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@rule_options
@output_options
@verify_options
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Processes to use [default: 2 on large trees].")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Files larger than this are streamed in chunks [50].")
@click.option("--include-deps", is_flag=True,
              help="Also scan dependency and build folders (.venv, venv, node_modules, site-packages, __pycache__, "
                   ".tox, .nox, dist, build, .git), skipped by default.")
def command(paths: tuple[Path, ...], config_file: Path | None, rule_dirs: tuple[Path, ...], baseline: Path | None,
            ignore_file: Path | None, exclude: tuple[str, ...], no_structure: bool, engine: str | None, fmt: str,
            output: Path | None, fail_on: str | None, quiet: bool, color: bool | None, policy: Path | None, as_of: object,
            verify: bool, verify_timeout: float | None, verify_hosts: tuple[str, ...], only_live: bool,
            jobs: int | None, max_file_mb: float | None, include_deps: bool) -> int:
    """Scan files and directories for credentials.

    Exit codes: 0 clean, 1 findings, 2 usage (a FIFO or device as a target), 3 configuration, 4 a target is
    missing or unreadable."""
    check_targets(paths)
    cfg = load_config(config_file, paths[0], rule_dirs=rule_dirs, exclude=exclude, no_structure=no_structure,
                      fail_on=fail_on, engine=engine, jobs=jobs, max_file_mb=max_file_mb, policy_file=policy)
    verify_opts = verify_settings(verify, verify_timeout, verify_hosts, only_live)
    started = datetime.now(UTC)  # before compiling and scanning: the reported duration covers both
    eng = Engine.create(cfg)
    suppression = eng.suppression(baseline, ignore_file, paths[0])  # a broken ignore file is refused before scanning
    source = FileSource(paths, exclude=cfg.exclude, max_file_mb=cfg.max_file_mb, jobs=cfg.jobs,
                        include_deps=include_deps)
    result = source.scan(eng.scanner, eng.hasher)
    report = eng.report_from([result], scan_kind="files", targets=[str(p) for p in paths],
                             suppression=suppression,
                             started=started, verify=verify_opts,
                             now=resolve_now(as_of if isinstance(as_of, datetime) else None))
    emit(report, fmt, output, quiet=quiet, color=color)
    return exit_code(report, cfg.fail_on, nothing_scanned([result]))
