"""Shared test helpers: real CLI runs, fake keys generated at test time, and the leak check.

Every value a test plants is recorded; every output the suite produces through ``cli()`` or ``record_output()``
is recorded too. At the end of the session the controller process searches every output for every planted value
and fails the run if one appears in the clear.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.ruleset import expand_example, load_builtin

_LEAK_DIR_ENV = "CREDSWEEP_TEST_LEAKDIR"


# Temporary directories this (controller) process made; removed when pytest exits, after the leak check, so a
# run leaves no planted secret on disk. Set CREDSWEEP_TEST_LEAKDIR yourself to keep the outputs for debugging.
_OWNED_DIRS: dict[str, str] = {}  # environment variable -> directory


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist workers inherit the controller's directories through the environment
    for env, prefix in ((_LEAK_DIR_ENV, "credsweep-leakcheck-"), ("CREDSWEEP_CACHE_DIR", "credsweep-test-cache-")):
        if env not in os.environ:
            _OWNED_DIRS[env] = os.environ[env] = tempfile.mkdtemp(prefix=prefix)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove what the run made: the leak-check and cache directories, and pytest's own base temp directory."""
    if hasattr(config, "workerinput"):
        return
    for env, d in _OWNED_DIRS.items():
        shutil.rmtree(d, ignore_errors=True)
        if os.environ.get(env) == d:
            del os.environ[env]  # a later pytest.main() in this process (mutmut) makes and owns its own
    _OWNED_DIRS.clear()
    factory = getattr(config, "_tmp_path_factory", None)
    base: Path | None = getattr(factory, "_basetemp", None)
    if base is None or config.getini("tmp_path_retention_policy") != "none":
        return
    # session-scoped mktemp() dirs and the xdist workers' popen-gw*; the parent (pytest-of-USER, shared with
    # concurrent sessions) stays: .ci/run passes --basetemp inside its own temporary directory
    shutil.rmtree(base, ignore_errors=True)


def _leak_dir() -> Path:
    d = Path(os.environ[_LEAK_DIR_ENV])
    (d / "planted").mkdir(parents=True, exist_ok=True)
    (d / "outputs").mkdir(parents=True, exist_ok=True)
    return d


def plant(value: str) -> str:
    """Register a fake secret so the leak check looks for it in every output."""
    (_leak_dir() / "planted" / uuid.uuid4().hex).write_text(value, encoding="utf-8")
    return value


def record_output(text: str | bytes, label: str = "output") -> None:
    """Register something credsweep printed or wrote, for the leak check."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    (_leak_dir() / "outputs" / f"{label}-{uuid.uuid4().hex}").write_bytes(data)


def record_file(path: Path) -> None:
    """Register an output file (JSON, SARIF, HTML, ...)."""
    if path.is_file():
        record_output(path.read_bytes(), path.name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput") or _LEAK_DIR_ENV not in os.environ:
        return
    d = Path(os.environ[_LEAK_DIR_ENV])
    planted = [p.read_text(encoding="utf-8") for p in (d / "planted").glob("*")] if (d / "planted").is_dir() else []
    planted = [p for p in planted if len(p) >= 8]
    outputs = list((d / "outputs").glob("*")) if (d / "outputs").is_dir() else []
    leaks = []
    for out in outputs:
        data = out.read_bytes()
        for value in planted:
            if value.encode() in data:
                leaks.append((out.name, value[:4] + "..."))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"leak check: {len(planted)} planted value(s), {len(outputs)} output(s) searched, "
                            f"{len(leaks)} leak(s)")
    if leaks:
        if reporter:
            for name, v in leaks[:20]:
                reporter.write_line(f"LEAK: a planted secret starting {v} appears in {name}", red=True)
        session.exitstatus = 1


_RULES = {r.id: r for r in load_builtin()}


def fake_key(rule_id: str, example: int = 0) -> str:
    """A fresh fake credential of a rule's format (its marked example secret), registered for the leak check."""
    rule = _RULES[rule_id]
    _, secret = expand_example(rule.examples[example], f"{rule_id}#{secrets.token_hex(8)}")
    assert secret, f"{rule_id} example {example} marks no secret"
    return plant(secret)


@dataclass
class Result:
    """A finished CLI run."""

    rc: int
    out: str
    err: str


CREDSWEEP = [sys.executable, "-m", "scanner"]


def cli(*args: str | os.PathLike[str], cwd: Path | str | None = None, env: dict[str, str] | None = None,
        input: str | None = None, timeout: float = 300) -> Result:
    """Run the real ``credsweep`` in a subprocess; its output is recorded for the leak check."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run([*CREDSWEEP, *map(str, args)], cwd=cwd, env=full_env, input=input, capture_output=True,
                          text=True, timeout=timeout)
    record_output(proc.stdout, "stdout")
    record_output(proc.stderr, "stderr")
    _check_json_result([str(a) for a in args], proc.stdout, cwd)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _check_json_result(args: list[str], stdout: str, cwd: Path | str | None) -> None:
    """Every JSON result a scan or report writes is validated against the published schema."""
    if not args or args[0] not in ("scan", "report", "demo") or "json" not in args:
        return
    try:
        i = args.index("--format")
    except ValueError:
        return
    if i + 1 >= len(args) or args[i + 1] != "json":
        return
    out = None
    for flag in ("-o", "--output"):
        if flag in args and args.index(flag) + 1 < len(args):
            out = Path(args[args.index(flag) + 1])
            if cwd is not None and not out.is_absolute():
                out = Path(cwd) / out
    text = out.read_text(encoding="utf-8") if out is not None and out.is_file() else (stdout if out is None else "")
    if text.strip():
        from schema_util import validate_result_json

        record_output(text, "json-result")
        validate_result_json(text)


@pytest.fixture
def run_cli():
    """The ``cli`` helper as a fixture."""
    return cli
