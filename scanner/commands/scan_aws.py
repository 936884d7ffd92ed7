"""``credsweep scan aws``: inventory AWS-held credentials and check their hygiene (see docs/aws.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from scanner.commands._common import emit, exit_code, load_config, load_policy, output_options, resolve_now
from scanner.engine import Engine, nothing_scanned


@click.command("aws")
@click.option("--profile", default=None, help="Named profile from the AWS config files [default: the SDK chain].")
@click.option("--region", "regions", multiple=True,
              help="Region to scan (repeatable, or comma-separated); 'all' scans every enabled region "
                   "[default: the configured region, else us-east-1].")
@click.option("--role-arn", default=None, help="Assume this IAM role (sts:AssumeRole) and scan with it.")
@click.option("--external-id", default=None, help="External id for --role-arn.")
@click.option("--read-values", is_flag=True,
              help="Read Secrets Manager and Parameter Store values and classify them with the rules "
                   "(kept only as keyed hash and redacted preview). Needs the value-reading IAM statement.")
@click.option("--service", "services", multiple=True,
              type=click.Choice(["secretsmanager", "ssm", "iam", "bedrock", "lambda", "ecs"]),
              help="Only these services (repeatable) [default: all].")
@click.option("--max-attempts", type=click.IntRange(1, 20), default=8, show_default=True,
              help="Attempts per call under botocore's adaptive retry mode (throttling).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Settings file (.credsweep.toml or pyproject.toml) [default: found in the current directory].")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Extra rule file or directory (repeatable).")
@output_options
def command(profile: str | None, regions: tuple[str, ...], role_arn: str | None, external_id: str | None,
            read_values: bool, services: tuple[str, ...], max_attempts: int, config_file: Path | None,
            rule_dirs: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None, quiet: bool,
            color: bool | None, policy: Path | None, as_of: datetime | None) -> int:
    """Inventory AWS: Secrets Manager, SSM, IAM keys, Bedrock, Lambda and ECS.

    Uses the standard credential chain and SDK configuration (AWS_PROFILE, AWS_ENDPOINT_URL, ...). Every call is
    read-only. A service or region that denies access is reported as skipped and the scan goes on; exit code 4
    means nothing at all could be scanned.
    """
    from scanner.hygiene.checks.aws import evaluate
    from scanner.sources.aws.source import SERVICES, AwsOptions, scan_account

    started = datetime.now(UTC)
    cfg = load_config(config_file, None, rule_dirs=rule_dirs, fail_on=fail_on, policy_file=policy)
    rules_policy = load_policy(policy, cfg)
    now = resolve_now(as_of)
    options = AwsOptions(profile=profile, regions=regions, role_arn=role_arn, external_id=external_id,
                         read_values=read_values, services=services or SERVICES, max_attempts=max_attempts)
    eng = Engine.create(cfg)
    result, target = scan_account(options, eng.scanner, eng.hasher)
    result = replace(result, violations=result.violations + tuple(evaluate(result.credentials, rules_policy, now)))
    report = eng.report_from([], credential_results=[result], scan_kind="aws", targets=[target], suppression=None,
                             started=started, now=now, policy=rules_policy)
    emit(report, fmt, output, quiet=quiet, color=color)
    if not result.scanned_anything:
        click.echo("credsweep: error: nothing in AWS could be scanned (see the skipped list)", err=True)
    return exit_code(report, cfg.fail_on, nothing_scanned([result]))
