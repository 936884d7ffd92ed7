"""Configuration: ``.credsweep.toml`` or ``[tool.credsweep]`` in pyproject.toml, then CLI overrides."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError
from scanner.model import Severity, TreeSettings

CONFIG_FILE = ".credsweep.toml"
IGNORE_FILE = ".credsweep-ignore.toml"
DEFAULT_MAX_FILE_MB = 50.0

_KEYS = frozenset(
    {
        "exclude", "rules", "only_rules", "disable_rules", "severity", "fail_on", "max_file_mb", "ignore_file",
        "hash_key_env", "structure", "engine", "jobs", "policy", "verify",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanConfig:
    """Everything a scan needs to know, with defaults. Built once; passed in, never global."""

    exclude: tuple[str, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    only_rules: tuple[str, ...] = ()
    disable_rules: tuple[str, ...] = ()
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)
    fail_on: Severity = Severity.LOW
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    ignore_file: Path | None = None
    hash_key_env: str | None = None
    structure: bool = True
    engine: str = "auto"
    jobs: int = 0  # 0 = automatic (both cores on large trees)
    policy_file: Path | None = None
    origin: str | None = None  # the file the settings came from
    # the trust boundary (scanner/trust.py): what came from the scanned tree rather than from the operator
    tree_rule_dirs: tuple[Path, ...] = ()  # rule folders the tree's settings named: never verify, never replace
    tree: TreeSettings | None = None  # the tree's settings file(s) and what they weakened (None: nothing from it)
    tree_ignore_file: bool = False  # ignore_file was named by the tree's settings
    no_repo_config: bool = False  # --no-repo-config: nothing from the tree is read or honoured
    verify_custom_rules: bool = False  # --verify-custom-rules: operator --rules may carry verify blocks

    def with_overrides(self, **changes: Any) -> ScanConfig:
        """A copy with CLI overrides; None values leave the setting alone."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _str_list(table: Mapping[str, Any], key: str, origin: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{origin}: '{key}' must be a list of strings")
    return tuple(value)


def from_table(table: Mapping[str, Any], origin: str, base: Path) -> ScanConfig:
    """Build a ScanConfig from a parsed TOML table."""
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        overrides = {k: Severity.parse(str(v)) for k, v in dict(table.get("severity", {})).items()}
        fail_on = Severity.parse(str(table.get("fail_on", "low")))
        max_mb = float(table.get("max_file_mb", DEFAULT_MAX_FILE_MB))
        jobs = table.get("jobs", 0)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    if not max_mb > 0:
        raise ConfigError(f"{origin}: 'max_file_mb' must be above 0 (it is {max_mb:g})")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0:
        raise ConfigError(f"{origin}: 'jobs' must be a whole number, 1 or more (0 or absent: automatic)")
    ignore = table.get("ignore_file")
    policy = table.get("policy")
    return ScanConfig(
        exclude=_str_list(table, "exclude", origin),
        rule_dirs=tuple(base / p for p in _str_list(table, "rules", origin)),
        only_rules=_str_list(table, "only_rules", origin),
        disable_rules=_str_list(table, "disable_rules", origin),
        severity_overrides=overrides,
        fail_on=fail_on,
        max_file_mb=max_mb,
        ignore_file=base / ignore if isinstance(ignore, str) else None,
        hash_key_env=table.get("hash_key_env"),
        structure=bool(table.get("structure", True)),
        engine=str(table.get("engine", "auto")),
        jobs=jobs,
        policy_file=base / policy if isinstance(policy, str) else None,
        origin=origin,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def find(search_from: Path | None = None) -> tuple[Path, str] | None:
    """The settings file a search near the target finds (file, label), without reading it as settings."""
    start = (search_from or Path.cwd()).resolve()
    dirs = [start] if start.is_dir() else [start.parent]
    for d in dirs + [Path.cwd().resolve()]:
        if (d / CONFIG_FILE).is_file():
            return d / CONFIG_FILE, str(d / CONFIG_FILE)
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                table = _read_toml(pp).get("tool", {}).get("credsweep")
            except ConfigError:
                table = None
            if isinstance(table, dict):
                return pp, f"{pp} [tool.credsweep]"
    return None


def load(explicit: Path | None = None, search_from: Path | None = None) -> ScanConfig:
    """Load the explicit file, else ``.credsweep.toml`` or pyproject's ``[tool.credsweep]`` near the target.

    Only the explicit file is the operator's; a found file is the scanned tree's (scanner/trust.py decides what
    it may do)."""
    if explicit is not None:
        data = _read_toml(explicit)
        table = data.get("tool", {}).get("credsweep", data) if explicit.name == "pyproject.toml" else data
        return from_table(table, str(explicit), explicit.parent)
    start = (search_from or Path.cwd()).resolve()
    dirs = [start] if start.is_dir() else [start.parent]
    for d in dirs + [Path.cwd().resolve()]:
        f = d / CONFIG_FILE
        if f.is_file():
            return from_table(_read_toml(f), str(f), d)
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                table = _read_toml(pp).get("tool", {}).get("credsweep")
            except ConfigError:
                table = None  # a broken pyproject is not ours to judge
            if isinstance(table, dict):
                return from_table(table, f"{pp} [tool.credsweep]", d)
    return ScanConfig()
