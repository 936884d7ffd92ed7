"""Classify a value read from a cloud store with the detection rules, keeping only its keyed hash and preview.

The raw value never leaves this module: a ``Classified`` carries the rule, the keyed hash and the redacted
preview. JSON values are walked leaf by leaf, and each leaf is scanned as ``key=value`` so rules that need a
variable name nearby (``context: true``) still apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import Rule
from scanner.redact import SecretHasher, redact, redact_key
from scanner.sources.blob import BlobScanner

_MAX_VALUE = 65536
_NAME_SPLIT = re.compile(r"[^a-z0-9]+")
SECRETISH = ("key", "token", "secret", "password", "passwd", "credential", "apikey", "api_key", "auth")


@dataclass(frozen=True, slots=True, kw_only=True)
class Classified:
    """One credential recognised inside a stored value."""

    rule_id: str
    provider: str
    kind: str
    category: str
    severity: str
    secret_hash: str
    redacted: str
    key_path: str | None = None  # JSON key path, or the variable name for environment variables


class Classifier:
    """Rules plus the hasher: value in, ``Classified`` out."""

    def __init__(self, scanner: BlobScanner, hasher: SecretHasher) -> None:
        self.scanner = scanner
        self.hasher = hasher
        self.rules: dict[str, Rule] = {r.id: r for r in scanner.matcher.rules}
        self._providers = sorted({r.provider for r in self.rules.values() if r.provider}, key=len, reverse=True)

    def value_hash(self, value: str) -> str:
        """Keyed hash of a whole value (for DUPLICATED across stores when no rule recognised it)."""
        return self.hasher.secret_hash(value)

    def classify(self, value: str, *, name: str, where: str) -> list[Classified]:
        """Every distinct credential in ``value`` (plain text or JSON), best rule per secret."""
        if len(value) > _MAX_VALUE:
            value = value[:_MAX_VALUE]
        best: dict[str, tuple[Rule, str, str]] = {}
        for key_path, leaf in _leaves(value, name):
            text = f"{_last(key_path)}={leaf}\n".encode("utf-8", "replace")
            for d in self.scanner.scan(text, source="aws", path=where).detected:
                secret = d.match.secret.value
                rule = self.rules.get(d.match.rule_id)
                if rule is None:
                    continue
                prev = best.get(secret)
                if prev is None or _rank(rule) > _rank(prev[0]):
                    best[secret] = (rule, secret, key_path)
        out = []
        for rule, secret, key_path in best.values():
            out.append(Classified(rule_id=rule.id, provider=rule.provider, kind=rule.kind, category=rule.category,
                                  severity=rule.severity.label, secret_hash=self.hasher.secret_hash(secret),
                                  redacted=redact(secret, public_prefixes(rule)), key_path=redact_key(key_path, best)))
        return sorted(out, key=lambda c: (c.key_path or "", c.rule_id))

    def provider_from_name(self, name: str) -> str | None:
        """A rule provider named in a store path such as ``/prod/openai/api_key`` (word match, any case)."""
        words = set(_NAME_SPLIT.split(name.lower()))
        joined = _NAME_SPLIT.sub("", name.lower())
        for provider in self._providers:
            p = _NAME_SPLIT.sub("", provider.lower())
            if len(p) >= 4 and (p in words or p in joined):
                return provider
        return None


def looks_secret(name: str) -> bool:
    """Whether a parameter or variable name suggests a credential."""
    low = name.lower()
    return any(w in low for w in SECRETISH)


def _rank(rule: Rule) -> tuple[int, int, int]:
    return (0 if rule.category == "generic" else 1, int(rule.confidence), int(rule.severity))


def _last(key_path: str) -> str:
    return key_path.rsplit(".", 1)[-1].rsplit("/", 1)[-1] or "value"


def _leaves(value: str, name: str) -> Iterator[tuple[str, str]]:
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict | list):
            yield from _walk(doc, "")
            return
    yield name, value


def _walk(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{prefix}[{i}]")
    elif isinstance(node, str):
        yield prefix or "value", node
