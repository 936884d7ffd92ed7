"""``credsweep report RESULT.json... [--compare PREVIOUS.json] --format html|sarif|json|markdown --output FILE``

Merges the JSON results of several scans (repositories, Vault, AWS) into one report; with ``--compare`` it adds
what is new, resolved, still open and getting older since the previous review, and the mean time to remediate.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.errors import ConfigError, UsageError
from scanner.model import Report
from scanner.report import formats
from scanner.report.formats.base import FormatOptions
from scanner.report.formats.jsonfmt import load_report
from scanner.report.merge import merge
from scanner.safetext import display


def read_result(path: Path) -> Report:
    """A Report from a JSON result file; a clear error for anything else."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON ({exc.__class__.__name__} at line {getattr(exc, 'lineno', '?')}); "
                          "give results written with --format json") from None
    if not isinstance(doc, dict) or "findings" not in doc or "scan" not in doc:
        raise ConfigError(f"{path} is not a credsweep JSON result (--format json)")
    try:
        return load_report(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable result ({exc.__class__.__name__}: {exc})") from None


@click.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["html", "sarif", "json", "markdown", "text"]), default="html",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output.")
@click.option("--compare", "compare_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A previous review's JSON result (repeatable: the latest is compared, all make the trend).")
@click.option("--sarif-include-cloud", is_flag=True,
              help="SARIF: also include Vault and AWS results, with logical locations.")
@click.option("--sarif-absolute-root", is_flag=True,
              help="SARIF: write the scanned root's absolute file:// URI in originalUriBaseIds.")
def command(results: tuple[Path, ...], fmt: str, output: Path | None, compare_paths: tuple[Path, ...],
            sarif_include_cloud: bool, sarif_absolute_root: bool) -> int:
    """Merge JSON results into one report; compare it with a previous review."""
    report = merge([read_result(p) for p in results])
    history = tuple(sorted((read_result(p) for p in compare_paths), key=lambda r: r.started_at))
    previous = history[-1] if history else None
    if previous is not None and previous.started_at >= report.started_at:
        raise UsageError("--compare must name an earlier result than the ones being reported")
    if previous is not None and previous.hash_key_id != report.hash_key_id:
        click.echo("credsweep: warning: the previous result used another hash key; findings will not match",
                   err=True)
    opts = FormatOptions(include_cloud=sarif_include_cloud, compare=previous, history=history,
                         absolute_root=sarif_absolute_root)
    text = formats.get(fmt)(report, opts)
    if output is None:
        click.echo(text, nl=False)
        return 0
    from scanner.commands._common import write_output

    write_output(output, text)
    click.echo(display(f"credsweep: wrote {fmt} report of {len(results)} result(s) to {output}"), err=True)
    return 0
