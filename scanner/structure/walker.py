"""Walk a node tree into the values worth scanning, applying what each format says about its values:

* Kubernetes ``Secret``: ``data`` values are base64 (decoded and scanned), ``stringData`` values are plain.
* ``{name: X, value: Y}`` pairs (container ``env``, kubeconfig ``exec.env``) name the value X;
  ``valueFrom.secretKeyRef`` is a reference.
* ``command``/``args``/``entrypoint`` lists and strings: ``--api-key VALUE`` and ``--token=VALUE`` flags.
* ``KEY=value`` list items (docker-compose ``environment`` as a list).
* LiteLLM ``model_list[].litellm_params.api_key``: the provider comes from ``litellm_params.model``.
* Docker ``config.json`` ``auths.<registry>.auth``: base64 ``user:password``.
* Jupyter notebooks: assignments in code cells (``OPENAI_API_KEY = "..."``, ``os.environ["X"] = "..."``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from scanner.structure.keynames import GENERIC_LEAVES, SECRET_NAME, display_name, is_secret_name
from scanner.structure.nodes import Mapping, Node, Scalar, Sequence, Value

MAX_VALUES = 100_000
_ARG_KEYS = frozenset({"command", "args", "entrypoint", "cmd", "run", "arguments", "extra_args", "extraargs"})
_FLAG = re.compile(r"^--?([A-Za-z][\w.-]*)(?:=(.*))?$", re.S)
_ENV_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.S)
_CODE_ASSIGN = re.compile(
    r"""(?:os\.environ\[\s*["']([A-Za-z_]\w*)["']\s*\]|os\.environ\.setdefault\(\s*["']([A-Za-z_]\w*)["']\s*,|"""
    r"""%env\s+([A-Za-z_]\w*)|\b([A-Za-z_]\w*))\s*[=:,]?\s*(?:=\s*)?(["'])([^"'\n]{1,500})\5""")
_SHELL_WORD = re.compile(r"""\S+""")
# A value worth a look whatever its name: encoded-looking, URL with credentials, JSON inside, escapes.
_B64ISH = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|\\|^\s*[\[{]|://[^/\s]*:[^@\s]*@")


class Walker:
    """Turns documents into Values; one per file, so the value cap covers every document of a stream."""

    def __init__(self, fmt: str, locate: Callable[[Scalar, str], None] | None = None) -> None:
        self.fmt = fmt
        self.count = 0
        self.locate = locate  # fills in lines of scalars built without them (the C JSON parser's tree)

    def _loc(self, node: Scalar, key: str = "") -> Scalar:
        if node.line == 0 and self.locate is not None:
            self.locate(node, key)
        return node

    def _wanted(self, node: Scalar, path: list[str], hint: str | None) -> bool:
        """Cheap test before any string building: a secret-like name, a format hint or an encoded-looking value.
        Other values hold nothing the text pass has not already reported."""
        if hint is not None or self.fmt == "notebook":
            return True
        keys = [p for p in path[-4:] if not p.startswith("[")]
        if keys and ((SECRET_NAME.search(keys[-1]) and is_secret_name(keys[-1])) or keys[-1].lower() in _ARG_KEYS
                     or keys[-1].lower() in GENERIC_LEAVES and len(keys) > 1 and SECRET_NAME.search(keys[-2])):
            return True
        text = node.text
        if len(text) < 8:
            return False
        if _B64ISH.match(text):  # base64 of text mixes cases; hex digests and ids do not
            return not (text.islower() or text.isupper() or text.isalpha() or text.isdigit())
        return _ENCODED.search(text) is not None

    def walk(self, node: Node, path: list[str] | None = None, *, hint: str | None = None) -> Iterator[Value]:
        """Every scalar value under ``node``, with its key path, display name and line."""
        yield from self._node(node, path or [], hint)

    def _value(self, node: Scalar, path: list[str], hint: str | None = None, *, name: str | None = None,
               reference: str | None = None) -> Value | None:
        self.count += 1
        if self.count > MAX_VALUES:
            return None
        keys = [p for p in path if not p.startswith("[")]
        self._loc(node, keys[-1] if keys else "")
        return Value(
            key_path=_join(path), name=name if name is not None else display_name(path),
            key=keys[-1] if keys else "", text=node.text, line=node.line, column=node.column,
            end_line=node.end_line or node.line, decoded="json-escape" if node.escaped else None,
            hint=hint, reference=reference,
        )

    def _node(self, node: Node, path: list[str], hint: str | None) -> Iterator[Value]:
        if self.count > MAX_VALUES:
            return
        if isinstance(node, Scalar):
            if not self._wanted(node, path, hint):
                return
            v = self._value(node, path, hint)
            if v is not None:
                yield v
                if self.fmt == "notebook" and path and path[-1].startswith("[") and "source" in path:
                    yield from self._code(node, path)
                leaf = next((p for p in reversed(path) if not p.startswith("[")), "")
                if leaf.lower() in _ARG_KEYS and isinstance(node.text, str) and " -" in node.text:
                    yield from self._args(_words(node), path)
            return
        if isinstance(node, Sequence):
            yield from self._sequence(node, path, hint)
            return
        yield from self._mapping(node, path, hint)

    def _sequence(self, node: Sequence, path: list[str], hint: str | None) -> Iterator[Value]:
        leaf = next((p for p in reversed(path) if not p.startswith("[")), "").lower()
        for i, item in enumerate(node.items):
            sub = [*path, f"[{i}]"]
            if isinstance(item, Scalar):
                m = _ENV_ITEM.match(item.text) if "=" in item.text else None
                if m and not item.text.startswith("-"):
                    if not self._wanted(Scalar(m.group(2), 1), [*sub, m.group(1)], hint):
                        continue
                    self._loc(item)
                    col = item.column + m.start(2) if item.column else 0
                    part = Scalar(m.group(2), item.line, col, item.end_line, item.escaped)
                    v = self._value(part, [*sub, m.group(1)], hint)
                    if v is not None:
                        yield v
                    continue
            yield from self._node(item, sub, hint)
        if leaf in _ARG_KEYS:
            yield from self._args([self._loc(s) for s in node.items if isinstance(s, Scalar)], path)

    def _args(self, words: list[Scalar], path: list[str]) -> Iterator[Value]:
        """``--api-key VALUE`` / ``--token=VALUE`` among command-line words."""
        for i, word in enumerate(words):
            m = _FLAG.match(word.text)
            if not m or not is_secret_name(m.group(1).replace("-", "_")):
                continue
            flag = m.group(1)
            if m.group(2) is not None:
                col = word.column + len(word.text) - len(m.group(2)) if word.column else 0
                target = Scalar(m.group(2), word.line, col, word.line)
            elif i + 1 < len(words) and not words[i + 1].text.startswith("-"):
                target = words[i + 1]
            else:
                continue
            v = self._value(target, [*path, f"--{flag}"], name=flag.replace("-", "_"))
            if v is not None:
                yield v

    def _mapping(self, node: Mapping, path: list[str], hint: str | None) -> Iterator[Value]:
        kind = node.text("kind")
        name, value = node.get("name"), node.get("value")
        consumed: set[str] = set()
        if isinstance(name, Scalar) and name.text and ("value" in _keys(node) or "valueFrom" in _keys(node)):
            consumed = {"name", "value", "valueFrom"}
            self._loc(name)
            if isinstance(value, Scalar) and self._wanted(value, [*path, name.text], hint):
                v = self._value(value, [*path, name.text])
                if v is not None:
                    yield v
            vf = node.get("valueFrom")
            if isinstance(vf, Mapping):
                ref = next((k for k, _ in vf.items if k.endswith("KeyRef") or k.endswith("Ref")), None)
                if ref:
                    v = self._value(Scalar(ref, name.line, name.column), [*path, name.text],
                                    reference="k8s-secretKeyRef" if ref == "secretKeyRef" else "k8s-" + ref)
                    if v is not None:
                        yield v
        litellm = node.get("litellm_params")
        for key, child in node.items:
            if key in consumed:
                continue
            sub = [*path, key]
            child_hint = hint
            if kind == "Secret" and key == "data":
                child_hint = "base64"
            elif key == "auths" and isinstance(child, Mapping):
                yield from self._auths(child, sub)
                continue
            if key == "litellm_params" and isinstance(litellm, Mapping) and isinstance(child, Mapping):
                yield from self._litellm(child, sub)
                continue
            yield from self._node(child, sub, child_hint)

    def _auths(self, node: Mapping, path: list[str]) -> Iterator[Value]:
        for registry, entry in node.items:
            sub = [*path, registry]
            if not isinstance(entry, Mapping):
                yield from self._node(entry, sub, None)
                continue
            for key, child in entry.items:
                yield from self._node(child, [*sub, key], "basic-auth" if key == "auth" else None)

    def _litellm(self, node: Mapping, path: list[str]) -> Iterator[Value]:
        model = node.text("model") or ""
        provider = model.split("/", 1)[0] if "/" in model else ""
        for key, child in node.items:
            sub = [*path, key]
            if key == "api_key" and isinstance(child, Scalar) and provider:
                v = self._value(child, sub, name=f"litellm_params.{provider}_api_key")
                if v is not None:
                    yield v
                continue
            yield from self._node(child, sub, None)

    def _code(self, node: Scalar, path: list[str]) -> Iterator[Value]:
        """Assignments in a notebook code line: the assigned name is the key."""
        for m in _CODE_ASSIGN.finditer(node.text):
            name = m.group(1) or m.group(2) or m.group(3) or m.group(4)
            if not name or not is_secret_name(name):
                continue
            col = node.column + m.start(6) if node.column else 0
            v = self._value(Scalar(m.group(6), node.line, col, node.line), [*path, name], name=name)
            if v is not None:
                yield v


def _keys(node: Mapping) -> set[str]:
    return {k for k, _ in node.items}


def _words(node: Scalar) -> list[Scalar]:
    if "\n" in node.text:
        return []
    return [Scalar(m.group().strip("'\""), node.line, node.column + m.start() if node.column else 0, node.line)
            for m in _SHELL_WORD.finditer(node.text)]


def _join(path: list[str]) -> str:
    out = ""
    for p in path:
        if p.startswith("["):
            out += p
        else:
            out += ("." if out else "") + p
    return out
