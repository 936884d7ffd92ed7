"""Structure-aware scanning of configuration files (YAML, JSON, TOML, INI, .env, ...).

``analyse`` returns None for files that are not configuration, so the text pass alone applies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scanner.matcher import Matcher
    from scanner.scanning import BlobResult


def analyse(
    matcher: Matcher, data: bytes, *, source: str, path: str, root: str | None, commit: str | None
) -> BlobResult | None:
    """Structure pass over a configuration file; None when the file is not configuration."""
    return None
