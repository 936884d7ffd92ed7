"""The Formatter contract: a pure function of a Report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scanner.model import Report


@dataclass(frozen=True, slots=True, kw_only=True)
class FormatOptions:
    """Presentation settings; never changes what was found."""

    color: bool = False
    quiet: bool = False
    hook: bool = False  # pre-commit wording: how to allow a value
    include_cloud: bool = False  # SARIF: Vault/AWS results with logical locations
    compare: Report | None = None  # previous review, for trends
    verbose: bool = False
    history: tuple[Report, ...] = ()  # earlier reviews, for the trend chart (oldest first)
    absolute_root: bool = False  # SARIF: the file:// URI of the scanned root in originalUriBaseIds


Renderer = Callable[[Report, FormatOptions], str]
