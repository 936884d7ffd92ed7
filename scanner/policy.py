"""The hygiene policy: thresholds with defaults, and overrides per provider and per credential kind.

Policy file (YAML or TOML; JSON Schema in scanner/schema/policy.schema.json)::

    max_age_days: 90            # a credential value older than this is STALE
    rotation_required: true     # no rotation process / never rotated past max age -> UNROTATED
    max_unused_days: 90         # unused this long -> UNUSED
    expiry_required: false      # no expiry date -> NO-EXPIRY
    owner_required: true        # no owner recorded -> NO-OWNER
    forbidden_scopes: [admin, root, org-admin, legacy-unscoped]
    forbidden_kinds: [openai.user-key, admin-key, master-key, root-token]   # rule ids or kinds -> OVERSCOPED
    allowed_storage: [vault, aws-secretsmanager, aws-ssm-securestring]
    store_required: true        # a model key found in code/config must also be in a secret store -> UNVAULTED
    providers:
      OpenAI: {max_age_days: 60}
    kinds:
      admin-key: {max_age_days: 30, expiry_required: true}
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError, parser_message


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRules:
    """The thresholds that apply to one credential."""

    max_age_days: int = 90
    rotation_required: bool = True
    max_unused_days: int = 90
    expiry_required: bool = False
    owner_required: bool = True
    forbidden_scopes: tuple[str, ...] = ("admin", "root", "org-admin", "legacy-unscoped")
    allowed_storage: tuple[str, ...] = ("vault", "aws-secretsmanager", "aws-ssm-securestring")
    # rule ids (``openai.user-key``) or kinds (``admin-key``) applications must not use: unscoped legacy keys,
    # organisation admin keys, proxy master keys, root tokens -> OVERSCOPED wherever they are found or stored
    forbidden_kinds: tuple[str, ...] = ("openai.user-key", "admin-key", "master-key", "root-token")
    # a model key found in a repository or configuration must also be held in a scanned secret store
    store_required: bool = True

    def forbids(self, rule_id: str | None, kind: str | None) -> bool:
        """Whether a credential of this rule or kind is forbidden for applications."""
        names = {n.lower() for n in self.forbidden_kinds}
        return bool(rule_id and rule_id.lower() in names) or bool(kind and kind.lower() in names)


_RULE_FIELDS = {f.name for f in fields(PolicyRules)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Default rules plus overrides; ``rules_for(provider, kind)`` resolves them (kind beats provider)."""

    defaults: PolicyRules = PolicyRules()
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    kinds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    origin: str = "built-in defaults"

    def rules_for(self, provider: str | None, kind: str | None) -> PolicyRules:
        """Thresholds for one credential."""
        rules = self.defaults
        for table, key in ((self.providers, provider), (self.kinds, kind)):
            if key is None:
                continue
            over = _lookup(table, key)
            if over:
                rules = replace(rules, **_coerce(over, f"{self.origin}: {key}"))
        return rules


def _lookup(table: Mapping[str, Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    low = key.lower()
    for k, v in table.items():
        if k.lower() == low:
            return v
    return None


def _coerce(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in _RULE_FIELDS:
            raise ConfigError(f"{where}: unknown policy setting {k!r}")
        if k in ("forbidden_scopes", "allowed_storage", "forbidden_kinds"):
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f"{where}: {k} must be a list of strings")
            out[k] = tuple(v)
        elif k in ("max_age_days", "max_unused_days"):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"{where}: {k} must be a non-negative whole number of days")
            out[k] = v
        else:
            if not isinstance(v, bool):
                raise ConfigError(f"{where}: {k} must be true or false")
            out[k] = v
    return out


def from_mapping(doc: Mapping[str, Any], origin: str) -> Policy:
    """Build a Policy from a parsed document."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{origin}: a policy is a mapping")
    top = {k: v for k, v in doc.items() if k not in ("providers", "kinds", "version", "$schema")}
    providers = doc.get("providers") or {}
    kinds = doc.get("kinds") or {}
    for name, table in (("providers", providers), ("kinds", kinds)):
        if not isinstance(table, Mapping) or not all(isinstance(v, Mapping) for v in table.values()):
            raise ConfigError(f"{origin}: '{name}' maps names to tables of settings")
        for key, over in table.items():
            _coerce(over, f"{origin}: {name}.{key}")
    return Policy(defaults=replace(PolicyRules(), **_coerce(top, origin)), providers=providers, kinds=kinds,
                  origin=origin)


def load(path: Path | None) -> Policy:
    """Read a policy file (YAML, TOML or JSON by extension); None gives the defaults."""
    if path is None:
        return Policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read policy: {exc}") from None
    try:
        if path.suffix == ".toml":
            doc: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            doc = json.loads(text)
        else:
            import yaml

            doc = yaml.safe_load(text) or {}
    except Exception as exc:  # noqa: BLE001 - any parser error is a config error with the parser's message
        raise ConfigError(f"{path}: not a valid policy file: {parser_message(exc)}") from None
    return from_mapping(doc, str(path))
