"""The one way a test says it needs a tool: a skip on a developer's machine, a failure in CI.

CI (``.ci/run`` exports ``CI=1``) must not turn a missing Chromium, SARIF multitool, OpenBao, TLS helper,
pre-commit or Hyperscan into a green run, so every tool-dependent test calls ``need()`` or ``need_module()``
instead of ``pytest.skip`` / ``skipif`` / ``importorskip`` (``tests/test_toolcheck.py`` enforces it).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """``CI`` is set to anything but an explicit no (``CI=1``, ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str) -> NoReturn:
    """The tool is missing: fail under CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"{what} (CI is set: a missing tool fails the run)", pytrace=False)
    pytest.skip(what)


def need(available: object, what: str) -> None:
    """Go on only if ``available`` is true; ``what`` says what is missing and how to install it."""
    if not available:
        missing(what)


def need_module(name: str, what: str | None = None) -> ModuleType:
    """Import a test-only tool module (the CI-aware ``pytest.importorskip``)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(what or f"{name} is not installed (pip install -e '.[test]')")
