"""The trust boundary for settings: what the operator may set, what the scanned tree may set, and the report of
every weakening the tree made. Enforced here and nowhere else (see SECURITY.md).

Operator (trusted): the command line, an explicit ``--config FILE``, the environment (``CREDSWEEP_HASH_KEY``),
``--rules DIR``, ``--ignore-file``. Scanned tree (attacker-writable): a ``.credsweep.toml`` or
``[tool.credsweep]`` found by search near the target (or in the working directory), the ignore file found in the
target, inline ``credsweep:allow`` markers and rule folders the tree's settings name.

What the tree may do: exclude paths, restrict or disable rules, change severities and ``fail_on``, turn structure
parsing off, add rules and hide findings by ignore entries or markers, and every one of those is reported in every
format. What it may never do: choose the hash key (``hash_key_env``), replace a built-in or operator rule, make a
rule send a key anywhere (its ``verify:`` blocks are dropped). ``--no-repo-config`` reads nothing from the tree.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner import config as config_mod
from scanner.config import IGNORE_FILE, ScanConfig
from scanner.detect import ruleset
from scanner.detect.ruleset import RuleSet
from scanner.errors import ConfigError
from scanner.model import Finding, Severity, TreeSettings, Weakening
from scanner.redact import HASH_KEY_ENV, SecretHasher

EXCLUDED_EVERYTHING = "the exclude settings excluded every file: nothing was scanned"


def clean(text: str) -> str:
    """Tree-written text made safe to print: control and bidi characters shown as escapes."""
    out = []
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or 0x200E <= o <= 0x200F or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _list(items: Iterable[str]) -> str:
    return ", ".join(clean(i) for i in items)


# --------------------------------------------------------------------------- settings


def _tree_weakenings(tree: ScanConfig, origin: str, table_keys: set[str], cli_fail_on: bool) -> list[Weakening]:
    """What a tree settings file changes, before any count is known."""
    w: list[Weakening] = []
    if tree.exclude:
        w.append(Weakening(kind="exclude", source=origin, items=tree.exclude,
                           detail=f"excludes paths matching {_list(tree.exclude)}"))
    if tree.only_rules:
        w.append(Weakening(kind="only_rules", source=origin, items=tree.only_rules,
                           detail=f"runs only the rules {_list(tree.only_rules)}"))
    if tree.disable_rules:
        w.append(Weakening(kind="disable_rules", source=origin, items=tree.disable_rules,
                           detail=f"disables the rules {_list(tree.disable_rules)}"))
    if tree.severity_overrides:
        pairs = tuple(f"{k}={v.label}" for k, v in sorted(tree.severity_overrides.items()))
        w.append(Weakening(kind="severity", source=origin, items=pairs,
                           detail=f"changes the severity of {_list(pairs)}"))
    if "fail_on" in table_keys and tree.fail_on != Severity.LOW and not cli_fail_on:
        w.append(Weakening(kind="fail_on", source=origin, items=(tree.fail_on.label,),
                           detail=f"fails only on {tree.fail_on.label} and above"))
    if not tree.structure:
        w.append(Weakening(kind="structure", source=origin, detail="turns structure parsing of configuration files off"))
    if tree.rule_dirs:
        dirs = tuple(str(d) for d in tree.rule_dirs)
        w.append(Weakening(kind="rules", source=origin, items=dirs,
                           detail=f"adds rules from {_list(dirs)} (they cannot verify or replace a rule)"))
    if tree.ignore_file is not None:
        w.append(Weakening(kind="ignore_file", source=origin, items=(str(tree.ignore_file),),
                           detail=f"names the ignore file {clean(str(tree.ignore_file))}"))
    if tree.policy_file is not None:
        w.append(Weakening(kind="policy", source=origin, items=(str(tree.policy_file),),
                           detail=f"names the hygiene policy {clean(str(tree.policy_file))}"))
    if tree.hash_key_env is not None:
        w.append(Weakening(kind="hash_key_env_refused", source=origin, items=(clean(str(tree.hash_key_env)),),
                           detail="sets hash_key_env: refused (the hash key is the operator's choice only)"))
    return w


def _table_keys(path: Path) -> set[str]:
    try:
        import tomllib

        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, ValueError):
        return set()
    table = doc.get("tool", {}).get("credsweep", {}) if path.name == "pyproject.toml" else doc
    return set(table) if isinstance(table, dict) else set()


def load_settings(config_file: Path | None, target: Path | None, *, no_repo_config: bool = False,
                  verify_custom_rules: bool = False, **overrides: Any) -> ScanConfig:
    """Settings for one run: the operator's (explicit file, command line) and, unless ``no_repo_config``, the
    tree's file found near the target, tagged as such and stripped of what the tree may not set."""
    rule_dirs = overrides.pop("rule_dirs", ()) or ()
    exclude = overrides.pop("exclude", ()) or ()
    no_structure = overrides.pop("no_structure", False)
    fail_on = overrides.pop("fail_on", None)
    if config_file is not None:
        cfg = config_mod.load(config_file)  # operator-chosen: every setting allowed
    else:
        found = config_mod.find(target)
        if found is None:
            cfg = ScanConfig()
        elif no_repo_config:
            cfg = ScanConfig(tree=TreeSettings(disregarded=(found[1],)))
        else:
            tree = config_mod.load(None, target)
            origin = tree.origin or found[1]
            weak = _tree_weakenings(tree, origin, _table_keys(found[0]), fail_on is not None)
            cfg = replace(tree, rule_dirs=(), tree_rule_dirs=tree.rule_dirs, hash_key_env=None,
                          tree_ignore_file=tree.ignore_file is not None,
                          tree=TreeSettings(files=(origin,), weakenings=tuple(weak)))
    cfg = replace(cfg, no_repo_config=no_repo_config, verify_custom_rules=verify_custom_rules)
    return cfg.with_overrides(
        rule_dirs=cfg.rule_dirs + tuple(rule_dirs) if rule_dirs else None,
        exclude=cfg.exclude + tuple(exclude) if exclude else None,
        structure=False if no_structure else None,
        fail_on=Severity.parse(fail_on) if fail_on else None,
        **overrides,
    )


def hasher_for(config: ScanConfig) -> SecretHasher:
    """The operator's hash key. A named variable that is unset is an error, never the public default key."""
    name = config.hash_key_env
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{config.origin or 'settings'}: 'hash_key_env' names an environment variable")
        if not os.environ.get(name):
            raise ConfigError(f"{config.origin or 'settings'}: hash_key_env names {name}, which is not set "
                              f"(set it, or remove the setting to use {HASH_KEY_ENV}); credsweep never falls "
                              "back to the public default key when a key is asked for")
    return SecretHasher.from_env(name)


# --------------------------------------------------------------------------- rules


def _check_known(names: Sequence[str], ids: Iterable[str], what: str, source: str) -> None:
    ids = list(ids)
    for n in names:
        if not any(i == n or i.startswith(n) for i in ids):
            raise ConfigError(f"{source}: {what}: unknown rule id or prefix {clean(n)!r} (matches no rule; "
                              "`credsweep rules list` shows the ids)")


def admit_rules(config: ScanConfig) -> tuple[RuleSet, tuple[Weakening, ...], tuple[str, ...]]:
    """Built-in rules, then the operator's ``--rules`` (may replace a built-in; may verify only with
    ``--verify-custom-rules``), then the tree's rule folders (never replace, never verify); then only/disable."""
    rs = ruleset.load_builtin()
    weak: list[Weakening] = []
    notes: list[str] = []
    for d in config.rule_dirs:
        extra = ruleset.load_dir(Path(d))
        if not config.verify_custom_rules:
            stripped = [r.id for r in extra if r.verify is not None]
            if stripped:
                extra = RuleSet(tuple(replace(r, verify=None) if r.verify is not None else r for r in extra))
                notes.append(f"verify blocks of rules from {clean(str(d))} ({_list(stripped)}) are not used: only "
                             "credsweep's own rules verify unless you pass --verify-custom-rules")
        rs = rs.merged(extra)
    origin = (config.tree.files[0] if config.tree and config.tree.files else "the scanned tree's settings")
    for d in config.tree_rule_dirs:
        try:
            extra = ruleset.load_dir(Path(d))
        except ruleset.RuleError as exc:
            raise ConfigError(f"{origin}: rules: {exc}") from None
        known = {r.id for r in rs}
        spaces = {r.id.split(".", 1)[0] for r in rs}  # a same-namespace rule could take over findings (drop_shadowed)
        kept = []
        for r in extra:
            where = clean(f"{origin} -> {r.origin}")
            if r.id in known:
                weak.append(Weakening(kind="rule_shadowed", source=where, items=(r.id,),
                                      detail=f"rule {r.id} in {clean(r.origin)} reuses the id of a credsweep or "
                                             "operator rule: refused, that rule is used"))
                continue
            if r.id.split(".", 1)[0] in spaces:
                weak.append(Weakening(kind="rule_shadowed", source=where, items=(r.id,),
                                      detail=f"rule {r.id} in {clean(r.origin)} uses the namespace of credsweep's "
                                             "or the operator's rules: refused"))
                continue
            if r.verify is not None:
                weak.append(Weakening(kind="verify_refused", source=where, items=(r.id,),
                                      detail=f"rule {r.id} in {clean(r.origin)} has a verify block: refused, "
                                             "it never sends a key"))
                r = replace(r, verify=None)
            kept.append(r)
        rs = RuleSet(rs.rules + tuple(kept))
    ids = [r.id for r in rs]
    label = config.origin or "--config"
    src = origin if config.tree and config.tree.files else label
    _check_known(config.only_rules, ids, "only_rules", src)
    _check_known(config.disable_rules, ids, "disable_rules", src)
    if config.only_rules:
        rs = rs.only(config.only_rules)
    if config.disable_rules:
        rs = RuleSet(tuple(r for r in rs if not any(r.id == d or r.id.startswith(d) for d in config.disable_rules)))
    return rs, tuple(weak), tuple(notes)


# --------------------------------------------------------------------------- what the tree hid


def ignore_file_is_tree(explicit: Path | None, config: ScanConfig) -> bool:
    """An ignore file is the operator's only when given with --ignore-file or named by the operator's --config."""
    if explicit is not None:
        return False
    return config.ignore_file is None or config.tree_ignore_file


def tree_ignore_candidates(root: Path | None) -> list[Path]:
    """Ignore files a search would find in the tree (for the --no-repo-config report)."""
    out = []
    if root is not None:
        cand = (root if root.is_dir() else root.parent) / IGNORE_FILE
        if cand.is_file():
            out.append(cand)
    if Path(IGNORE_FILE).is_file():
        out.append(Path(IGNORE_FILE))
    return out


def count_excluded(targets: Sequence[str], patterns: Sequence[str]) -> int:
    """Files under the targets that the patterns exclude (working tree only; history is not walked)."""
    from scanner.sources.files import DEPENDENCY_DIRS, SKIP_DIRS, _excluded

    if not patterns:
        return 0
    n = 0
    for t in targets:
        root = Path(t)
        if root.is_file():
            n += _excluded(root.name, patterns)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and d not in DEPENDENCY_DIRS]
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            n += sum(1 for fn in filenames if _excluded(rel_dir + fn, patterns))
    return n


def finish(base: TreeSettings | None, rule_weak: Sequence[Weakening], findings: Sequence[Finding],
           targets: Sequence[str], ignore_source: str | None, default_key: bool) -> TreeSettings | None:
    """The tree's settings with counts: files excluded, findings hidden by its ignore entries and markers."""
    weak: list[Weakening] = []
    for w in (base.weakenings if base else ()):
        if w.kind == "exclude":
            n = count_excluded(targets, w.items)
            w = replace(w, count=n, detail=f"excludes {n} file(s) matching {_list(w.items)}")
        weak.append(w)
    weak.extend(rule_weak)
    status = Counter(f.status for f in findings)
    if ignore_source is not None and status["ignored"]:
        n = status["ignored"]
        key = " made with the public default hash key (anyone can compute them)" if default_key else ""
        weak.append(Weakening(kind="ignore_entries", source=ignore_source, count=n,
                              detail=f"hides {n} finding(s) by ignore entries{key}"))
    if status["allowed"]:
        n = status["allowed"]
        weak.append(Weakening(kind="inline_allow", source="credsweep:allow markers in scanned files", count=n,
                              detail=f"hides {n} finding(s) by inline credsweep:allow markers"))
    disregarded = base.disregarded if base else ()
    if not weak and not disregarded and not (base and base.files):
        return None
    files = base.files if base else ()
    if ignore_source is not None and status["ignored"] and ignore_source not in files:
        files = (*files, ignore_source)
    return TreeSettings(files=files, weakenings=tuple(weak), disregarded=disregarded, default_hash_key=default_key)


def summary_line(tree: TreeSettings) -> str:
    """The one text line: which tree settings applied and what they changed."""
    if not tree.weakenings and tree.disregarded:
        return f"Settings from the scanned tree: not read (--no-repo-config): {_list(tree.disregarded)}."
    parts = [w.detail for w in tree.weakenings] or ["no change"]
    where = _list(tree.files) or "inline markers"
    body = "; ".join(parts)
    line = f"Settings from the scanned tree ({where}): {body}" + ("" if body.endswith(".") else ".")
    if tree.disregarded:
        line += f" Not read (--no-repo-config): {_list(tree.disregarded)}."
    return line
