"""``credsweep hook [FILE]...``: the pre-commit hook. Scans the staged content (the index), never the working
tree; quiet when clean; blocks with file:line, rule, redacted value and how to allow it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from scanner.commands._common import emit, exit_code, load_config, output_options, resolve_now, rule_options
from scanner.engine import Engine
from scanner.errors import EXIT_OK


@click.command("hook")
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@rule_options
@output_options
@click.option("--max-file-mb", type=float, default=None, help="Blobs larger than this are streamed in chunks [50].")
def command(files: tuple[str, ...], config_file: Path | None, rule_dirs: tuple[Path, ...], baseline: Path | None,
            ignore_file: Path | None, exclude: tuple[str, ...], no_structure: bool, engine: str | None, fmt: str,
            output: Path | None, fail_on: str | None, quiet: bool, color: bool | None, policy: Path | None,
            as_of: object, max_file_mb: float | None) -> int:
    """Scan the staged content of FILES (as pre-commit passes them), or of everything staged.

    Exit 0 when nothing new is found (silently) or nothing is staged (with a message), 1 when the commit adds a
    credential, 4 when the index cannot be read.
    """
    from scanner.sources.staged import NOTHING_STAGED, StagedSource

    source = StagedSource(Path.cwd(), files)
    top = Path(source.locate()[0])
    cfg = load_config(config_file, top, rule_dirs=rule_dirs, exclude=exclude, no_structure=no_structure,
                      fail_on=fail_on, engine=engine, max_file_mb=max_file_mb, policy_file=policy)
    source.exclude = tuple(cfg.exclude)
    source.max_bytes = int(cfg.max_file_mb * (1 << 20))
    started = datetime.now(UTC)
    eng = Engine.create(cfg)
    result = source.scan(eng.scanner, eng.hasher)
    if NOTHING_STAGED in result.notes:
        click.echo(f"credsweep: {NOTHING_STAGED}", err=True)
        return EXIT_OK
    report = eng.report_from([result], scan_kind="staged", targets=[str(top)],
                             suppression=eng.suppression(baseline, ignore_file, top), started=started,
                             now=resolve_now(as_of if isinstance(as_of, datetime) else None))
    emit(report, fmt, output, quiet=quiet, color=color, hook=fmt == "text")
    return exit_code(report, cfg.fail_on)
