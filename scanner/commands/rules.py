"""``credsweep rules list`` and ``credsweep rules check DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.detect import ruleset
from scanner.errors import EXIT_CONFIG, EXIT_OK, RuleError
from scanner.safetext import display


@click.group("rules")
def rules() -> None:
    """List built-in rules or check rule files."""


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Also list rules from this file or directory.")
@click.option("--category", help="Only rules of this category.")
def list_rules(fmt: str, rule_dirs: tuple[Path, ...], category: str | None) -> int:
    """List rules: id, provider, category, kind, severity."""
    rs = ruleset.load(rule_dirs)
    items = [r for r in rs if category is None or r.category == category]
    if fmt == "json":
        click.echo(json.dumps([
            {"id": r.id, "name": r.name, "provider": r.provider, "category": r.category, "kind": r.kind,
             "severity": r.severity.label, "confidence": r.confidence.label, "certainty": r.certainty,
             "keywords": list(r.keywords), "validator": r.validator, "rotate_url": r.rotate_url}
            for r in items], indent=2))
        return EXIT_OK
    width = max((len(r.id) for r in items), default=10)
    for r in items:
        click.echo(display(f"{r.id:{width}}  {r.provider:18.18}  {r.category:16}  {r.kind:22.22}  {r.severity.label}"))
    click.echo(f"{len(items)} rule(s)")
    return EXIT_OK


@rules.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def check(path: Path) -> int:
    """Validate rule files with the same checks the test suite runs (patterns, keywords, examples)."""
    from scanner.detect.rulecheck import ruleset_problems

    try:
        rs = ruleset.load_dir(path)
    except RuleError as exc:
        click.echo(display(f"error: {exc}"), err=True)
        return EXIT_CONFIG
    builtin = {r.id for r in ruleset.load_builtin()}
    problems = ruleset_problems(rs)
    for r in rs:
        if r.id in builtin:
            click.echo(display(f"{r.id}: note: replaces the built-in rule with the same id"))
    for p in problems:
        click.echo(display(str(p)))
    errors = [p for p in problems if not p.warning]
    click.echo(f"{len(rs)} rule(s) checked, {len(errors)} error(s)")
    return EXIT_CONFIG if errors else EXIT_OK
