"""The Check contract: a pure function of a credential, its policy rules and "now"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from scanner.model import Credential, Violation
from scanner.policy import PolicyRules

Check = Callable[[Credential, PolicyRules, datetime], Iterator[Violation]]


def days(delta_seconds: float) -> int:
    """Whole days in a number of seconds."""
    return int(delta_seconds // 86400)
