"""Connecting to Vault / OpenBao: ``connect(settings)`` builds the hvac client (token, token file or AppRole;
namespace; TLS; bounded retries with backoff on 429/502/503/504 and on timeouts), and errors are named for users.

hvac is imported inside functions only (the CLI must start without it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import UsageError, VaultSourceError

MAX_RETRY_AFTER = 10.0  # seconds: a server asking for longer is treated as failing for this run


@dataclass(frozen=True, slots=True, kw_only=True)
class VaultSettings:
    """How to reach and authenticate to one server. Secrets in here never reach a repr, a message or a log."""

    addr: str
    token: str | None = field(default=None, repr=False)
    role_id: str | None = field(default=None, repr=False)
    secret_id: str | None = field(default=None, repr=False)
    approle_mount: str = "approle"
    namespace: str | None = None
    ca_cert: str | None = None
    tls_skip_verify: bool = False
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.25

    @classmethod
    def resolve(cls, *, addr: str | None = None, token_file: Path | None = None, role_id: str | None = None,
                secret_id_file: Path | None = None, namespace: str | None = None, ca_cert: str | None = None,
                tls_skip_verify: bool = False, client_cert: str | None = None, client_key: str | None = None,
                timeout: float = 10.0, retries: int = 3, approle_mount: str = "approle",
                env: Mapping[str, str] | None = None) -> VaultSettings:
        """Command-line values first, then the standard VAULT_* variables, then ``~/.vault-token``."""
        env = os.environ if env is None else env
        address = addr or env.get("VAULT_ADDR") or env.get("BAO_ADDR")
        if not address:
            raise UsageError("no Vault address: pass --addr or set VAULT_ADDR")
        rid = role_id or env.get("VAULT_ROLE_ID")
        sid = _read_secret_file(secret_id_file, "--secret-id-file") if secret_id_file else env.get("VAULT_SECRET_ID")
        token = None
        if token_file is not None:
            token = _read_secret_file(token_file, "--token-file")
        elif not rid:
            token = env.get("VAULT_TOKEN") or env.get("BAO_TOKEN")
            if not token:
                home_token = Path(env.get("HOME", str(Path.home()))) / ".vault-token"
                if home_token.is_file():
                    token = _read_secret_file(home_token, "~/.vault-token")
        if rid and not sid:
            raise UsageError("AppRole needs a secret id: pass --secret-id-file or set VAULT_SECRET_ID")
        if not token and not rid:
            raise UsageError("no Vault credentials: set VAULT_TOKEN, pass --token-file, or use AppRole "
                             "(--role-id with --secret-id-file)")
        skip = tls_skip_verify or env.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true", "yes")
        return cls(addr=address.rstrip("/"), token=token, role_id=rid, secret_id=sid, approle_mount=approle_mount,
                   namespace=namespace or env.get("VAULT_NAMESPACE") or None,
                   ca_cert=ca_cert or env.get("VAULT_CACERT") or None, tls_skip_verify=skip,
                   client_cert=client_cert or env.get("VAULT_CLIENT_CERT") or None,
                   client_key=client_key or env.get("VAULT_CLIENT_KEY") or None,
                   timeout=timeout, retries=retries)


def _read_secret_file(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what}: cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    if not value:
        raise UsageError(f"{what}: {path} is empty")
    return value


def _session(settings: VaultSettings, pool: int) -> Any:
    """A requests session whose adapter retries (bounded) on timeouts, connection resets, 429 and 502-504."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        def get_retry_after(self, response: Any) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(value, MAX_RETRY_AFTER)

    n = max(0, settings.retries)
    retry = CappedRetry(total=n, connect=n, read=n, status=n, other=0, backoff_factor=settings.backoff,
                        backoff_max=MAX_RETRY_AFTER, status_forcelist=(429, 502, 503, 504), allowed_methods=None,
                        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)
    sess = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=max(pool, 4))
    sess.mount("http://", adapter)
    sess.mount("https://", adapter)
    return sess


def connect(settings: VaultSettings, *, concurrency: int = 4) -> Any:
    """An authenticated ``hvac.Client``. AppRole logs in here; a failed login is a VaultSourceError."""
    import hvac

    verify: bool | str = False if settings.tls_skip_verify else (settings.ca_cert or True)
    cert = (settings.client_cert, settings.client_key) if settings.client_cert and settings.client_key else (
        settings.client_cert or None)
    client = hvac.Client(url=settings.addr, token=settings.token, verify=verify, cert=cert,
                         timeout=settings.timeout, namespace=settings.namespace,
                         session=_session(settings, concurrency))
    if settings.role_id and not settings.token:
        try:
            client.auth.approle.login(role_id=settings.role_id, secret_id=settings.secret_id,
                                      mount_point=settings.approle_mount, use_token=True)
        except Exception as exc:  # noqa: BLE001 - reported as one line, without the ids
            raise VaultSourceError(f"{settings.addr}: AppRole login on auth/{settings.approle_mount} failed: "
                                   f"{describe_error(exc)}") from None
    return client


def describe_error(exc: BaseException) -> str:
    """A short, value-free description of an hvac or requests failure."""
    kind = error_kind(exc)
    texts = {
        "forbidden": "permission denied (403)",
        "not-found": "not found (404)",
        "rate-limited": "rate limited (429) after retries",
        "unavailable": "server unavailable or sealed (503) after retries",
        "timeout": "timed out after retries",
        "unreachable": "cannot connect",
        "tls": "TLS error (check --ca-cert, --client-cert/--client-key or --tls-skip-verify)",
        "bad-request": "request rejected (400)",
        "unauthorized": "unauthorized (401)",
        "server-error": "server error",
    }
    return texts.get(kind, f"unexpected error ({type(exc).__name__})")


def error_kind(exc: BaseException) -> str:
    """Classify an exception into a Skip reason."""
    import hvac.exceptions as hx
    import requests

    table: list[tuple[type[BaseException], str]] = [
        (hx.Forbidden, "forbidden"), (hx.InvalidPath, "not-found"), (hx.RateLimitExceeded, "rate-limited"),
        (hx.VaultDown, "unavailable"), (hx.InvalidRequest, "bad-request"), (hx.Unauthorized, "unauthorized"),
        (hx.BadGateway, "unavailable"), (hx.InternalServerError, "server-error"),
        (requests.exceptions.SSLError, "tls"), (requests.exceptions.Timeout, "timeout"),
        (requests.exceptions.ConnectionError, "unreachable"), (hx.VaultError, "server-error"),
    ]
    for cls, kind in table:
        if isinstance(exc, cls):
            if kind == "unreachable" and "timed out" in str(exc).lower():
                return "timeout"
            return kind
    return "error"
