"""Which configuration format a file is, from its name first and its first bytes second; cheap by design.

A file the structure pass would add nothing to (no secret-like key name, no reference syntax, nothing encoded
that a format says to decode) is not parsed at all: the gate is one regular-expression search.
"""

from __future__ import annotations

import re

_EXT = {
    "yaml": "yaml", "yml": "yaml", "json": "json", "jsonc": "json", "json5": "json", "toml": "toml",
    "ini": "ini", "cfg": "ini", "conf": "ini", "cnf": "ini", "properties": "properties", "env": "env",
    "tf": "hcl", "tfvars": "hcl", "hcl": "hcl", "ipynb": "notebook", "kubeconfig": "yaml",
    "dockerfile": "dockerfile", "containerfile": "dockerfile",
}
_NAMES = {
    ".env": "env", ".envrc": "env", ".flaskenv": "env", ".npmrc": "ini", ".yarnrc": "ini", ".pypirc": "ini",
    "pip.conf": "ini", "pip.ini": "ini", ".netrc": "netrc", "_netrc": "netrc", ".dockercfg": "json",
    "dockerfile": "dockerfile", "containerfile": "dockerfile", "kubeconfig": "yaml", "credentials": "ini",
    ".s3cfg": "ini", ".pgpass": "", ".gitconfig": "ini", "pyproject.toml": "toml", "pipfile": "toml",
}
_PARENT_NAMES = {(".kube", "config"): "yaml", (".aws", "config"): "ini", (".docker", "config.json"): "json"}

# The content gate: a secret-like key with a value, an encoded-data marker, or a reference a format declares.
_GATE = re.compile(
    rb"(?i)(?:key|token|secret|passw|passphrase|pwd|auth|credential|private|bearer|certificate|"
    rb"client-key-data|dsn|conn(?:ection)?[_-]?str)[\w.\-\"'\]\\]{0,40}\s*(?:[:=]|\"\s*:|\s+\"|\s*\{)"
    rb"|://[^/\s:@\"']{1,100}:[^@\s/\"']{1,200}@"
    rb"|--[\w-]{0,30}(?:key|token|secret|password)"
    rb"|kind:\s*['\"]?Secret|\"kind\":\s*\"Secret|model_list|secretKeyRef|auths|"
    rb"^\s*password\s|\bmachine\s"
)


def format_of(path: str, head: bytes = b"") -> str | None:
    """The format family of a file (``yaml``, ``json``, ``toml``, ``ini``, ``env``, ``properties``, ``netrc``,
    ``dockerfile``, ``hcl``, ``notebook``), or None when neither its name nor its first bytes say it is one."""
    parts = path.replace("\\", "/").rsplit("/", 2)
    name = parts[-1].lower()
    parent = parts[-2].lower() if len(parts) > 1 else ""
    if (parent, name) in _PARENT_NAMES:
        return _PARENT_NAMES[(parent, name)]
    if name in _NAMES:
        return _NAMES[name] or None
    if name.startswith(".env.") or name.startswith("env.") and name.count(".") == 1:
        return "env"
    if name.startswith("dockerfile.") or name.startswith("containerfile."):
        return "dockerfile"
    if name.startswith("config.") and parent == ".kube":
        return "yaml"
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext in _EXT:
        return _EXT[ext]
    if not ext and head:
        start = head.lstrip()[:64]
        if start.startswith((b"apiVersion:", b"---\n", b"kind:")):
            return "yaml"
    return None


def worth_parsing(data: bytes) -> bool:
    """The cheap content gate: does anything in the file call for the structure pass?"""
    return _GATE.search(data) is not None
