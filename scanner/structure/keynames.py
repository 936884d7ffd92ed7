"""Key-name awareness: which names hold secrets, and which values refer to a secret store instead of holding one.

Which provider a name belongs to is data: the ``keyname.*`` rules in ``rules/keyname.yaml`` (structure-only
rules run on ``name=value`` lines the structure pass builds), not a table here.
"""

from __future__ import annotations

import re

SECRET_NAME = re.compile(
    r"(?i)(?:key|token|secret|passw|passphrase|pwd|(?:^|[^a-z])pass$|auth|credential|private|bearer|dsn)"
)
# Leaf names that say nothing by themselves: the parent names the secret (``{name: X, value: Y}``, HCL defaults).
GENERIC_LEAVES = frozenset({"value", "default", "val", "data", "content", "secret_string", "literal"})
NOT_SECRET_NAME = re.compile(
    r"(?i)(?:_?(?:file|path|dir|url|uri|endpoint|env|var|name|id|ref|type|length|len|size|count|max|min|"
    r"enabled?|header|prefix|suffix|format|algorithm|alg|expiry|expires?|ttl|timeout|mode|policy|source|"
    r"ids|names|limit|field|kind|template|param|version|location|region|scope|scopes|hint|usage|description)s?)$"
)

_REFERENCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("github-secrets", re.compile(r"\$\{\{\s*(?:secrets|vars)\.", re.I)),
    ("template", re.compile(r"\{\{.*?\}\}|\{%.*?%\}|<%=?.*?%>|\{\{_+\}\}", re.S)),
    ("env", re.compile(
        r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-=?+][^}]*)?\}$|^\$[A-Za-z_][A-Za-z0-9_]*$|os\.environ|os\.getenv|"
        r"process\.env\.|getenv\(|^env\(|^%[A-Za-z_]\w*%$|^%\([A-Za-z_]\w*\)s$|^\$\(.*\)$|^ENV\[", re.I)),
    ("vault", re.compile(r"^(?:ref\+)?vault:|^vault://|^\{\{\s*vault|^secret/data/|^kv/", re.I)),
    ("aws-secretsmanager", re.compile(r"^arn:aws[\w-]*:secretsmanager:|secretsmanager|aws_secretsmanager", re.I)),
    ("aws-ssm", re.compile(r"^arn:aws[\w-]*:ssm:|^\{\{resolve:ssm|^ssm:/", re.I)),
    ("secret-manager", re.compile(
        r"^(?:op|azurekeyvault|gcpsm|sm|gsm|doppler|infisical|bws|akv)://|^projects/[^/]+/secrets/|"
        r"^sops:|^ENC\[|^!vault|^\$ANSIBLE_VAULT", re.I)),
    ("terraform", re.compile(r"^(?:var|local|data|module)\.[A-Za-z_][\w.-]*$|^\$\{(?:var|local|data)\.")),
    ("k8s-secretKeyRef", re.compile(r"secretKeyRef", re.I)),
)
_PLACEHOLDER = re.compile(
    r"^(?:|~|null|none|nil|true|false|yes|no|on|off|\*+|x+|\.+|-+|<[^<>]*>|\[[^\[\]]*\]|\([^()]*\)|"
    r"(?:your|my|the|insert|enter|put|add|replace|change|set)[\s_-].*|.*(?:here|_?goes_?here)|"
    r"\d{1,6}|0x[0-9a-f]{1,8}|(?:sk|pk|api|key|token|secret|password)[_-]?(?:x+|\.\.\.|\*+)?)$",
    re.I,
)
_PATHLIKE = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\)[^\s]*$")
_PLAIN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s@]*$", re.I)


# Tokens that are not credentials: pagination cursors, idempotency keys, CSRF and purchase tokens, counts.
NOT_CREDENTIAL_TOKEN = re.compile(
    r"(?i)(?:next|continuation|pagination|page|client|idempotency|purchase|cancel|csrf|xsrf|sync|resume|marker|"
    r"grant|request|session[_.-]?id|max|stop|pad|bos|eos|unk|sep|cls|mask)[_.-]?tokens?$|tokens?[_.-]?count|/"
)


def is_secret_name(name: str) -> bool:
    """A key name that suggests a secret value (``OPENAI_API_KEY``, ``password``, ``apiKey``) and not metadata
    about one (``api_key_file``, ``token_url``, ``NextToken``, a file name)."""
    leaf = re.split(r"[.\s]", name)[-1] if name else ""
    return (bool(SECRET_NAME.search(leaf)) and not NOT_SECRET_NAME.search(leaf)
            and not NOT_CREDENTIAL_TOKEN.search(leaf))


def reference_kind(value: str) -> str | None:
    """The kind of reference a value is (``env``, ``vault``, ``template``, ...), or None for a literal."""
    text = value.strip()
    if not text or len(text) > 2000:
        return None
    for kind, rx in _REFERENCES:
        if rx.search(text):
            return kind
    return None


def is_placeholder(value: str) -> bool:
    """Empty values and obvious stand-ins (``<KEY>``, ``xxx``, ``your-key-here``, numbers, booleans)."""
    text = value.strip().strip("'\"")
    return bool(_PLACEHOLDER.match(text)) or bool(_PATHLIKE.match(text)) or bool(_PLAIN_URL.match(text))


def display_name(segments: list[str]) -> str:
    """The name key-name rules see: the leaf key, with its parent when the leaf is generic or to add context."""
    keys = [s for s in segments if not s.startswith("[")]
    if not keys:
        return ""
    leaf = keys[-1]
    if leaf.lower() in GENERIC_LEAVES and len(keys) > 1:
        return keys[-2][-80:]
    if len(keys) > 1:
        return (keys[-2][-60:] + "." + leaf[-80:]).replace("=", ":").replace("\n", " ")
    return leaf[-120:].replace("=", ":").replace("\n", " ")
