"""A local HTTPS server on 127.0.0.1 (pytest-httpserver, certificate from a trustme CA) that answers like providers.

``verify_env(server)`` is the environment a ``credsweep --verify`` subprocess needs to talk to it: the test CA as
``SSL_CERT_FILE`` and the test-only ``CREDSWEEP_VERIFY_BASE_URL_OVERRIDE`` mapping every official host in the
rules (plus a few user hosts used by tests) to the loopback server.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import cli, record_file

from scanner.detect.ruleset import load_builtin
from scanner.detect.verifyspec import spec_of
from support.toolcheck import need_module

USER_HOSTS = ("adb-1234.azuredatabricks.net", "vault.corp.example.com", "sts.amazonaws.com", "huggingface.co",
              "api.x.ai", "openrouter.ai")


@dataclass
class LocalHttps:
    """The running server and the CA file clients must trust."""

    server: Any  # pytest_httpserver.HTTPServer
    ca_file: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def env(self, extra_hosts: tuple[str, ...] = ()) -> dict[str, str]:
        hosts = {s.official_host for r in load_builtin() if (s := spec_of(r.verify)) and s.official_host}
        hosts |= set(USER_HOSTS) | set(extra_hosts)
        mapping = ",".join(f"{h}={self.base}" for h in sorted(hosts))
        return {"SSL_CERT_FILE": str(self.ca_file), "CREDSWEEP_VERIFY_BASE_URL_OVERRIDE": mapping}


@pytest.fixture(name="https_server")
def https_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHttps]:
    trustme = need_module("trustme")
    httpserver = need_module("pytest_httpserver")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = httpserver.HTTPServer(host="127.0.0.1", port=0, ssl_context=ctx, threaded=True)
    server.start()
    try:
        yield LocalHttps(server, ca_file)
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def scan_json(tmp_path: Path, text: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Write ``text`` to a file, run ``scan files --format json`` on it, return (rc, result, stderr)."""
    target = tmp_path / "src"
    target.mkdir(exist_ok=True)
    (target / "settings.env").write_text(text, encoding="utf-8")
    out = tmp_path / "result.json"
    r = cli("scan", "files", target, "--format", "json", "--output", out, *args, env=env)
    record_file(out)
    doc = json.loads(out.read_text()) if out.is_file() else {}
    return r.rc, doc, r.err


def by_rule(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Findings keyed by rule id."""
    return {f["rule_id"]: f for f in doc.get("findings", [])}
