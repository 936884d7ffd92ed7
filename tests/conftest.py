"""Shared test helpers: real CLI runs, fake keys generated at test time, and the leak check.

Every value a test plants is recorded; every output the suite produces through ``cli()``, ``record_output()`` or
``record_file()`` is recorded too. At the end of the session the controller process searches every output for every
planted value, and for any 12 consecutive characters of the part of it a redacted form hides (all but the public
prefix and the last 4), and fails the run if one appears: a partial leak fails the suite too.
"""

from __future__ import annotations

import functools
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

from scanner.detect.detector import detect
from scanner.detect.examples import expand_example
from scanner.detect.matcher import Matcher
from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import load_builtin

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


WINDOW = 12  # any run of this many consecutive characters of a secret's hidden part is a leak
TAIL = 4  # the redacted form may show the last 4 characters


def _public_prefix(value: str) -> str:
    """The longest public prefix of any rule (``sk-proj-``, ``AKIA``...) the value starts with; a PEM header line."""
    best = max((p for r in _RULES.values() for p in public_prefixes(r) if value.startswith(p)), key=len, default="")
    if value.startswith("-----BEGIN") and "\n" in value:
        best = max(best, value.split("\n", 1)[0], key=len)
    return best


def hidden_windows(value: str) -> set[str]:
    """Every WINDOW-character run of the part of ``value`` its redacted form must never show.

    The documented redacted form is the public prefix, a mask and the last 4 characters; everything in between is
    hidden, so any 12 consecutive characters of it in an output is a leak (a partial leak counts). Multi-line values
    are windowed line by line, so a value printed with escaped newlines is still caught; PEM armour lines are public.
    """
    middle = value[len(_public_prefix(value)) : len(value) - TAIL]
    if value.startswith("-----BEGIN"):  # PEM: the armour (BEGIN/END lines) is public, the whole body hidden
        middle = "\n".join(ln for ln in value.splitlines() if not ln.strip().startswith("-----"))
    out: set[str] = set()
    for line in middle.splitlines():
        line = line.strip()
        out.update(line[i : i + WINDOW] for i in range(len(line) - WINDOW + 1))
    return out


def find_leaks(planted: list[str], outputs: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """(output name, value preview) for each output holding a planted value or a window of its hidden part."""
    import ahocorasick

    auto = ahocorasick.Automaton()
    for idx, value in enumerate(planted):
        keys = hidden_windows(value)
        if len(value) >= 8:
            keys.add(value)
        for k in keys:
            if k not in auto:
                auto.add_word(k, idx)
    if len(auto) == 0:
        return []
    auto.make_automaton()
    leaks = []
    for name, data in outputs:
        text = data.decode("utf-8", "replace")
        seen: set[int] = set()
        for _, idx in auto.iter(text):
            if idx not in seen:
                seen.add(idx)
                leaks.append((name, planted[idx][:4] + "..."))
    return leaks


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput") or _LEAK_DIR_ENV not in os.environ:
        return
    d = Path(os.environ[_LEAK_DIR_ENV])
    planted = [p.read_text(encoding="utf-8") for p in (d / "planted").glob("*")] if (d / "planted").is_dir() else []
    planted = sorted({p for p in planted if len(p) >= 8})
    outputs = list((d / "outputs").glob("*")) if (d / "outputs").is_dir() else []
    leaks = find_leaks(planted, [(out.name, out.read_bytes()) for out in outputs])
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"leak check: {len(planted)} planted value(s), {len(outputs)} output(s) searched for "
                            f"any {WINDOW} characters of a hidden part, {len(leaks)} leak(s)")
    if leaks:
        if reporter:
            for name, v in leaks[:20]:
                reporter.write_line(f"LEAK: a planted secret starting {v} appears in {name}", red=True)
        session.exitstatus = 1


_RULES = {r.id: r for r in load_builtin()}


def fake_key(rule_id: str, example: int = 0) -> str:
    """A fresh fake credential of a rule's format (its marked example secret), registered for the leak check.

    A random value can, rarely, look like a placeholder or an identifier to the filters of a rule without a fixed
    prefix (about 1 in 1,000); such a draw is replaced by another, so tests about something else never flake. The
    filters' own false-negative rate is measured by tests/detect/test_filters_random.py, not hidden here."""
    rule = _RULES[rule_id]
    secret: str | None = None
    for _ in range(20):
        text, secret = expand_example(rule.examples[example], f"{rule_id}#{secrets.token_hex(8)}")
        assert secret, f"{rule_id} example {example} marks no secret"
        if any(d.match.secret.value == secret and not d.allowed
               for d in detect(_example_matcher(), text.encode("utf-8"), source="file", path="example.txt")):
            break
    assert secret is not None
    return plant(secret)


@functools.cache
def _example_matcher() -> Matcher:
    return Matcher(load_builtin(), engine="re2", structure_rules=True)


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
        from support.schema_util import validate_result_json

        record_output(text, "json-result")
        validate_result_json(text)


@pytest.fixture
def run_cli():
    """The ``cli`` helper as a fixture."""
    return cli
