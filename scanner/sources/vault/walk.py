"""HashiCorp Vault / OpenBao: the walk over KV mounts (v1 and v2), tokens, ACL policies and AppRole roles.

``VaultSource(client, options).scan(...)`` walks what it was asked to walk and returns a ``CredentialResult``:
Credential records (never a value; with ``read_values`` only a keyed hash and a redacted preview), the
Vault-specific violations, Skips for every part it could not read, and coverage notes. The generic credential
checks run afterwards in ``scanner.hygiene.checks.vault``.

hvac is imported inside functions only (the CLI must start without it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from scanner.detect.prefixes import public_prefixes
from scanner.model import Credential, Skip, Violation
from scanner.policy import Policy
from scanner.redact import SecretHasher, redact, redact_key
from scanner.sources.base import CredentialResult
from scanner.sources.blob import BlobScanner
from scanner.sources.vault.classify import Classifier
from scanner.sources.vault.client import describe_error, error_kind
from scanner.sources.vault.coverage import Coverage, VaultOptions, coverage_notes
from scanner.sources.vault.policies import check_policy
from scanner.sources.vault.records import (
    SOURCE,
    age_attributes,
    approle_violations,
    kv_credential,
    kv_declared,
    token_credential,
)

T = TypeVar("T")




@dataclass(frozen=True, slots=True)
class _Mount:
    path: str  # with trailing slash
    version: int


class VaultSource:
    """One Vault server, already connected. ``scan`` never raises for partial failures; it records Skips."""

    name = SOURCE

    def __init__(self, client: Any, options: VaultOptions, *, addr: str = "") -> None:
        self.client = client
        self.options = options
        self.addr = addr or str(getattr(getattr(client, "adapter", None), "base_uri", "") or "")
        self._pool_size = max(1, min(options.concurrency, 16))

    # ------------------------------------------------------------------ plumbing

    def _req(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        resp = self.client.adapter.request(method, url, **kwargs)
        return resp if isinstance(resp, dict) else {}

    def _map(self, fn: Callable[[T], Any], items: Iterable[T]) -> list[Any]:
        items = list(items)
        if len(items) <= 1 or self._pool_size == 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=self._pool_size) as pool:
            return list(pool.map(fn, items))

    # ------------------------------------------------------------------ entry point

    def scan(self, scanner: BlobScanner, hasher: SecretHasher, policy: Policy, now: datetime) -> CredentialResult:
        """Preflight (reachable, unsealed), then KV, tokens, policies and AppRole roles."""
        cov = Coverage()
        target = self.addr or "vault"
        try:
            status = self._req("GET", "/v1/sys/seal-status")
        except Exception as exc:  # noqa: BLE001 - any failure here means nothing can be scanned
            kind = error_kind(exc)
            detail = f"{target}: {describe_error(exc)}"
            return CredentialResult(skipped=(Skip(source=SOURCE, target=target, reason=kind, detail=detail),),
                                    notes=(f"vault: nothing scanned: {detail}",), scanned_anything=False)
        if status.get("sealed"):
            detail = f"{target}: the server is sealed; unseal it and run the scan again"
            return CredentialResult(skipped=(Skip(source=SOURCE, target=target, reason="sealed", detail=detail),),
                                    notes=(f"vault: nothing scanned: {detail}",), scanned_anything=False)

        classifier = Classifier(scanner)
        creds: list[Credential] = []
        extra: list[Violation] = []
        mounts = self._kv_mounts(cov)
        for mount, prefixes in mounts:
            creds.extend(self._scan_mount(mount, prefixes, classifier, hasher, cov, now))
        model_mounts = sorted({(m.path, m.version) for m, _ in mounts
                               for c in creds if c.provider and c.location.startswith(m.path)})
        if self.options.tokens:
            tok_creds, tok_viol = self._scan_tokens(cov, now)
            creds.extend(tok_creds)
            extra.extend(tok_viol)
        if self.options.policies:
            extra.extend(self._scan_policies(cov, model_mounts))
        if self.options.auth_methods:
            extra.extend(self._scan_approles(cov, policy))
        creds = [replace(c, attributes=(*c.attributes, *age_attributes(c, now))) for c in creds]
        violations = [*extra, *kv_declared(creds, now)]  # the generic checks run in scanner.hygiene.checks.vault
        anything = bool(cov.mounts) or cov.tokens > 0 or cov.policies > 0 or cov.roles > 0 or cov.paths_read > 0
        notes = coverage_notes(cov, self.options, len(creds), anything)
        return CredentialResult(credentials=tuple(creds), violations=tuple(violations), skipped=tuple(cov.skips),
                                notes=tuple(notes), scanned_anything=anything)

    # ------------------------------------------------------------------ KV

    def _all_mounts(self, cov: Coverage) -> dict[str, _Mount] | None:
        for url in ("/v1/sys/mounts", "/v1/sys/internal/ui/mounts"):
            try:
                data = self._req("GET", url)
            except Exception as exc:  # noqa: BLE001
                if error_kind(exc) == "forbidden":
                    continue
                cov.skip(url.removeprefix("/v1/"), exc)
                return None
            table = data.get("data") or data
            if isinstance(table, dict) and isinstance(table.get("secret"), dict):
                table = table["secret"]
            out = {}
            for path, info in (table or {}).items():
                if not isinstance(info, dict) or info.get("type") not in ("kv", "generic"):
                    continue
                version = str((info.get("options") or {}).get("version") or "1")
                out[path if path.endswith("/") else path + "/"] = _Mount(path, 2 if version == "2" else 1)
            return out
        cov.skip("sys/mounts", reason="forbidden",
                 detail="cannot list secrets engines (sys/mounts and sys/internal/ui/mounts denied); "
                        "name the mounts with --mount")
        return None

    def _mount_info(self, name: str, cov: Coverage) -> _Mount | None:
        path = name.strip("/") + "/"
        try:
            data = self._req("GET", f"/v1/sys/internal/ui/mounts/{path}")
            info = data.get("data") or {}
            version = str((info.get("options") or {}).get("version") or "1")
            if info.get("type") not in ("kv", "generic"):
                cov.skip(path, reason="not-kv", detail=f"{path} is a {info.get('type')} engine, not KV")
                return None
            return _Mount(info.get("path") or path, 2 if version == "2" else 1)
        except Exception as exc:  # noqa: BLE001
            cov.skip(path, exc)
            return None

    def _kv_mounts(self, cov: Coverage) -> list[tuple[_Mount, list[str]]]:
        """The KV mounts to walk, each with the prefixes to walk under it."""
        wanted_mounts = [m.strip("/") + "/" for m in self.options.mounts]
        wanted_paths = [p.strip("/") for p in self.options.paths]
        known = self._all_mounts(cov) if not (wanted_mounts and not wanted_paths) else None
        selected: dict[str, tuple[_Mount, list[str]]] = {}

        def mount_for(name: str) -> _Mount | None:
            if known is not None:
                return known.get(name)
            return self._mount_info(name, cov)

        for name in wanted_mounts:
            m = mount_for(name)
            if m is None:
                if known is not None:
                    cov.skip(name, reason="not-found", detail=f"{name} is not a KV mount on this server")
                continue
            selected[m.path] = (m, [""])
        for p in wanted_paths:
            if known is not None:
                cands = sorted((k for k in known if (p + "/").startswith(k)), key=len, reverse=True)
                m = known[cands[0]] if cands else None
            else:
                m = mount_for(p.split("/", 1)[0] + "/")
            if m is None:
                cov.skip(p, reason="not-found", detail=f"no KV mount holds {p}")
                continue
            rest = p[len(m.path):] if (p + "/").startswith(m.path) else ""
            entry = selected.setdefault(m.path, (m, []))
            if "" not in entry[1]:
                entry[1].append(rest)
        if not wanted_mounts and not wanted_paths and known is not None:
            for m in known.values():
                selected[m.path] = (m, [""])
        return sorted(selected.values(), key=lambda e: e[0].path)

    def _list(self, mount: _Mount, folder: str) -> list[str]:
        """Every key of one folder, page by page where the server paginates (OpenBao ``after``/``limit``)."""
        base = f"/v1/{mount.path}metadata/{folder}" if mount.version == 2 else f"/v1/{mount.path}{folder}"
        keys: list[str] = []
        seen: set[str] = set()
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": self.options.page_size}
            if after is not None:
                params["after"] = after
            page = (self._req("LIST", base, params=params).get("data") or {}).get("keys") or []
            fresh = [k for k in page if k not in seen]
            keys.extend(fresh)
            seen.update(fresh)
            # A server without pagination ignores the parameters and returns everything (then nothing is fresh).
            if len(page) < self.options.page_size or not fresh:
                return keys
            after = page[-1]

    def _scan_mount(self, mount: _Mount, prefixes: list[str], classifier: Classifier, hasher: SecretHasher,
                    cov: Coverage, now: datetime) -> list[Credential]:
        leaves: list[str] = []
        frontier: list[str] = []
        for p in prefixes:
            frontier.append(p.rstrip("/") + "/" if p else "")
        walked_ok = False

        def list_one(folder: str) -> tuple[str, list[str] | None, BaseException | None]:
            try:
                return folder, self._list(mount, folder), None
            except Exception as exc:  # noqa: BLE001
                return folder, None, exc

        while frontier and len(leaves) < self.options.max_paths:
            nxt: list[str] = []
            for folder, keys, err in self._map(list_one, frontier):
                if err is not None:
                    kind = error_kind(err)
                    if kind == "not-found" and folder and folder.rstrip("/") in (p.rstrip("/") for p in prefixes):
                        leaves.append(folder.rstrip("/"))  # --path names one secret, not a folder
                        continue
                    if kind == "not-found":
                        walked_ok = True  # an empty mount lists as 404
                        continue
                    cov.skip(f"{mount.path}{folder}", err)
                    continue
                walked_ok = True
                cov.add(folders_listed=1)
                for k in keys or []:
                    (nxt if k.endswith("/") else leaves).append(folder + k)
            frontier = nxt
        if len(leaves) >= self.options.max_paths:
            cov.skip(mount.path, reason="truncated", detail=f"stopped after {self.options.max_paths} secret paths")
            leaves = leaves[: self.options.max_paths]
        if walked_ok or leaves:
            with cov.lock:
                cov.mounts.append(f"{mount.path} (kv-v{mount.version})")
        results = self._map(lambda leaf: self._scan_leaf(mount, leaf, classifier, hasher, cov), sorted(set(leaves)))
        return [c for group in results for c in group]

    def _scan_leaf(self, mount: _Mount, leaf: str, classifier: Classifier, hasher: SecretHasher,
                   cov: Coverage) -> list[Credential]:
        location = redact_key(f"{mount.path}{leaf}")  # a secret used as a path segment is shown redacted
        meta: dict[str, Any] = {}
        if mount.version == 2:
            try:
                meta = self._req("GET", f"/v1/{mount.path}metadata/{leaf}").get("data") or {}
                cov.add(paths_read=1)
            except Exception as exc:  # noqa: BLE001
                cov.skip(location, exc)
                if not self.options.read_values:
                    return []
        elif not self.options.read_values:
            cov.add(paths_read=1)  # KV v1 has no metadata: the listing is all there is
        base = kv_credential(mount.path, mount.version, location, meta)
        hinted = classifier.hint(leaf)
        by_name = replace(base, provider=hinted[0], kind=hinted[1]) if hinted else base
        if not self.options.read_values or base.status == "deleted":
            return [by_name]
        values = self._read_values(mount, leaf, cov)
        if values is None:
            return [by_name] if meta else []
        if mount.version == 1:
            cov.add(paths_read=1)
            owner = values.get("owner")
            if isinstance(owner, str) and owner:
                base = replace(base, owner=owner)
        out: list[Credential] = []
        found = [(str(fname), c) for fname, raw in sorted(values.items())
                 for c in classifier.classify(str(fname), raw if isinstance(raw, str) else
                                              json.dumps(raw, sort_keys=True), location)]
        secrets = {c.value for _, c in found}  # a secret used as a field name or path segment is redacted
        location = redact_key(location, secrets)
        for raw_name, c in found:
            fname = redact_key(raw_name, secrets)
            cid = f"vault-kv:{location}#{fname}"
            if any(o.id == cid for o in out):
                cid += f"@{c.rule_id}"
            out.append(replace(base, id=cid, location=f"{location}#{fname}", provider=c.provider, kind=c.kind,
                               rule_id=c.rule_id, secret_hash=hasher.secret_hash(c.value),
                               redacted=redact(c.value, _prefixes(classifier, c.rule_id)),
                               attributes=(*base.attributes, ("field", fname), ("classified_by", c.by))))
        if not out:
            out.append(replace(by_name, owner=base.owner))
        return out

    def _read_values(self, mount: _Mount, leaf: str, cov: Coverage) -> dict[str, Any] | None:
        location = f"{mount.path}{leaf}"
        try:
            if mount.version == 2:
                data = (self._req("GET", f"/v1/{mount.path}data/{leaf}").get("data") or {}).get("data")
            else:
                data = self._req("GET", f"/v1/{mount.path}{leaf}").get("data")
        except Exception as exc:  # noqa: BLE001
            cov.skip(f"{location} (value)", exc)
            return None
        cov.add(values_read=1)
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ tokens

    def _scan_tokens(self, cov: Coverage, now: datetime) -> tuple[list[Credential], list[Violation]]:
        try:
            accessors = (self._req("LIST", "/v1/auth/token/accessors").get("data") or {}).get("keys") or []
        except Exception as exc:  # noqa: BLE001
            if error_kind(exc) == "forbidden":
                cov.tokens_denied = True
                cov.skip("auth/token/accessors", reason="forbidden",
                         detail="the scanner token lacks sudo on auth/token/accessors; token hygiene not covered")
            else:
                cov.skip("auth/token/accessors", exc)
            return [], []

        def look(acc: str) -> tuple[str, dict[str, Any] | None, BaseException | None]:
            try:
                data = self._req("POST", "/v1/auth/token/lookup-accessor", json={"accessor": acc}).get("data")
                return acc, data if isinstance(data, dict) else None, None
            except Exception as exc:  # noqa: BLE001
                return acc, None, exc

        creds: list[Credential] = []
        viol: list[Violation] = []
        for acc, data, err in self._map(look, accessors):
            if err is not None:
                if error_kind(err) == "bad-request":
                    continue  # revoked between list and lookup
                cov.skip(f"auth/token/accessors/{acc}", err)
                continue
            if data is None:
                continue
            data.pop("id", None)  # a lookup never returns the token here, but never keep it
            cov.add(tokens=1)
            cred, vs = token_credential(acc, data)
            creds.append(cred)
            viol.extend(vs)
        return creds, viol

    # ------------------------------------------------------------------ policies

    def _scan_policies(self, cov: Coverage, model_mounts: Sequence[tuple[str, int]]) -> list[Violation]:
        try:
            names = (self._req("LIST", "/v1/sys/policies/acl").get("data") or {}).get("keys") or []
        except Exception as exc:  # noqa: BLE001
            cov.skip("sys/policies/acl", exc)
            return []

        def read(name: str) -> tuple[str, str | None, BaseException | None]:
            try:
                data = self._req("GET", f"/v1/sys/policies/acl/{name}").get("data") or {}
                return name, str(data.get("policy") or ""), None
            except Exception as exc:  # noqa: BLE001
                return name, None, exc

        out: list[Violation] = []
        for name, text, err in self._map(read, [n for n in names if n != "root"]):
            if err is not None:
                cov.skip(f"sys/policies/acl/{name}", err)
                continue
            cov.add(policies=1)
            out.extend(check_policy(name, text or "", model_mounts))
        return out

    # ------------------------------------------------------------------ auth methods

    def _scan_approles(self, cov: Coverage, policy: Policy) -> list[Violation]:
        try:
            methods = self._req("GET", "/v1/sys/auth").get("data") or {}
        except Exception as exc:  # noqa: BLE001
            cov.skip("sys/auth", exc)
            return []
        out: list[Violation] = []
        max_ttl = policy.defaults.max_age_days * 86400
        for path, info in sorted(methods.items()):
            if not isinstance(info, dict) or info.get("type") != "approle":
                continue
            mount = path.strip("/")
            try:
                roles = (self._req("LIST", f"/v1/auth/{mount}/role").get("data") or {}).get("keys") or []
            except Exception as exc:  # noqa: BLE001
                if error_kind(exc) != "not-found":
                    cov.skip(f"auth/{mount}/role", exc)
                continue

            def read(role: str, mount: str = mount) -> tuple[str, dict[str, Any] | None, BaseException | None]:
                try:
                    return role, self._req("GET", f"/v1/auth/{mount}/role/{role}").get("data") or {}, None
                except Exception as exc:  # noqa: BLE001
                    return role, None, exc

            for role, data, err in self._map(read, roles):
                if err is not None or data is None:
                    cov.skip(f"auth/{mount}/role/{role}", err)
                    continue
                cov.add(roles=1)
                out.extend(approle_violations(f"vault-approle:{mount}/{role}", data, max_ttl))
        return out


def _prefixes(classifier: Classifier, rule_id: str | None) -> tuple[str, ...]:
    """The public prefixes of the rule that classified a value (none for a name hint)."""
    rule = classifier.rules.get(rule_id) if rule_id else None
    return public_prefixes(rule) if rule is not None else ()
