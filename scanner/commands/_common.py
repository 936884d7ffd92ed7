"""Options every scan command shares, and the one way a scan ends: render, write, exit code."""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from scanner import policy as policy_mod
from scanner.config import ScanConfig
from scanner.errors import (
    EXIT_FINDINGS,
    EXIT_NOTHING_SCANNED,
    EXIT_OK,
    EXIT_PARTIAL,
    NothingScannedError,
    UsageError,
)
from scanner.model import Report, Severity
from scanner.policy import Policy
from scanner.report import formats
from scanner.report.formats.base import FormatOptions
from scanner.safetext import display
from scanner.trust import EXCLUDED_EVERYTHING

if TYPE_CHECKING:
    from scanner.verify.options import VerifyOptions

F = TypeVar("F", bound=Callable[..., Any])
SEVERITIES = [s.label for s in Severity]


def output_options(fn: F) -> F:
    """--format, --output, --fail-on, --quiet, --color: how results leave the process."""
    for opt in reversed(
        [
            click.option("--format", "fmt", type=click.Choice(list(formats.BUILTIN)), default="text",
                         show_default=True, help="Output format."),
            click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write the result to FILE instead of standard output."),
            click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
                         help="Exit 1 when a new finding or violation is at or above this severity [default: low]."),
            click.option("--quiet", "-q", is_flag=True, help="Only findings; no remediation text or summary."),
            click.option("--color/--no-color", default=None, help="Colour the text output (default: on a terminal)."),
            click.option("--policy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="Hygiene policy file (YAML or TOML)."),
            click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
                         default=None, help="Judge ages as of this date (UTC) instead of now."),
            # not passed to the command: emit() reads it from the click context
            click.option("--sarif-include-cloud", is_flag=True, expose_value=False, callback=_remember,
                         help="SARIF: also include Vault and AWS results, with logical locations."),
            click.option("--sarif-absolute-root", is_flag=True, expose_value=False, callback=_remember,
                         help="SARIF: write the scanned root's absolute file:// URI in originalUriBaseIds "
                              "(off: the log carries only paths relative to the root)."),
        ]
    ):
        fn = opt(fn)
    return fn


def deprecation_warning(old: str, new: str) -> None:
    """One line on stderr for an old name that still works for one release."""
    click.echo(f"credsweep: warning: {old} is deprecated and goes in the next release; use {new}", err=True)


def deprecated_option(old: str, new: str, dest: str, **kwargs: Any) -> Callable[[F], F]:
    """A hidden option under an old name (``--timeout``) for a concept that now has one name (``--request-timeout``):
    it still works, with a one-line warning; the command reads it as ``dest`` when the new name is not given."""

    def warn(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            deprecation_warning(old, new)
        return value

    return click.option(old, dest, hidden=True, default=None, callback=warn, expose_value=True, **kwargs)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"credsweep.{param.name}"] = value
    return value


def rule_options(fn: F) -> F:
    """--config, --rules, --baseline, --ignore-file, --engine: what counts as a finding."""
    for opt in reversed(
        [
            click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="Settings file (.credsweep.toml or pyproject.toml) [default: found near the target]."),
            click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
                         help="Extra rule file or directory (repeatable)."),
            click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="A previous JSON result: only findings not in it count as new."),
            click.option("--ignore-file", type=click.Path(dir_okay=False, path_type=Path),
                         help="Ignore file of accepted fingerprints [default: .credsweep-ignore.toml in the target]."),
            click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable)."),
            click.option("--no-structure", is_flag=True, help="Text matching only; do not parse configuration files."),
            click.option("--engine", type=click.Choice(["auto", "hyperscan", "re2"]), default=None,
                         help="Matching engine [default: hyperscan where installed, else re2]."),
            no_repo_config_option,
        ]
    ):
        fn = opt(fn)
    return fn


# not passed to the command: load_config() reads it from the click context
no_repo_config_option = click.option(
    "--no-repo-config", is_flag=True, expose_value=False, callback=_remember,
    help="Read no settings from the scanned tree (.credsweep.toml, [tool.credsweep], its ignore file, rule "
         "folders it names) and let no credsweep:allow marker hide a finding. For central scans and forks' PRs.")


def verify_options(fn: F) -> F:
    """--verify, --verify-timeout, --verify-host, --only-live: opt-in live checks of found keys."""
    for opt in reversed(
        [
            click.option("--verify", "verify", is_flag=True,
                         help="Check each new key with one read-only request to its provider's official host "
                              "(off by default: without it credsweep makes no network call)."),
            click.option("--verify-timeout", type=float, default=None, metavar="SECONDS",
                         help="Time budget for all live checks together [default: 30]; unanswered keys are 'unknown'."),
            click.option("--verify-host", "verify_hosts", multiple=True, metavar="KEY=HOST",
                         help="Your own host for rules that need one (databricks=adb-1.azuredatabricks.net, "
                              "vault=vault.example.com:8200); never taken from scanned content. Repeatable."),
            click.option("--only-live", is_flag=True, help="Report only findings verified live (needs --verify)."),
            click.option("--verify-custom-rules", is_flag=True, expose_value=False, callback=_remember,
                         help="Let rules from --rules use their verify blocks (default: only credsweep's own "
                              "rules send keys; rules named by the scanned tree never do)."),
        ]
    ):
        fn = opt(fn)
    return fn


def verify_settings(verify: bool, verify_timeout: float | None, verify_hosts: tuple[str, ...],
                    only_live: bool) -> VerifyOptions:
    """Options for the verify phase; the test-only override is read from the environment here, once."""
    from scanner.verify.options import options_from

    return options_from(verify, verify_timeout, verify_hosts, only_live, os.environ)


def load_config(config_file: Path | None, target: Path | None, **overrides: Any) -> ScanConfig:
    """Settings from file, then command-line overrides, across the trust boundary (scanner/trust.py). The policy
    file is read here, at start-up, so a broken one is refused before any scan even when no check needs it."""
    from scanner import trust

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx else {}
    cfg = trust.load_settings(config_file, target, no_repo_config=bool(meta.get("credsweep.no_repo_config")),
                              verify_custom_rules=bool(meta.get("credsweep.verify_custom_rules")), **overrides)
    if cfg.policy_file is not None:
        policy_mod.load(cfg.policy_file)
    return cfg


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_targets(paths: Sequence[Path]) -> None:
    """Refuse, before anything is scanned, a target that is missing or unreadable (exit 4) or is not a file or a
    directory (a FIFO or a device would block or never end; exit 2). The message names the path."""
    for p in paths:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise NothingScannedError(f"{p}: no such file or directory") from None
        except OSError as exc:
            raise NothingScannedError(f"{p}: cannot read: {exc.strerror or exc.__class__.__name__}") from None
        for test, what in _SPECIAL:
            if test(st.st_mode):
                raise UsageError(f"{p} is {what}, not a file or a directory; give files or directories to scan")
        if not os.access(p, os.R_OK | (os.X_OK if stat.S_ISDIR(st.st_mode) else 0)):
            raise NothingScannedError(f"{p}: cannot read: permission denied")


_RELATIVE = re.compile(r"^(\d+)\s*(second|minute|hour|day|week|month|year)s?\s+ago$", re.I)
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400,
                 "year": 365 * 86400}


def parse_date_option(flag: str, value: str | None, now: datetime) -> datetime | None:
    """A ``--since``/``--until`` value: an ISO date or time (2026-01-31, 2026-01-31T12:00:00, with an optional
    offset; UTC without one) or ``N days ago`` (seconds, minutes, hours, days, weeks, months, years).
    Anything else, or a moment after ``now``, is a usage error naming the option."""
    if value is None:
        return None
    text = value.strip()
    m = _RELATIVE.match(text)
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        when = None
    if when is None:
        raise UsageError(f"{flag} {value!r} is not a date: give 2026-01-31, 2026-01-31T12:00:00 or '30 days ago'")
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when > now:
        raise UsageError(f"{flag} {value!r} is in the future")
    return when


def resolve_now(as_of: datetime | None) -> datetime:
    """The clock of a run: --as-of (UTC) or now. Checks receive it; nothing reads the clock itself."""
    if as_of is None:
        return datetime.now(UTC)
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)


def load_policy(policy_file: Path | None, cfg: ScanConfig) -> Policy:
    """--policy, else the configured policy file, else built-in defaults."""
    return policy_mod.load(policy_file or cfg.policy_file)


def exit_code(report: Report, fail_on: Severity, nothing_scanned: bool = False, partial: bool = False) -> int:
    """0 clean, 1 something new at or above fail_on, 4 nothing could be scanned (or settings excluded it all),
    5 a source failed as a whole while others were scanned (``partial``; findings win over it)."""
    if nothing_scanned or EXCLUDED_EVERYTHING in report.notes:
        if not nothing_scanned:
            click.echo(f"credsweep: error: {EXCLUDED_EVERYTHING}", err=True)
        return EXIT_NOTHING_SCANNED
    if any(f.status == "new" and f.severity >= fail_on for f in report.findings):
        return EXIT_FINDINGS
    if any(v.severity >= fail_on for v in report.violations):
        return EXIT_FINDINGS
    return EXIT_PARTIAL if partial else EXIT_OK


def emit(report: Report, fmt: str, output: Path | None, *, quiet: bool = False, color: bool | None = None,
         hook: bool = False, include_cloud: bool = False, compare: Report | None = None) -> None:
    """Render the report and write it to the output file or standard output."""
    ctx = click.get_current_context(silent=True)
    include_cloud = include_cloud or bool(ctx and ctx.meta.get("credsweep.sarif_include_cloud"))
    absolute_root = bool(ctx and ctx.meta.get("credsweep.sarif_absolute_root"))
    to_terminal = output is None and sys.stdout.isatty()
    use_color = color if color is not None else (to_terminal and fmt == "text" and not os.environ.get("NO_COLOR"))
    opts = FormatOptions(color=bool(use_color), quiet=quiet, hook=hook, include_cloud=include_cloud, compare=compare,
                         absolute_root=absolute_root)
    try:
        text = formats.get(fmt)(report, opts)
    except KeyError:
        raise UsageError(f"unknown format {fmt!r}") from None
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text)
    if fmt != "text" and not quiet:
        click.echo(display(f"credsweep: wrote {fmt} result to {output}"), err=True)


def write_output(output: Path, text: str) -> None:
    """Write an output file atomically: a temporary file beside it, fsync, then one rename over the old file.

    A failure at any point leaves the previous file as it was and raises a one-line UsageError (exit 2).
    """
    import tempfile

    tmp: str | None = None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = os.stat(output).st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, output)
        tmp = None
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
