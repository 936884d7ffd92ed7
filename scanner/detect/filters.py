"""False-positive filters: one place that decides whether a raw match is worth reporting.

Vendor rules with a unique prefix only pass the placeholder and documented-example filters. Rules that need
context, and generic rules, also pass entropy and detect-secrets' heuristics (imported on first use only, so the
pre-commit hook does not pay for it when no generic candidate appears).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any

# Documented example values from vendor docs: never real, always noise.
KNOWN_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AKIAI44QH8DHBEXAMPLE",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    }
)

# Markers no real token contains (none of them is in a key alphabet): a template or a lookup, whatever the rule.
_PLACEHOLDER_MARKERS = (
    "<", ">", "${", "{{", "}}", "%(", "$(", "****", "....", "process.env", "os.environ", "getenv", "secretkeyref",
)
# Words that say "not a real value" when they appear anywhere in a value of unknown format (generic rules).
_PLACEHOLDER_WORDS = (
    "example", "your", "placeholder", "changeme", "change-me", "change_me", "replace", "dummy", "sample",
    "redacted", "insert", "fixme", "todo", "xxxx", "not-a-real", "notreal", "not_real",
)
# A fixed-format key is a placeholder only when its whole body is made of these (``your-api-key-here``).
_FILLER_BODY = re.compile(
    r"^(?:your|my|the|an?|api|access|secret|private|auth|service|account|personal|project|org|admin|user|app|bot"
    r"|keys?|tokens?|here|goes|put|paste|insert|replace|me|with|changeme|change|real|not|fake|dummy|sample"
    r"|example|placeholder|redacted|todo|fixme|tbd|test|value|string|x+|0+|1234(?:5678?9?0?)?|[-_.\s])+$"
)
_SEGMENTS = re.compile(r"[-_./\s:]+")
LOW_VARIETY_MIN_LEN = 6  # "aaaaaa", "000000", "xXxXxX": this long or longer ...
LOW_VARIETY_MAX_DISTINCT = 2  # ... with this few distinct characters (case-insensitive) is a placeholder
_ENV_LOOKUP = re.compile(r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_]*%|env\([^)]*\))$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_LOCK_FILES = (
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "pipfile.lock", "cargo.lock",
    "go.sum", "composer.lock", "gemfile.lock", "uv.lock", "pdm.lock", "requirements.txt", "bun.lockb",
    "flake.lock", "package.resolved", "podfile.lock", "mix.lock", "pubspec.lock", "gradle.lockfile",
)


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def is_known_example(secret: str) -> bool:
    """A value vendors publish in their documentation."""
    return secret in KNOWN_EXAMPLES or secret.endswith("EXAMPLE") or secret.endswith("EXAMPLEKEY")


def _low_variety(text: str) -> bool:
    return len(text) >= LOW_VARIETY_MIN_LEN and len(set(text.lower())) <= LOW_VARIETY_MAX_DISTINCT


def is_placeholder(secret: str, *, exact_prefix: str | None = None) -> bool:
    """Template markers, environment lookups and values that say 'not a real value'.

    ``exact_prefix`` is given for an exact-format key (a fixed-prefix or checksummed token, a PEM block; the
    prefix may be empty): its random body can hold "your", "todo" or "xxxx" by chance, so it is a placeholder only
    when the body *as a whole* is one: made of filler words (``sk-proj-your-key-here``), of one or two repeated
    characters (or a separated part of it is: ``T00000000``), or holds an alphabet run. A value of unknown format (generic rules) is a placeholder when such a word
    appears anywhere in it.
    """
    low = secret.lower()
    if any(m in low for m in _PLACEHOLDER_MARKERS) or _ENV_LOOKUP.match(secret):
        return True
    if exact_prefix is not None:
        body = secret[len(exact_prefix) :] if secret.startswith(exact_prefix) else secret
        if body.startswith("-----BEGIN"):  # PEM: judge the base64 body between the armour lines
            body = "".join(ln.strip() for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("-----")
                           and ":" not in ln)
        core = re.sub(r"[-_.\s]", "", body)
        if not core or _low_variety(core) or _FILLER_BODY.match(body.lower()):
            return True
        if any(_low_variety(part) for part in _SEGMENTS.split(body)):  # .../T00000000/B00000000/XXXXXXXX
            return True
        return _is_sequential(core)  # an 8-character alphabet or keyboard run: 1 in ~10^10 for a random body
    if any(w in low for w in _PLACEHOLDER_WORDS):
        return True
    body = secret.split("_")[-1].split("-")[-1]
    if _low_variety(body):
        return True
    return _is_sequential(body)


_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789abcdef", "0123456789", "qwertyuiopasdfghjklzxcvbnm",
         "9876543210", "zyxwvutsrqponmlkjihgfedcba")


def _is_sequential(text: str) -> bool:
    """The whole body is a keyboard or alphabet run, or holds one of 8+ characters ("...abcdefgh...", "12345678")."""
    low = text.lower()
    if len(low) < 8:
        return False
    for seq in _RUNS:
        if low in (seq * 4):
            return True
        if any(seq[i : i + 8] in low for i in range(len(seq) - 7)):
            return True
    return False


def is_lock_file(path: str) -> bool:
    """Dependency lock files are full of hashes that look like keys."""
    return path.rsplit("/", 1)[-1].lower() in _LOCK_FILES


@lru_cache(maxsize=1)
def _ds_heuristics() -> Any:
    from detect_secrets.filters import heuristic  # heavy: imported on first generic candidate

    return heuristic


_WORD_PART = re.compile(r"^(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)[0-9]{0,3}[a-z]{0,3}$|^[0-9]{1,4}[a-z]{0,3}$")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_VOWELS = frozenset("aeiouyAEIOUY")
_DATE_SUFFIX = re.compile(r"[-_.]?\d{4}-?\d{2}-?\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def looks_like_identifier(value: str) -> bool:
    """Names built from words (``s3_access_token``, ``SAML_ASSERTION_TYPE``, ``OAuthClientMethod2``): code, not keys."""
    parts = [p for p in re.split(r"[_.:/-]+", value) if p]
    words: list[str] = []
    for p in parts:
        if p.islower() or p.isupper() or p.isdigit():
            words.append(p)
            continue
        camel = _CAMEL.findall(p)
        if any(w.isupper() and len(w) > 5 for w in camel):
            return False  # long capital runs inside mixed case: random, not an acronym
        words.extend(camel)
    if len(words) < 2 or "".join(words) != re.sub(r"[_.:/-]", "", value):
        return False
    alpha = [w for w in words if not w.isdigit()]
    if not alpha or sum(len(w) for w in alpha) / len(alpha) < 3.5 or max(len(w) for w in alpha) < 4:
        return False  # random strings split into many tiny "words"
    if sum(1 for w in alpha if len(w) <= 2) > 1 or sum(1 for w in words if w.isdigit()) > 2:
        return False
    letters = [w.strip("0123456789") for w in alpha]
    return all(_WORD_PART.match(w) for w in words) and all(set(w) & _VOWELS or len(w) <= 3 for w in letters)


# Names of infrastructure things, not values: CloudFormation resource types (``AWS::ApiGateway::ApiKey``,
# ``AWS::AppSync::ApiKey``) and Terraform references to a resource's attribute (``aws_api_gateway_api_key.chat.id``,
# ``${aws_appsync_api_key.main[0].key}``): the name holds "ApiKey" but the value is an identifier.
_RESOURCE_NAME = re.compile(
    r"^(?:[A-Z][A-Za-z0-9]*::[A-Za-z0-9]+::[A-Za-z0-9]+(?:::[A-Za-z0-9]+)?"
    r"|\$\{?[a-z][a-z0-9]*(?:_[a-z0-9]+)+\.[A-Za-z_][\w-]*(?:\[[^\]]*\])?(?:\.[A-Za-z_][\w-]*)+\}?"
    r"|(?:data\.)?[a-z][a-z0-9]*(?:_[a-z0-9]+)+\.[A-Za-z_][\w-]*(?:\[[^\]]*\])?(?:\.[A-Za-z_][\w-]*)+)$"
)


def is_resource_name(value: str) -> bool:
    """A CloudFormation resource type or a Terraform resource reference: infrastructure names, not secrets."""
    return bool(_RESOURCE_NAME.match(value))


_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|spec|specs|__tests__|fixtures?|testdata|examples?|samples?|docs?)/"
    r"|(^|/)(test_[^/]*|[^/]*_test\.[a-z]+|[^/]*\.(spec|test)\.[jt]sx?|conftest\.py|examples?-\d+\.json)$",
    re.I,
)
_NOT_CREDENTIAL_NAME = re.compile(
    r"(?i)(page|next|continuation|pagination|cursor|sync|resume|idempotency|request|trace|csrf|xsrf|max|num|count"
    r"|limit)[_-]?(token|key)s?\b|\.(py|js|ts|json|ya?ml|go|rb|java|md|txt|cfg|toml|sh)[\'\"]?\s*[:=]"
)
_PLACEHOLDER_RUNS = ("abc", "123", "def", "456", "xyz", "789")


def generic_name_noise(lead: str) -> str | None:
    """Reason the name a generic value is assigned to says it is not a credential (page tokens, file paths)."""
    return "not-a-credential-name" if _NOT_CREDENTIAL_NAME.search(lead) else None


def generic_noise(secret: str, path: str) -> str | None:
    """Reason a generic-rule candidate is noise, or None. Uses detect-secrets' heuristic filters."""
    if _UUID.match(secret):
        return "uuid"
    if is_resource_name(secret):
        return "resource-name"
    if secret.startswith("data:"):
        return "data-uri"
    if is_lock_file(path):
        return "lock-file"
    if _TEST_PATH.search(path):
        return "test-or-example-path"  # generic (low-confidence) hits there are fixtures; vendor rules still apply
    low = secret.lower()
    if sum(run in low for run in _PLACEHOLDER_RUNS) >= 2:
        return "placeholder-runs"
    if secret.startswith("eyJ") and "." not in secret:
        return "encoded-json"  # a JWT header or base64 JSON alone, not a credential
    if _HEX.match(secret) and len(secret) in (32, 40, 64, 128) and "hash" in path.lower():
        return "hash"
    h = _ds_heuristics()
    if h.is_sequential_string(secret):
        return "sequential"
    if h.is_potential_uuid(secret):
        return "uuid"
    if h.is_templated_secret(secret) or h.is_prefixed_with_dollar_sign(secret):
        return "template"
    if h.is_not_alphanumeric_string(secret):
        return "not-alphanumeric"
    if secret.isdigit() or secret.isalpha() and secret.islower():
        return "low-variety"
    if looks_like_identifier(_DATE_SUFFIX.sub("", secret)):
        return "identifier"
    if _ISO_TIME.match(secret):
        return "timestamp"
    if sum(secret.count(c) for c in "()[]{},;") >= 2:
        return "code"
    return None
