"""The error tree. Every error carries the exit code the CLI uses; messages never hold a secret."""

from __future__ import annotations

from typing import ClassVar

# Documented exit codes (README "Exit codes").
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NOTHING_SCANNED = 4
EXIT_PARTIAL = 5  # scan all: a source failed as a whole, the others were scanned and written (findings win: 1)


def parser_message(exc: BaseException) -> str:
    """A parser's error on one line: PyYAML's "problem at line N, column M" (its own text spans several lines,
    with a snippet of the input), anything else with whitespace collapsed."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split()) or exc.__class__.__name__


class CredsweepError(Exception):
    """Base of every error credsweep raises on purpose."""

    exit_code: ClassVar[int] = EXIT_CONFIG


class ConfigError(CredsweepError):
    """A configuration, policy, baseline or ignore file is invalid."""


class RuleError(CredsweepError):
    """A rule file is invalid (schema, pattern or examples)."""


class UsageError(CredsweepError):
    """The command line asks for something impossible."""

    exit_code: ClassVar[int] = EXIT_USAGE


class NothingScannedError(CredsweepError):
    """No target at all could be scanned."""

    exit_code: ClassVar[int] = EXIT_NOTHING_SCANNED


class SourceError(CredsweepError):
    """A source failed as a whole. Concrete sources subclass this; the engine turns it into a Skip."""

    exit_code: ClassVar[int] = EXIT_NOTHING_SCANNED


class GitSourceError(SourceError):
    """A git repository could not be read."""


class VaultSourceError(SourceError):
    """A Vault server could not be read."""


class AwsSourceError(SourceError):
    """An AWS account could not be read."""
