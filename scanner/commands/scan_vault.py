"""``credsweep scan vault``: inventory a Vault/OpenBao server (KV secrets, tokens, policies, AppRole roles)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from scanner.commands._common import (
    deprecated_option,
    emit,
    exit_code,
    load_config,
    load_policy,
    output_options,
    resolve_now,
)
from scanner.engine import Engine, nothing_scanned
from scanner.hygiene.checks import vault as vault_checks
from scanner.safetext import display


@click.command("vault")
@click.option("--addr", help="Server address [default: $VAULT_ADDR].")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the token from FILE [default: $VAULT_TOKEN, then ~/.vault-token].")
@click.option("--role-id", help="AppRole role id [default: $VAULT_ROLE_ID]; logs in with the secret id.")
@click.option("--secret-id-file", type=click.Path(dir_okay=False, path_type=Path),
              help="AppRole secret id from FILE [default: $VAULT_SECRET_ID].")
@click.option("--approle-mount", default="approle", show_default=True, help="Mount path of the AppRole method.")
@click.option("--namespace", help="Vault Enterprise / OpenBao namespace [default: $VAULT_NAMESPACE].")
@click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), help="CA bundle [default: $VAULT_CACERT].")
@click.option("--tls-skip-verify", is_flag=True, help="Do not verify the server certificate (testing only).")
@click.option("--client-cert", type=click.Path(exists=True, dir_okay=False), help="TLS client certificate.")
@click.option("--client-key", type=click.Path(exists=True, dir_okay=False), help="TLS client key.")
@click.option("--mount", "mounts", multiple=True, help="KV mount to walk (repeatable) [default: every KV mount].")
@click.option("--path", "paths", multiple=True, help="MOUNT/PREFIX subtree (or one secret) to walk (repeatable).")
@click.option("--read-values", is_flag=True,
              help="Read secret values to classify them (kept only as keyed hash and redacted preview).")
@click.option("--tokens/--no-tokens", default=True, show_default=True, help="Look up token accessors.")
@click.option("--policies/--no-policies", default=True, show_default=True, help="Check ACL policies.")
@click.option("--auth-methods/--no-auth-methods", default=True, show_default=True, help="Check AppRole roles.")
@click.option("--jobs", "-j", type=click.IntRange(1, 16), default=None, help="Parallel requests [default: 4].")
@click.option("--request-timeout", type=click.FloatRange(0.1, 300), default=None, metavar="SECONDS",
              help="Seconds per request [default: 10].")
@click.option("--max-attempts", type=click.IntRange(1, 11), default=None,
              help="Attempts per request on timeouts, 429 and 502-504, with backoff [default: 4].")
@deprecated_option("--concurrency", "--jobs", "old_concurrency", type=click.IntRange(1, 16))
@deprecated_option("--timeout", "--request-timeout", "old_timeout", type=click.FloatRange(0.1, 300))
@deprecated_option("--retries", "--max-attempts (retries + 1)", "old_retries", type=click.IntRange(0, 10))
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Settings file (.credsweep.toml or pyproject.toml).")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Extra rule file or directory (repeatable).")
@click.option("--engine", type=click.Choice(["auto", "hyperscan", "re2"]), default=None, help="Matching engine.")
@output_options
def command(addr: str | None, token_file: Path | None, role_id: str | None, secret_id_file: Path | None,
            approle_mount: str, namespace: str | None, ca_cert: str | None, tls_skip_verify: bool,
            client_cert: str | None, client_key: str | None, mounts: tuple[str, ...], paths: tuple[str, ...],
            read_values: bool, tokens: bool, policies: bool, auth_methods: bool, jobs: int | None,
            request_timeout: float | None, max_attempts: int | None, old_concurrency: int | None,
            old_timeout: float | None, old_retries: int | None, config_file: Path | None, rule_dirs: tuple[Path, ...], engine: str | None, fmt: str,
            output: Path | None, fail_on: str | None, quiet: bool, color: bool | None, policy: Path | None,
            as_of: datetime | None) -> int:
    """Inventory a Vault/OpenBao server: KV secrets (v1, v2), tokens, ACL policies, AppRole roles.

    Values are read only with --read-values, and never stored or printed. The token is never printed.
    """
    from scanner.sources.vault.client import VaultSettings, connect
    from scanner.sources.vault.coverage import VaultOptions
    from scanner.sources.vault.walk import VaultSource

    concurrency = next(v for v in (jobs, old_concurrency, 4) if v is not None)
    timeout = next(v for v in (request_timeout, old_timeout, 10.0) if v is not None)
    retries = max_attempts - 1 if max_attempts is not None else old_retries if old_retries is not None else 3
    started = datetime.now(UTC)
    cfg = load_config(config_file, None, rule_dirs=rule_dirs, fail_on=fail_on, engine=engine, policy_file=policy)
    hygiene = load_policy(policy, cfg)
    now = resolve_now(as_of)
    settings = VaultSettings.resolve(addr=addr, token_file=token_file, role_id=role_id,
                                     secret_id_file=secret_id_file, namespace=namespace, ca_cert=ca_cert,
                                     tls_skip_verify=tls_skip_verify, client_cert=client_cert,
                                     client_key=client_key, timeout=timeout, retries=retries,
                                     approle_mount=approle_mount)
    eng = Engine.create(cfg)
    client = connect(settings, concurrency=concurrency)
    options = VaultOptions(mounts=mounts, paths=paths, read_values=read_values, tokens=tokens, policies=policies,
                           auth_methods=auth_methods, concurrency=concurrency)
    result = VaultSource(client, options, addr=settings.addr).scan(eng.scanner, eng.hasher, hygiene, now)
    result = vault_checks.evaluate(result, hygiene, now)
    if settings.tls_skip_verify:
        result = type(result)(credentials=result.credentials, violations=result.violations, skipped=result.skipped,
                              notes=(*result.notes, "vault: TLS certificate not verified (--tls-skip-verify)"),
                              scanned_anything=result.scanned_anything)
    targets = [settings.addr + (f" (namespace {settings.namespace})" if settings.namespace else "")]
    report = eng.report_from([], scan_kind="vault", targets=targets, suppression=None, started=started,
                             credential_results=[result], now=now, policy=hygiene)
    emit(report, fmt, output, quiet=quiet, color=color)
    empty = nothing_scanned([result])
    if empty:
        why = next((s.detail for s in result.skipped), "every request failed")
        click.echo(display(f"credsweep: error: vault: nothing could be scanned: {why}"), err=True)
    return exit_code(report, cfg.fail_on, empty)
