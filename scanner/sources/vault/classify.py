"""Classify a stored value with the compiled rules, and name hints (``openai_api_key``) when rules say nothing."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from scanner.detect.detector import detect
from scanner.detect.ruleset import Rule
from scanner.sources.blob import BlobScanner

_SECRET_FIELD = re.compile(r"(key|token|secret|passw|credential|auth|bearer|pat)", re.I)
# Name hints beyond rule id prefixes: field or path words that name a provider.
_HINT_ALIASES = {"claude": "anthropic", "gemini": "google", "vertex": "google", "langchain": "langsmith",
                 "weightsandbiases": "wandb", "hashicorp": "vault"}


@dataclass(frozen=True, slots=True)
class Classified:
    """What one stored value is: a rule match (or a name hint) and the secret text it found."""

    provider: str | None
    kind: str | None
    rule_id: str | None
    value: str = field(repr=False)
    by: str  # "rule" or "name-hint"


class Classifier:
    """Runs the compiled rules over a value; falls back to provider hints in the field and path names."""

    def __init__(self, scanner: BlobScanner) -> None:
        self.scanner = scanner
        self.rules: dict[str, Rule] = {r.id: r for r in scanner.matcher.rules}
        hints: dict[str, str] = {}
        kinds: dict[str, set[str]] = {}
        for r in scanner.matcher.rules:
            prefix = r.id.split(".", 1)[0].lower()
            hints.setdefault(prefix, r.provider)
            hints.setdefault(re.sub(r"[^a-z0-9]", "", r.provider.lower()), r.provider)
            kinds.setdefault(r.provider, set()).add(r.kind)
        for alias, prefix in _HINT_ALIASES.items():
            if prefix in hints:
                hints.setdefault(alias, hints[prefix])
        self.hints = hints
        self.kinds = kinds
        self._lock = threading.Lock()  # hyperscan scratch space is per matcher, not per thread

    def hint(self, *names: str) -> tuple[str, str] | None:
        """(provider, kind) named by a field or path word such as ``openai_api_key``, or None."""
        for name in names:
            words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]
            joined = "".join(words)
            for w in words + [joined]:
                provider = self.hints.get(w)
                if provider is None:
                    continue
                kinds = self.kinds.get(provider, set())
                kind = "admin-key" if "admin" in words and "admin-key" in kinds else "api-key"
                return provider, kind
        return None

    def classify(self, field_name: str, value: str, path: str) -> list[Classified]:
        """Every credential in one field value: rule matches first; else a name hint for a secret-named field."""
        if not value:
            return []
        found: dict[str, Classified] = {}
        for data in (value.encode("utf-8", "surrogatepass"), f'{field_name} = "{value}"\n'.encode("utf-8", "surrogatepass")):
            with self._lock:
                detected = detect(self.scanner.matcher, data, source="vault", path=path)
            for d in detected:
                rule = self.rules.get(d.match.rule_id)
                if rule is None:
                    continue
                secret = d.match.secret.value
                cand = Classified(rule.provider, rule.kind, rule.id, secret, "rule")
                prev = found.get(secret)
                if prev is None or _rank(rule) > _rank(self.rules[prev.rule_id or ""]):
                    found[secret] = cand
            if found:
                break
        hinted = self.hint(field_name, path)
        if found:
            out = list(found.values())
            if hinted and all(self.rules[c.rule_id or ""].is_generic for c in out):
                # A generic match names no provider; the field or path name does (openai_api_key = ...).
                out = [Classified(hinted[0], hinted[1], c.rule_id, c.value, "rule+name-hint") for c in out]
            return out
        if hinted and _SECRET_FIELD.search(field_name):
            return [Classified(hinted[0], hinted[1], None, value, "name-hint")]
        return []


def _rank(rule: Rule) -> tuple[int, int, int]:
    return (0 if rule.is_generic else 1, int(rule.confidence), int(rule.severity))
