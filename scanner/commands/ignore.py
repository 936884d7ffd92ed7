"""``credsweep ignore add FINGERPRINT --reason ...``: accept a known value by its fingerprint."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from scanner.commands._common import deprecated_option
from scanner.config import IGNORE_FILE
from scanner.errors import EXIT_OK, UsageError
from scanner.report.suppress import ignore_entry_toml, load_ignore_file


@click.group("ignore")
def ignore() -> None:
    """Manage the ignore file (.credsweep-ignore.toml) of accepted fingerprints."""


@ignore.command("add")
@click.argument("fingerprint")
@click.option("--reason", required=True, help="Why this value is acceptable (kept in the file).")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date after which it fails again.")
@click.option("--ignore-file", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"The ignore file, as for the scans' --ignore-file [default: {IGNORE_FILE}].")
@deprecated_option("--file", "--ignore-file", "old_path", type=click.Path(dir_okay=False, path_type=Path))
def add(fingerprint: str, reason: str, expires: object, path: Path | None, old_path: Path | None) -> int:
    """Append FINGERPRINT (from any credsweep output) to the ignore file."""
    path = path or old_path or Path(IGNORE_FILE)
    fp = fingerprint.strip()
    if not fp or not all(c in "0123456789abcdef" for c in fp):
        raise UsageError("a fingerprint is the hex string credsweep prints after 'fingerprint'")
    existing = {e.fingerprint for e in load_ignore_file(path)}
    if fp in existing:
        click.echo(f"{fp} is already in {path}")
        return EXIT_OK
    exp = expires.date() if hasattr(expires, "date") else None  # type: ignore[union-attr]
    text = ignore_entry_toml(fp, reason, exp if isinstance(exp, date) else None)
    prefix = "\n" if path.is_file() and path.read_text(encoding="utf-8").strip() else ""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(prefix + text)
    click.echo(f"added {fp} to {path}")
    return EXIT_OK
