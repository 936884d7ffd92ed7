"""Rules as data: the schema, loading built-in and user rule files, and fake-value expansion for examples.

A rule file is YAML with an optional ``defaults`` mapping (merged into every rule) and a ``rules`` list. Patterns
use the syntax common to RE2 and Hyperscan (no lookaround, no backreferences), so matching stays linear-time.
Examples carry generated fake values (``{{hex:32}}``) and mark the expected secret with ``[[ ]]``, so the rule
files themselves never contain a credential and the repository passes its own scan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.errors import RuleError
from scanner.model import Confidence, RuleId, Severity

CATEGORIES = frozenset(
    {"ai-inference", "ai-mlops", "cloud", "vcs", "secret-store", "infra", "generic", "saas", "package-registry"}
)


CERTAINTIES = frozenset({"confirmed", "empirical", "unconfirmed"})


_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


_KNOWN_FIELDS = frozenset(
    {
        "id", "name", "provider", "category", "kind", "pattern", "secret_group", "keywords", "min_entropy",
        "validator", "severity", "confidence", "certainty", "description", "remediation", "rotate_url",
        "references", "examples", "negative_examples", "multiline", "context", "verify", "tags", "filters",
        "scope", "deprecated_ids", "structure_only",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One detection rule, loaded from YAML."""

    id: RuleId
    name: str
    provider: str
    category: str
    kind: str
    pattern: str
    secret_group: int
    keywords: tuple[str, ...]
    severity: Severity
    confidence: Confidence
    description: str
    remediation: tuple[str, ...]
    examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    min_entropy: float | None = None
    validator: str | None = None
    certainty: str = "confirmed"
    rotate_url: str | None = None
    references: tuple[str, ...] = ()
    multiline: bool = False
    context: bool = False  # needs a keyword / variable name nearby (no unique prefix)
    filters: tuple[str, ...] = ()  # extra false-positive filters by name (see filters.py)
    scope: str | None = None  # typical reach of the credential, for the hygiene view
    tags: tuple[str, ...] = ()
    verify: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    origin: str = ""  # file it came from
    structure_only: bool = False  # run only by the structure pass on key=value pairs, never on raw text

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"

    @property
    def is_generic(self) -> bool:
        """Generic rules get the full set of heuristic filters."""
        return self.category == "generic"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An ordered, id-unique collection of rules."""

    rules: tuple[Rule, ...]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def by_id(self) -> dict[str, Rule]:
        """Map rule ids to rules."""
        return {r.id: r for r in self.rules}

    def merged(self, other: RuleSet) -> RuleSet:
        """Add ``other``'s rules; a rule with an existing id replaces the built-in one."""
        ids = {r.id for r in other.rules}
        return RuleSet(tuple(r for r in self.rules if r.id not in ids) + other.rules)

    def only(self, ids: Iterable[str]) -> RuleSet:
        """Restrict to the given ids (or id prefixes ending in '.')."""
        wanted = tuple(ids)
        return RuleSet(tuple(r for r in self.rules if any(r.id == w or r.id.startswith(w) for w in wanted)))


def _as_tuple(value: Any, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RuleError(f"{where}: '{name}' must be a string or a list of strings")


def _pattern_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "".join(value)  # long patterns are written as a list of fragments joined verbatim
    raise RuleError(f"{where}: 'pattern' must be a string or a list of string fragments")


def group_openings(pattern: str) -> Iterator[int]:
    """Index of the ``(`` of each capturing group, in order, without compiling the pattern (escapes, character
    classes, non-capturing groups and lookbehinds skipped)."""
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif c == "(" and (pattern[i + 1 : i + 2] != "?" or pattern[i + 1 : i + 3] in ("?P", "?<")):
            if pattern[i + 1 : i + 4] not in ("?<=", "?<!"):
                yield i
        i += 1


def _count_groups(pattern: str) -> int:
    """Capturing groups in a pattern, without compiling it (stdlib compile costs ~1 ms a rule at start-up)."""
    return sum(1 for _ in group_openings(pattern))


def rule_from_mapping(raw: Mapping[str, Any], origin: str) -> Rule:
    """Build a Rule from one YAML mapping; raise RuleError naming the rule and field on bad input."""
    rid = raw.get("id")
    where = f"{origin}: rule {rid!r}"
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise RuleError(f"{where}: 'id' must be a namespaced lower-case id such as 'openai.project-key'")
    unknown = set(raw) - _KNOWN_FIELDS
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("name", "provider", "category", "kind", "pattern", "severity", "description"):
        if raw.get(required) in (None, ""):
            raise RuleError(f"{where}: missing '{required}'")
    pattern = _pattern_text(raw["pattern"], where)
    try:
        severity = Severity.parse(str(raw["severity"]))
        confidence = Confidence.parse(str(raw.get("confidence", "high")))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    group = raw.get("secret_group")
    if group is None:
        group = 1 if _count_groups(pattern) >= 1 else 0
    if not isinstance(group, int) or group < 0:
        raise RuleError(f"{where}: 'secret_group' must be a non-negative integer")
    min_entropy = raw.get("min_entropy")
    if min_entropy is not None and not isinstance(min_entropy, int | float):
        raise RuleError(f"{where}: 'min_entropy' must be a number")
    verify = raw.get("verify")
    if verify is not None and not isinstance(verify, Mapping):
        raise RuleError(f"{where}: 'verify' must be a mapping")
    return Rule(
        id=RuleId(rid),
        name=str(raw["name"]),
        provider=str(raw["provider"]),
        category=str(raw["category"]),
        kind=str(raw["kind"]),
        pattern=pattern,
        secret_group=group,
        keywords=tuple(k.lower() for k in _as_tuple(raw.get("keywords"), "keywords", where)),
        severity=severity,
        confidence=confidence,
        description=str(raw["description"]).strip(),
        remediation=_as_tuple(raw.get("remediation"), "remediation", where),
        examples=_as_tuple(raw.get("examples"), "examples", where),
        negative_examples=_as_tuple(raw.get("negative_examples"), "negative_examples", where),
        min_entropy=float(min_entropy) if min_entropy is not None else None,
        validator=raw.get("validator"),
        certainty=str(raw.get("certainty", "confirmed")),
        rotate_url=raw.get("rotate_url"),
        references=_as_tuple(raw.get("references"), "references", where),
        multiline=bool(raw.get("multiline", False)),
        context=bool(raw.get("context", False)),
        filters=_as_tuple(raw.get("filters"), "filters", where),
        scope=raw.get("scope"),
        tags=_as_tuple(raw.get("tags"), "tags", where),
        verify=verify,
        origin=origin,
        structure_only=bool(raw.get("structure_only", False)),
    )


def _yaml_load(text: str, origin: str) -> Any:
    import yaml  # only when rule text is parsed: the cached ruleset needs no YAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader
    except yaml.YAMLError as exc:
        raise RuleError(f"{origin}: not valid YAML: {exc}") from None


def rules_from_text(text: str, origin: str) -> list[Rule]:
    """Parse one rule file's text."""
    return [rule_from_mapping(raw, o) for raw, o in _raw_rules(text, origin)]


def _raw_rules(text: str, origin: str) -> list[tuple[dict[str, Any], str]]:
    """The rule mappings of one file's text, defaults merged in, with their origin."""
    doc = _yaml_load(text, origin)
    if doc is None:
        return []
    if not isinstance(doc, Mapping) or not isinstance(doc.get("rules"), list):
        raise RuleError(f"{origin}: a rule file is a mapping with a 'rules' list")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise RuleError(f"{origin}: 'defaults' must be a mapping")
    out = []
    for i, raw in enumerate(doc["rules"]):
        if not isinstance(raw, Mapping):
            raise RuleError(f"{origin}: rules[{i}] is not a mapping")
        out.append(({**defaults, **raw}, origin))
    return out


def _check_unique(rules: list[Rule]) -> RuleSet:
    seen: dict[str, str] = {}
    for r in rules:
        if r.id in seen:
            raise RuleError(f"duplicate rule id {r.id!r} in {r.origin} (first in {seen[r.id]})")
        seen[r.id] = r.origin
    return RuleSet(tuple(rules))


_BUILTIN: RuleSet | None = None


def builtin_rule_texts() -> Iterator[tuple[str, str]]:
    """(file name, text) of every built-in rule file, from the installed data package."""
    root = resources.files("scanner.rules")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and not entry.name.startswith("_"):
            yield entry.name, entry.read_text(encoding="utf-8")


def load_builtin() -> RuleSet:
    """The built-in ruleset, loaded once per process (and parsed once per rules version, through a cache)."""
    global _BUILTIN
    if _BUILTIN is None:
        texts = list(builtin_rule_texts())
        source = _source_hash(texts)
        cached = _cache_get(texts, source)
        if cached is not None:
            _BUILTIN = cached
            return cached
        raws: list[tuple[dict[str, Any], str]] = []
        for name, text in texts:
            raws.extend(_raw_rules(text, f"rules/{name}"))
        _BUILTIN = _check_unique([rule_from_mapping(raw, origin) for raw, origin in raws])
        _cache_put(source, raws)
    return _BUILTIN


# The rule cache is data only: the merged YAML mappings as JSON, rebuilt into Rules through rule_from_mapping
# (the same validation as the YAML). It is tagged and checked by scanner/detect/cachefiles.py; see the threat model there.
_CACHE_KIND = "rules-json-1"


_ID_LINE = re.compile(r"^\s*-\s+id:\s*['\"]?([a-z0-9][a-z0-9.-]*)", re.M)


def _source_hash(texts: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name, text in texts:
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def _cache_name(source: str) -> str:
    return f"rules-{source[:24]}.json"


def _cache_get(texts: list[tuple[str, str]], source: str) -> RuleSet | None:
    """The built-in rules from the cache, if this exact rule text was parsed before and the file checks out."""
    from scanner.detect import cachefiles

    payload = cachefiles.read(_cache_name(source), _CACHE_KIND, source)
    if payload is None:
        return None
    try:
        doc = json.loads(payload)
        rules = [rule_from_mapping(raw, origin) for raw, origin in doc]
        rs = _check_unique(rules)
    except (ValueError, TypeError, RuleError, AttributeError):
        cachefiles.note(f"cache file {_cache_name(source)} holds unreadable rules; ignored and rebuilt")
        return None
    # Independent of the tag: every rule id the shipped text declares is present (a cache never drops a rule).
    declared = {m.group(1) for _, text in texts for m in _ID_LINE.finditer(text)}
    if not declared <= {str(r.id) for r in rs}:
        cachefiles.note(f"cache file {_cache_name(source)} lacks rules the rule files declare; ignored and rebuilt")
        return None
    return rs


def _cache_put(source: str, raws: list[tuple[dict[str, Any], str]]) -> None:
    from scanner.detect import cachefiles

    try:
        payload = json.dumps(raws, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return  # a value JSON cannot hold (a YAML date): no cache, the YAML is parsed each time
    cachefiles.write(_cache_name(source), _CACHE_KIND, source, payload)


def load_dir(path: Path) -> RuleSet:
    """Load every ``*.yaml``/``*.yml`` rule file in a directory (or one file); in a directory, files whose name
    starts with ``_`` (such as the shipped ``_runbooks.yaml``) are data, not rule files."""
    files = [path] if path.is_file() else sorted(f for f in [*path.glob("*.yaml"), *path.glob("*.yml")]
                                                 if not f.name.startswith("_"))
    if not files:
        raise RuleError(f"{path}: no rule files (*.yaml) found")
    rules: list[Rule] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{f}: cannot read rule file: {exc.__class__.__name__}") from None
        rules.extend(rules_from_text(text, str(f)))
    return _check_unique(rules)


def load(extra_dirs: Iterable[Path] = (), only: Iterable[str] = ()) -> RuleSet:
    """Built-in rules plus user rule directories, optionally restricted to some ids."""
    rs = load_builtin()
    for d in extra_dirs:
        rs = rs.merged(load_dir(Path(d)))
    wanted = tuple(only)
    return rs.only(wanted) if wanted else rs
