"""Faults: sealed server, unreachable port, a token denied everything, and (through a small local HTTP server on
127.0.0.1 speaking the Vault API) 429, 503 and timeouts with bounded retries."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import cli, plant
from support.vault_server import Bao, bao, free_port, fresh_bao  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

_META = {"created_time": "2026-01-01T00:00:00.123456789Z", "updated_time": "2026-01-01T00:00:00Z",
         "current_version": 1, "oldest_version": 0, "custom_metadata": {"owner": "ml"},
         "versions": {"1": {"created_time": "2026-01-01T00:00:00Z", "deletion_time": "", "destroyed": False}}}
ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/sys/seal-status"): {"sealed": False},
    ("GET", "/v1/sys/mounts"): {"data": {"kv/": {"type": "kv", "options": {"version": "2"}}}},
    ("LIST", "/v1/kv/metadata"): {"data": {"keys": ["a", "b", "c"]}},
    ("GET", "/v1/kv/metadata/a"): {"data": _META},
    ("GET", "/v1/kv/metadata/b"): {"data": _META},
    ("GET", "/v1/kv/metadata/c"): {"data": _META},
}


class FakeVault:
    """Serves ROUTES; ``faults[path]`` is a list of actions used one per request ("429", "503", "sleep"),
    or ("always", action). Everything not routed is 403."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.faults: dict[str, Any] = {}
        self.sleep = 2.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")  # hvac drops the trailing slash
                fake.hits[path] += 1
                action = None
                plan = fake.faults.get(path)
                if isinstance(plan, tuple):
                    action = plan[1]
                elif plan:
                    action = plan.pop(0)
                if action == "sleep":
                    time.sleep(fake.sleep)
                    action = None
                if action in ("429", "503"):
                    self._send(int(action), {"errors": ["slow down" if action == "429" else "unavailable"]},
                               {"Retry-After": "0"})
                    return
                body = ROUTES.get((self.command, path))
                if body is None:
                    self._send(403, {"errors": ["permission denied"]})
                else:
                    self._send(200, body)

            def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = do_LIST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def fake() -> Iterator[FakeVault]:
    f = FakeVault()
    f.thread.start()
    try:
        yield f
    finally:
        f.server.shutdown()
        f.server.server_close()


def scan_fake(f: FakeVault, *args: str) -> tuple[int, dict[str, Any], str]:
    token = plant("fake-token-" + "z" * 12)
    r = cli("scan", "vault", "--format", "json", "--no-policies", "--no-auth-methods", *args,
            env={"VAULT_ADDR": f.url, "VAULT_TOKEN": token}, timeout=120)
    assert token not in r.out + r.err
    return r.rc, json.loads(r.out) if r.out else {}, r.err


def ids(res: dict[str, Any]) -> set[str]:
    return {c["id"] for c in res["credentials"]}


def test_rate_limit_and_unavailable_are_retried(fake: FakeVault) -> None:
    fake.faults = {"/v1/kv/metadata": ["503", "503"], "/v1/kv/metadata/a": ["429", "429"]}
    rc, res, err = scan_fake(fake, "--retries", "3")
    assert ids(res) == {"vault-kv:kv/a", "vault-kv:kv/b", "vault-kv:kv/c"}, err
    assert fake.hits["/v1/kv/metadata"] == 3 and fake.hits["/v1/kv/metadata/a"] == 3
    assert rc in (0, 1) and not [s for s in res["skipped"] if s["target"].startswith("kv/")]


def test_persistent_429_is_bounded_and_recorded(fake: FakeVault) -> None:
    fake.faults = {"/v1/kv/metadata/b": ("always", "429")}
    rc, res, _ = scan_fake(fake, "--retries", "2")
    assert fake.hits["/v1/kv/metadata/b"] == 3  # one try plus two retries
    assert ids(res) == {"vault-kv:kv/a", "vault-kv:kv/c"}
    skip = next(s for s in res["skipped"] if s["target"] == "kv/b")
    assert skip["reason"] == "rate-limited" and "after retries" in skip["detail"]
    assert rc != 4


def test_timeout_is_retried(fake: FakeVault) -> None:
    fake.faults = {"/v1/kv/metadata/c": ["sleep"]}
    rc, res, err = scan_fake(fake, "--timeout", "0.5", "--retries", "2")
    assert "vault-kv:kv/c" in ids(res), err
    assert fake.hits["/v1/kv/metadata/c"] == 2


def test_timeout_without_retries_is_a_skip(fake: FakeVault) -> None:
    fake.faults = {"/v1/kv/metadata/c": ("always", "sleep")}
    fake.sleep = 1.0
    rc, res, _ = scan_fake(fake, "--timeout", "0.3", "--retries", "0")
    assert next(s for s in res["skipped"] if s["target"] == "kv/c")["reason"] == "timeout"
    assert ids(res) == {"vault-kv:kv/a", "vault-kv:kv/b"}


def test_token_accessors_denied_is_explained(fake: FakeVault) -> None:
    rc, res, _ = scan_fake(fake)
    skip = next(s for s in res["skipped"] if s["target"] == "auth/token/accessors")
    assert skip["detail"] == "the scanner token lacks sudo on auth/token/accessors; token hygiene not covered"
    assert rc in (0, 1) and len(res["credentials"]) == 3


def test_unreachable_server_exits_4(tmp_path: Any) -> None:
    port = free_port()
    r = cli("scan", "vault", "--format", "json", "--retries", "0", "--addr", f"http://127.0.0.1:{port}",
            env={"VAULT_TOKEN": "t" * 20, "HOME": str(tmp_path)})
    assert r.rc == 4
    assert "nothing could be scanned" in r.err and "cannot connect" in r.err
    res = json.loads(r.out)
    assert res["skipped"][0]["reason"] == "unreachable" and res["credentials"] == []


def test_sealed_server_exits_4(fresh_bao: Bao) -> None:  # noqa: F811
    plant(fresh_bao.root_token)
    assert fresh_bao.bao("operator", "seal").returncode == 0
    r = cli("scan", "vault", "--format", "json", env=fresh_bao.env())
    assert r.rc == 4 and "sealed" in r.err
    assert json.loads(r.out)["skipped"][0]["reason"] == "sealed"


def test_token_denied_everything_exits_4(bao: Bao) -> None:  # noqa: F811
    plant(bao.root_token)
    token = plant(bao.client().auth.token.create(no_default_policy=True, policies=["nothing-here"],
                                                 ttl="10m")["auth"]["client_token"])
    r = cli("scan", "vault", "--format", "json", env=bao.env(token))
    assert r.rc == 4, r.err
    res = json.loads(r.out)
    assert res["credentials"] == [] and res["skipped"]
    assert any("nothing scanned" in n for n in res["notes"])
