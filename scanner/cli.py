"""The ``credsweep`` command: a click group whose subcommands are imported only when they run.

``credsweep --help`` and ``credsweep scan files`` never import boto3, hvac, GitPython, jinja2 or detect-secrets.
Errors are printed as one line without a traceback and end with a documented exit code (see errors.py).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from scanner import __version__
from scanner.errors import EXIT_CONFIG, CredsweepError
from scanner.safetext import display, display_lines


class LazyGroup(click.Group):
    """A group whose subcommands live in modules named in ``lazy`` ("module:attr"), imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            target, _ = self.lazy[cmd_name]
            module, _, attr = target.partition(":")
            cmd = getattr(importlib.import_module(module), attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(self.lazy.items())]
        rows += [(n, c.get_short_help_str()) for n, c in sorted(self.commands.items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


SCAN_COMMANDS = {
    "files": ("scanner.commands.scan_files:command", "Scan files and directories."),
    "repo": ("scanner.commands.scan_repo:command", "Scan a git repository: working tree and full history."),
    "repos": ("scanner.commands.scan_repos:command",
              "Scan many repositories (a list or arguments), incrementally and sharded."),
    "vault": ("scanner.commands.scan_vault:command", "Inventory a Vault/OpenBao server: KV secrets, tokens, policies."),
    "aws": ("scanner.commands.scan_aws:command", "Inventory AWS: Secrets Manager, SSM, IAM keys, Bedrock, Lambda."),
    "all": ("scanner.commands.scan_all:command", "Run repos, paths, Vault and AWS from one configuration file."),
}
TOP_COMMANDS = {
    "scan": ("scanner.cli:scan", "Scan files, repositories, Vault or AWS."),
    "rules": ("scanner.commands.rules:rules", "List built-in rules or check rule files."),
    "hook": ("scanner.commands.hook:command", "Pre-commit hook: scan staged content of the given files."),
    "ignore": ("scanner.commands.ignore:ignore", "Manage the ignore file of accepted fingerprints."),
    "report": ("scanner.commands.report:command", "Merge JSON results into one report; compare with a previous one."),
    "demo": ("scanner.commands.demo:command", "Start local Vault and AWS servers, seed them, write a full report."),
}


@click.group(cls=LazyGroup, lazy=SCAN_COMMANDS, name="scan")
def scan() -> None:
    """Scan files, repositories, Vault or AWS."""


@click.group(cls=LazyGroup, lazy={k: v for k, v in TOP_COMMANDS.items() if k != "scan"},
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="credsweep")
def cli() -> None:
    """credsweep: find AI-inference and MLOps credentials and check their hygiene.

    Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error, 3 bad configuration or rules,
    4 nothing could be scanned, 5 partial result (scan all: a source failed, the others were written).
    """


cli.add_command(scan)


def _show(exc: click.ClickException) -> None:
    """Click's usage error, with any path or value it quotes escaped (``safetext``): one escaped line each."""
    import io

    buf = io.StringIO()
    exc.show(file=buf)
    click.echo(display_lines(buf.getvalue().rstrip("\n")), err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; turn our errors into one line and an exit code, never a traceback."""
    try:
        rv = cli.main(args=argv, prog_name="credsweep", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("credsweep: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, naming the option or argument (click's own text), and where to look
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"credsweep: error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _show(exc)
        sys.exit(exc.exit_code)
    except CredsweepError as exc:
        click.echo(display(f"credsweep: error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("credsweep: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last resort: no traceback, no message text that could hold data
        if os.environ.get("CREDSWEEP_DEBUG"):
            raise
        where = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        click.echo(f"credsweep: internal error: {exc.__class__.__name__}{where}. "
                   "Please report it; set CREDSWEEP_DEBUG=1 for a traceback.", err=True)
        sys.exit(EXIT_CONFIG)
    sys.exit(rv if isinstance(rv, int) else 0)
