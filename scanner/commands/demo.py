"""``credsweep demo --output report.html``: the whole product in a minute, on local servers with fake keys."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click


@click.command("demo")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="Where to write the combined HTML review.")
@click.option("--sarif", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the SARIF of the repository scan [default: next to --output, .sarif].")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the example repository and the JSON results here [default: a temporary directory, "
                   "removed at the end].")
def command(output: Path, sarif: Path | None, workdir: Path | None) -> int:
    """Start local OpenBao and moto servers, seed them and an example repository with fake keys, scan
    everything, and write the quarterly HTML review and the SARIF. Needs: pip install 'credsweep[demo]'.

    Only --output and --sarif are left behind (and --workdir when given): the servers are stopped and the
    temporary directory is removed, also when something fails."""
    from scanner.commands import demo_seed as demo

    output = output.resolve()
    sarif = (sarif or output.with_suffix(".sarif")).resolve()
    keep = workdir is not None
    work = workdir.resolve() if workdir is not None else Path(tempfile.mkdtemp(prefix="credsweep-demo-"))
    try:
        work.mkdir(parents=True, exist_ok=True)
        result = demo.run(output, sarif, work, lambda msg: click.echo(f"credsweep demo: {msg}", err=True))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    click.echo(f"HTML review:   {result.html}")
    click.echo(f"SARIF:         {result.sarif}")
    if keep:
        click.echo(f"JSON results:  {', '.join(str(p) for p in result.results)}")
        click.echo(f"Example repo:  {result.workdir / 'chat-service'}")
    else:
        click.echo("JSON results and the example repository were in a temporary directory, now removed "
                   "(keep them with --workdir DIR).")
    click.echo("Open the HTML file in a browser; every key in it is fake and the servers are stopped.")
    return 0
