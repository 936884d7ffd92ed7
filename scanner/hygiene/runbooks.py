"""Remediation runbooks: concrete steps per violation, provider and store, from ``rules/_runbooks.yaml``.

The steps are data (next to the rules); this module only fills their placeholders with the real place: the Vault
mount and path, the ARN, the commit that leaked the key. Nothing here ever sees a secret value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from scanner.errors import RuleError
from scanner.model import Credential

RUNBOOK_FILE = "_runbooks.yaml"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class StepContext:
    """The facts a runbook needs about one violation."""

    provider: str
    kind: str
    console: str | None = None  # the rule's rotate_url
    stored: tuple[Credential, ...] = ()  # every stored copy of the value (Vault, AWS)
    where: str = ""  # the violation's subject place (path, ARN, repo path)
    leak_where: str = ""  # repo/path:line of the leak
    commit: str = ""
    repo: str = ""
    first_seen: str = ""
    max_age_days: int = 90
    subject: Credential | None = None  # the stored credential the violation is about, if any


@dataclass(frozen=True, slots=True)
class Runbooks:
    """Parsed runbook data."""

    providers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stores: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    checks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def steps(self, check_id: str, ctx: StepContext) -> tuple[str, ...]:
        """The filled steps for one violation; empty when the check has no runbook."""
        template = self.checks.get(check_id)
        if not template:
            return ()
        base = _values(ctx)
        out: list[str] = []
        for line in template:
            for text in self._expand(line, ctx, base):
                if text and text not in out:
                    out.append(text)
        return tuple(out)

    def _provider(self, name: str) -> Mapping[str, str]:
        return self.providers.get(name) or self.providers.get("default") or {}

    def _expand(self, line: str, ctx: StepContext, base: Mapping[str, str]) -> list[str]:
        prov = self._provider(ctx.provider)
        if "{write}" in line or "{confirm}" in line:
            what = "write" if "{write}" in line else "confirm"
            places = [c for c in _targets(ctx) if c.store in self.stores]
            lines = [_fill(line.replace("{" + what + "}", self.stores[c.store].get(what, "")),
                           {**base, **_store_values(c, ctx)}) for c in places]
            if not places and what == "write":
                lines = [_fill(line.replace("{write}", (self.stores.get("none") or {}).get("write", "")), base)]
            if what == "confirm":
                lines.append(_fill(line.replace("{confirm}", prov.get("confirm", "")), base))
            return [x.strip() for x in lines if x.strip()]
        text = line.replace("{revoke}", prov.get("revoke", ""))
        return [_fill(text, base).strip()]


def _targets(ctx: StepContext) -> list[Credential]:
    creds = list(ctx.stored)
    if ctx.subject is not None and all(c.id != ctx.subject.id for c in creds):
        creds.insert(0, ctx.subject)
    return creds


def _slug(provider: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", provider.lower()).strip("-") or "service"


def _values(ctx: StepContext) -> dict[str, str]:
    return {
        "provider": ctx.provider or "credential",
        "kind": ctx.kind or "key",
        "console": ctx.console or "the provider's console",
        "where": ctx.where or ctx.leak_where or "the place listed above",
        "leak_where": ctx.leak_where or ctx.where or "the file listed above",
        "commit": ctx.commit[:12] or "(see the finding)",
        "repo": ctx.repo or "the repository",
        "first_seen": ctx.first_seen or "the first sighting",
        "max_age_days": str(ctx.max_age_days),
        "suggested_path": f"ml/{_slug(ctx.provider)}",
        # store values default to the subject (or nothing): filled per stored copy in _store_values
        **(_store_values(ctx.subject, ctx) if ctx.subject is not None else _store_defaults(ctx)),
    }


def _store_defaults(ctx: StepContext) -> dict[str, str]:
    path = f"ml/{_slug(ctx.provider)}"
    return {"mount": "secret", "secret_path": path, "field": "api_key", "version": "N", "next_version": "N+1",
            "arn": path, "name": path, "region": ""}


def _store_values(c: Credential, ctx: StepContext) -> dict[str, str]:
    attrs = dict(c.attributes)
    values = _store_defaults(ctx)
    if c.store == "vault-kv":
        mount = attrs.get("mount", "").strip("/")
        loc, _, fld = c.location.partition("#")
        path = loc[len(mount) + 1:] if mount and loc.startswith(mount + "/") else loc
        version = c.version
        values.update(mount=mount or "secret", secret_path=path, field=attrs.get("field") or fld or "api_key",
                      version=str(version) if version else "N",
                      next_version=str(version + 1) if version else "N+1")
    elif c.source == "aws":
        values.update(arn=c.id.partition("#")[0], name=c.location.partition("#")[0], region=attrs.get("region", ""))
    values["where"] = ctx.where or c.location
    return values


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def parse(doc: Any, origin: str = RUNBOOK_FILE) -> Runbooks:
    """Validate and build runbooks from a parsed YAML document."""
    if not isinstance(doc, Mapping):
        raise RuleError(f"{origin}: a runbook file is a mapping")

    def table(name: str) -> dict[str, dict[str, str]]:
        raw = doc.get(name) or {}
        if not isinstance(raw, Mapping) or not all(
                isinstance(v, Mapping) and all(isinstance(x, str) for x in v.values()) for v in raw.values()):
            raise RuleError(f"{origin}: '{name}' maps names to tables of text")
        return {str(k): dict(v) for k, v in raw.items()}

    checks_raw = doc.get("checks") or {}
    if not isinstance(checks_raw, Mapping) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in checks_raw.values()):
        raise RuleError(f"{origin}: 'checks' maps check ids to lists of steps")
    return Runbooks(providers=table("providers"), stores=table("stores"),
                    checks={str(k): tuple(v) for k, v in checks_raw.items()})


_LOADED: Runbooks | None = None


def load() -> Runbooks:
    """The built-in runbooks, read once per process from the rules data package."""
    global _LOADED
    if _LOADED is None:
        import yaml

        text = resources.files("scanner.rules").joinpath(RUNBOOK_FILE).read_text(encoding="utf-8")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _LOADED = parse(yaml.load(text, Loader=loader), f"rules/{RUNBOOK_FILE}")  # noqa: S506 - a safe loader
    return _LOADED

