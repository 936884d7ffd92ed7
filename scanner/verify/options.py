"""Where a key may be sent: ``--verify`` options, ``--verify-host`` entries and the test-only loopback override.

A key is sent only over HTTPS (certificates verified, redirects never followed) to the official host written in
its rule, or to a host the user named with ``--verify-host KEY=HOST`` for rules whose URL holds ``{host}``
(Databricks workspaces, Vault). A host found in scanned content is never used.
``CREDSWEEP_VERIFY_BASE_URL_OVERRIDE`` exists for tests only: it maps an official host to a loopback HTTPS
server and is refused for any other host unless ``CREDSWEEP_VERIFY_ALLOW_NONLOOPBACK_OVERRIDE=1``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scanner.errors import UsageError

OVERRIDE_ENV = "CREDSWEEP_VERIFY_BASE_URL_OVERRIDE"


ALLOW_NONLOOPBACK_ENV = "CREDSWEEP_VERIFY_ALLOW_NONLOOPBACK_OVERRIDE"


_USER_HOST_RE = re.compile(r"^(?:https://)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?/?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    """How a run verifies. ``enabled`` False means no network call at all."""

    enabled: bool = False
    timeout: float = 30.0  # global budget in seconds for the whole verify phase
    request_timeout: float = 10.0
    hosts: Mapping[str, str] = field(default_factory=dict)  # --verify-host KEY=HOST
    overrides: Mapping[str, str] = field(default_factory=dict)  # test only: official host -> https://loopback:port
    only_live: bool = False


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_overrides(text: str, allow_nonloopback: bool = False) -> dict[str, str]:
    """Read the test-only override (``host=https://127.0.0.1:PORT,...`` or a JSON object); refuse non-loopback."""
    text = text.strip()
    if not text:
        return {}
    try:
        pairs = json.loads(text) if text.startswith("{") else dict(p.split("=", 1) for p in text.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"{OVERRIDE_ENV}: expected HOST=https://127.0.0.1:PORT pairs separated by commas") from None
    out: dict[str, str] = {}
    for host, base in pairs.items():
        parts = urlsplit(str(base).strip())
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
            raise UsageError(f"{OVERRIDE_ENV}: {host}: the replacement must be https://HOST[:PORT]")
        if not _is_loopback(parts.hostname) and not allow_nonloopback:
            raise UsageError(f"{OVERRIDE_ENV}: refusing to send keys for {host} to {parts.hostname}: the override "
                             f"is for tests against loopback servers only (set {ALLOW_NONLOOPBACK_ENV}=1 to allow it)")
        out[str(host).strip().lower()] = f"https://{parts.netloc}"
    return out


def parse_hosts(entries: Iterable[str]) -> dict[str, str]:
    """``--verify-host KEY=HOST[:PORT]`` values: the user's own hosts for rules that need one."""
    out: dict[str, str] = {}
    for entry in entries:
        key, sep, host = entry.partition("=")
        m = _USER_HOST_RE.match(host.strip())
        if not sep or not key.strip() or m is None:
            raise UsageError(f"--verify-host {entry!r}: expected KEY=HOST[:PORT], for example databricks=adb-1.azuredatabricks.net")
        out[key.strip().lower()] = m.group(1).lower() + (f":{m.group(2)}" if m.group(2) else "")
    return out


def options_from(enabled: bool, timeout: float | None, hosts: Iterable[str], only_live: bool,
                 env: Mapping[str, str]) -> VerifyOptions:
    """Build options from the CLI flags and the (test-only) override variables."""
    if only_live and not enabled:
        raise UsageError("--only-live needs --verify (without it, no key is checked)")
    if timeout is not None and timeout <= 0:
        raise UsageError("--verify-timeout must be above 0 seconds")
    overrides = parse_overrides(env.get(OVERRIDE_ENV, ""), env.get(ALLOW_NONLOOPBACK_ENV) == "1") if enabled else {}
    return VerifyOptions(enabled=enabled, timeout=timeout or 30.0, hosts=parse_hosts(hosts), overrides=overrides,
                         only_live=only_live)
