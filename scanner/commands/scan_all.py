"""``credsweep scan all --config FILE``: repositories, configuration paths, Vault and AWS from one YAML file,
correlated into one result (see docs/hygiene.md).

```yaml
sources:
  repos: [path/to/repo, ...]
  paths: [path/to/configs, ...]
  vault: {addr: https://vault.example:8200, read_values: true, mounts: [secret]}
  aws: {profile: audit, regions: [us-east-1], read_values: true}
policy: {max_age_days: 90}        # inline, or a path to a policy file
```

Vault and AWS credentials come only from the environment (VAULT_TOKEN or VAULT_ROLE_ID/VAULT_SECRET_ID, the AWS
credential chain); a credential-like key in the file is refused. A source that fails becomes a skip and the
others are still scanned and written: the exit code is then 5 (partial result) unless findings make it 1, and 4
only when nothing at all was scanned. A key given twice in the file (a repeated source or setting) and a path
listed twice are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from scanner import policy as policy_mod
from scanner.commands._common import (
    deprecation_warning,
    emit,
    exit_code,
    load_config,
    no_repo_config_option,
    output_options,
    resolve_now,
)
from scanner.engine import Engine, nothing_scanned
from scanner.errors import EXIT_PARTIAL, ConfigError, CredsweepError, parser_message
from scanner.hygiene.checks import vault as vault_checks
from scanner.model import Skip
from scanner.policy import Policy
from scanner.safetext import display
from scanner.sources.base import CredentialResult, SourceResult

_TOP = frozenset({"sources", "policy", "exclude", "hash_key_env"})
_SOURCES = frozenset({"repos", "paths", "vault", "aws"})
_VAULT = {"addr": str, "namespace": str, "ca_cert": str, "tls_skip_verify": bool, "mounts": list, "paths": list,
          "read_values": bool, "tokens": bool, "policies": bool, "auth_methods": bool, "jobs": int,
          "request_timeout": (int, float), "max_attempts": int, "approle_mount": str}
# one name per concept, the same as the command-line options: the old keys still work for one release
_DEPRECATED = {"vault": {"concurrency": "jobs", "timeout": "request_timeout", "retries": "max_attempts"}}
_AWS = {"profile": str, "regions": list, "read_values": bool, "services": list, "role_arn": str,
        "external_id": str, "max_attempts": int}
# the same bounds as the command-line options of scan vault and scan aws
_RANGES = {"request_timeout": (0.1, 300.0), "jobs": (1, 16), "max_attempts": (1, 20)}
_VAULT_ATTEMPTS = (1, 11)
# never read credentials from the file: they belong in the environment (and out of version control)
_SECRET_KEYS = frozenset({"token", "vault_token", "secret_id", "role_id", "password", "client_key",
                          "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "access_key_id",
                          "secret_access_key", "session_token", "secret_key", "access_key"})
_ENV_HINT = {"vault": "set VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) in the environment",
             "aws": "use the AWS credential chain (AWS_PROFILE or a profile: key, environment variables, SSO, "
                    "instance roles)"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AllConfig:
    """A parsed ``scan all`` configuration file. Paths are resolved against the file's folder."""

    origin: str
    repos: tuple[Path, ...] = ()
    paths: tuple[Path, ...] = ()
    vault: Mapping[str, Any] | None = None
    aws: Mapping[str, Any] | None = None
    policy: Policy | None = None
    exclude: tuple[str, ...] = ()
    hash_key_env: str | None = None


def _paths(raw: Any, key: str, origin: str, base: Path) -> tuple[Path, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise ConfigError(f"{origin}: sources.{key} must be a list of paths")
    seen = set()
    for p in raw:
        if p in seen:
            raise ConfigError(f"{origin}: sources.{key} lists {p!r} twice")
        seen.add(p)
    return tuple((base / p).resolve() if not Path(p).is_absolute() else Path(p) for p in raw)


def _section(raw: Any, name: str, schema: Mapping[str, Any], origin: str) -> Mapping[str, Any] | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: sources.{name} must be a mapping of settings")
    renamed = dict(raw)
    for old, new in _DEPRECATED.get(name, {}).items():
        if old in renamed:
            if new in renamed:
                raise ConfigError(f"{origin}: sources.{name}: give {new} only ({old} is its old name)")
            deprecation_warning(f"{origin}: sources.{name}.{old}", f"sources.{name}.{new}")
            value = renamed.pop(old)
            renamed[new] = value + 1 if old == "retries" and isinstance(value, int) else value
    raw = renamed
    for key, value in raw.items():
        if str(key).lower() in _SECRET_KEYS:
            raise ConfigError(f"{origin}: sources.{name}.{key}: credentials are never read from the configuration "
                              f"file; {_ENV_HINT[name]}")
        if key not in schema:
            raise ConfigError(f"{origin}: sources.{name}: unknown setting {key!r} "
                              f"(known: {', '.join(sorted(schema))})")
        want = schema[key]
        if want is int and isinstance(value, bool) or not isinstance(value, want):
            raise ConfigError(f"{origin}: sources.{name}.{key} has the wrong type")
        if want is list and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: sources.{name}.{key} must be a list of strings")
        bounds = _VAULT_ATTEMPTS if (name, key) == ("vault", "max_attempts") else _RANGES.get(key)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            low, high = bounds
            raise ConfigError(f"{origin}: sources.{name}.{key} is {value}; it must be between {low:g} and {high:g}")
    return dict(raw)


def parse(doc: Any, origin: str, base: Path) -> AllConfig:
    """Validate a parsed configuration document."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{origin}: the configuration is a mapping with a 'sources' key")
    unknown = set(doc) - _TOP
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s) {', '.join(sorted(map(str, unknown)))} "
                          f"(known: {', '.join(sorted(_TOP))})")
    sources = doc.get("sources")
    if not isinstance(sources, Mapping) or not sources:
        raise ConfigError(f"{origin}: 'sources' must list at least one of repos, paths, vault, aws")
    bad = set(sources) - _SOURCES
    if bad:
        raise ConfigError(f"{origin}: unknown source(s) {', '.join(sorted(map(str, bad)))} "
                          f"(known: {', '.join(sorted(_SOURCES))})")
    raw_policy = doc.get("policy")
    policy: Policy | None
    if raw_policy is None:
        policy = None
    elif isinstance(raw_policy, str):
        policy = policy_mod.load(base / raw_policy)
    elif isinstance(raw_policy, Mapping):
        policy = policy_mod.from_mapping(raw_policy, f"{origin}: policy")
    else:
        raise ConfigError(f"{origin}: 'policy' is a mapping of settings or the path of a policy file")
    exclude = doc.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        raise ConfigError(f"{origin}: 'exclude' must be a list of globs")
    hash_env = doc.get("hash_key_env")
    if hash_env is not None and not isinstance(hash_env, str):
        raise ConfigError(f"{origin}: 'hash_key_env' names an environment variable")
    return AllConfig(origin=origin, repos=_paths(sources.get("repos"), "repos", origin, base),
                     paths=_paths(sources.get("paths"), "paths", origin, base),
                     vault=_section(sources.get("vault"), "vault", _VAULT, origin),
                     aws=_section(sources.get("aws"), "aws", _AWS, origin), policy=policy,
                     exclude=tuple(exclude), hash_key_env=hash_env)


def _unique_keys_loader() -> Any:
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last one silently:
    a repeated ``vault:`` source would drop the first without a word)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            key = key if isinstance(key, str | int | float | bool) or key is None else repr(key)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice (a repeated source or setting)", key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def load(path: Path) -> AllConfig:
    """Read and validate a YAML configuration file."""
    import yaml

    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_unique_keys_loader())  # a SafeLoader subclass
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {parser_message(exc)}") from None
    return parse(doc, str(path), path.parent)


def _failure(source: str, target: str, exc: BaseException) -> Skip:
    """A source that failed as a whole. Only our own error messages are shown (they never hold a secret)."""
    detail = str(exc) if isinstance(exc, CredsweepError) else f"{exc.__class__.__name__} (set CREDSWEEP_DEBUG=1)"
    return Skip(source=source, target=target, reason="failed", detail=detail)


def _scan_repo(eng: Engine, repo: Path) -> SourceResult:
    from scanner.sources.git.history import GitSource

    try:
        source = GitSource(repo, exclude=eng.config.exclude, max_file_mb=eng.config.max_file_mb,
                           jobs=eng.config.jobs)
        source.open()
        return source.scan(eng.scanner, eng.hasher)
    except Exception as exc:  # noqa: BLE001 - one failing repository is a skip, not the end of the run
        if _debug():
            raise
        return SourceResult(skipped=(_failure("git", str(repo), exc),), scanned_anything=False)


def _scan_paths(eng: Engine, paths: tuple[Path, ...]) -> SourceResult:
    from scanner.sources.files import FileSource

    try:
        return FileSource(paths, exclude=eng.config.exclude, max_file_mb=eng.config.max_file_mb,
                          jobs=eng.config.jobs).scan(eng.scanner, eng.hasher)
    except Exception as exc:  # noqa: BLE001
        if _debug():
            raise
        return SourceResult(skipped=(_failure("file", ", ".join(map(str, paths)), exc),), scanned_anything=False)


def _scan_vault(eng: Engine, conf: Mapping[str, Any], policy: Policy, now: datetime) -> tuple[CredentialResult, str]:
    from scanner.sources.vault.client import VaultSettings, connect
    from scanner.sources.vault.coverage import VaultOptions
    from scanner.sources.vault.walk import VaultSource

    target = str(conf.get("addr") or "vault")
    try:
        settings = VaultSettings.resolve(addr=conf.get("addr"), namespace=conf.get("namespace"),
                                         ca_cert=conf.get("ca_cert"),
                                         tls_skip_verify=bool(conf.get("tls_skip_verify", False)),
                                         timeout=float(conf.get("request_timeout", 10.0)),
                                         retries=int(conf.get("max_attempts", 4)) - 1,
                                         approle_mount=str(conf.get("approle_mount", "approle")))
        target = settings.addr
        concurrency = int(conf.get("jobs", 4))
        client = connect(settings, concurrency=concurrency)
        options = VaultOptions(mounts=tuple(conf.get("mounts") or ()), paths=tuple(conf.get("paths") or ()),
                               read_values=bool(conf.get("read_values", False)),
                               tokens=bool(conf.get("tokens", True)), policies=bool(conf.get("policies", True)),
                               auth_methods=bool(conf.get("auth_methods", True)), concurrency=concurrency)
        result = VaultSource(client, options, addr=settings.addr).scan(eng.scanner, eng.hasher, policy, now)
        return vault_checks.evaluate(result, policy, now), target
    except Exception as exc:  # noqa: BLE001
        if _debug():
            raise
        return CredentialResult(skipped=(_failure("vault", target, exc),), scanned_anything=False), target


def _scan_aws(eng: Engine, conf: Mapping[str, Any], policy: Policy, now: datetime) -> tuple[CredentialResult, str]:
    from scanner.hygiene.checks.aws import evaluate
    from scanner.sources.aws.session import Coverage
    from scanner.sources.aws.source import SERVICES, AwsOptions, AwsSource, connect, identity, resolve_regions

    target = "aws"
    try:
        options = AwsOptions(profile=conf.get("profile"), regions=tuple(conf.get("regions") or ()),
                             role_arn=conf.get("role_arn"), external_id=conf.get("external_id"),
                             read_values=bool(conf.get("read_values", False)),
                             services=tuple(conf.get("services") or SERVICES),
                             max_attempts=int(conf.get("max_attempts", 8)))
        coverage = Coverage()
        clients = connect(options)
        account, partition = identity(clients, clients.default_region or "us-east-1", coverage)
        regions = resolve_regions(clients, options.regions, coverage)
        target = f"aws:{account or 'unknown-account'}:" + ",".join(regions)
        source = AwsSource(clients, regions, read_values=options.read_values, services=options.services,
                           account=account, partition=partition, coverage=coverage)
        result = source.scan(eng.scanner, eng.hasher)
        return CredentialResult(credentials=result.credentials,
                                violations=result.violations + tuple(evaluate(result.credentials, policy, now)),
                                skipped=result.skipped, notes=result.notes,
                                scanned_anything=result.scanned_anything), target
    except Exception as exc:  # noqa: BLE001
        if _debug():
            raise
        return CredentialResult(skipped=(_failure("aws", target, exc),), scanned_anything=False), target


def _debug() -> bool:
    import os

    return bool(os.environ.get("CREDSWEEP_DEBUG"))


@click.command("all")
@click.option("--config", "config_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML file naming the sources (repos, paths, vault, aws) and the policy.")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Extra rule file or directory (repeatable).")
@no_repo_config_option
@output_options
def command(config_file: Path, rule_dirs: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None,
            quiet: bool, color: bool | None, policy: Path | None, as_of: datetime | None) -> int:
    """Scan repositories, configuration paths, Vault and AWS from one configuration file, and correlate them.

    Each secret appears once in the inventory with every place it was seen (commit, Vault path and version,
    AWS ARN), its age, its violations and the steps to fix them. Vault and AWS credentials come from the
    environment only. A failing source is reported as skipped and the others are still written: exit code 5
    (partial result) unless findings make it 1; exit code 4 means nothing at all was scanned.
    """
    started = datetime.now(UTC)
    now = resolve_now(as_of)
    conf = load(config_file)
    cfg = load_config(None, config_file.parent, rule_dirs=rule_dirs, fail_on=fail_on, policy_file=policy,
                      exclude=conf.exclude, hash_key_env=conf.hash_key_env)
    hygiene = policy_mod.load(policy) if policy is not None else conf.policy or policy_mod.load(cfg.policy_file)
    eng = Engine.create(cfg)
    results: list[SourceResult] = []
    stored: list[CredentialResult] = []
    targets: list[str] = []
    for repo in conf.repos:
        results.append(_scan_repo(eng, repo))
        targets.append(str(repo))
    if conf.paths:
        results.append(_scan_paths(eng, conf.paths))
        targets.extend(map(str, conf.paths))
    read_values = False
    for section, scan in ((conf.vault, _scan_vault), (conf.aws, _scan_aws)):
        if section is None:
            continue
        result, target = scan(eng, section, hygiene, now)
        stored.append(result)
        targets.append(target)
        read_values = read_values or (bool(section.get("read_values")) and result.scanned_anything)
    report = eng.report_from(results, credential_results=stored, scan_kind="all", targets=targets,
                             suppression=eng.suppression(None, None, None), started=started, now=now,
                             policy=hygiene, stores_read=read_values)
    emit(report, fmt, output, quiet=quiet, color=color)
    empty = nothing_scanned([*results, *stored])
    if empty:
        click.echo("credsweep: error: nothing could be scanned (see the skipped list)", err=True)
    for s in report.skipped:
        if s.reason == "failed":
            click.echo(display(f"credsweep: warning: {s.source} {s.target}: {s.detail}"), err=True)
    failed = [(r.scanned_anything, r.skipped) for r in results] + [(r.scanned_anything, r.skipped) for r in stored]
    failed = [f for f in failed if not f[0]]
    code = exit_code(report, cfg.fail_on, empty, partial=bool(failed))
    if code == EXIT_PARTIAL:
        what = "; ".join(f"{s.source} {s.target}: {s.detail}" for _, skips in failed for s in skips[:1])
        click.echo(display(f"credsweep: partial result (exit {EXIT_PARTIAL}): {len(failed)} source(s) could not "
                           f"be scanned, the others were: {what}"), err=True)
    return code
