"""The mutant selection of bench/mutation/run.sh and its survival figure per module, from mutmut's results.

``python bench/mutation/summary.py --patterns`` prints the mutant name patterns ``mutmut run`` takes;
``python bench/mutation/summary.py`` (after a run) prints killed / surviving / equivalent per module, the
survival figure with the listed equivalent mutants left out, and every surviving mutant that is not listed.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"

# module -> mutant name patterns (mutmut names a mutant MODULE.x_FUNCTION__mutmut_N, methods xǁCLASSǁMETHOD)
SELECTION: dict[str, tuple[str, ...]] = {
    "scanner/redact.py": ("scanner.redact.*",),
    "scanner/report/suppress.py": ("scanner.report.suppress.*",),
    "scanner/commands/_common.py": ("scanner.commands._common.x_exit_code__mutmut_*",),
    "scanner/detect/filters.py": ("scanner.detect.filters.*",),
    "scanner/hygiene/correlate.py": ("scanner.hygiene.correlate.*",),
    "scanner/verify/verifier.py": tuple(f"scanner.verify.verifier.{f}__mutmut_*" for f in (
        "x__is_loopback", "x_parse_overrides", "x_parse_hosts", "x_options_from", "x__target_url",
        "xǁVerifierǁ_job")),
    "scanner/detect/verifyspec.py": ("scanner.detect.verifyspec.x__check_url__mutmut_*",),
}

# Surviving mutants that behave exactly like the original; the reason is in bench/mutation/README.md.
EQUIVALENT: dict[str, str] = {
    "scanner.report.suppress.x_load_baseline__mutmut_3": 'read_text(encoding=None): UTF-8 under the UTF-8 locale CI runs in',
    "scanner.report.suppress.x_load_baseline__mutmut_5": 'encoding="UTF-8": the same codec as "utf-8"',
    "scanner.detect.filters.x__is_sequential__mutmut_8": "seq * 5: a body in seq*5 but not seq*4 is longer than 3 runs, "
                                                  "so it holds an 8-character window and the next test says True",
    "scanner.detect.filters.x_is_lock_file__mutmut_5": 'rsplit("/") without maxsplit: [-1] is the same last part',
    "scanner.detect.filters.x_is_lock_file__mutmut_8": 'rsplit("/", 2): [-1] is the same last part',
    "scanner.detect.verifyspec.x__check_url__mutmut_32": "replace every {host}: a second {host} is in the path, query or "
                                                  "fragment, which the same condition's second half reports",
    "scanner.detect.verifyspec.x__check_url__mutmut_33": "{host} replaced by XXXX instead of '': neither leaves a '{'",
    "scanner.detect.verifyspec.x__check_url__mutmut_34": "replace two {host}: as _32",
    "scanner.verify.verifier.xǁVerifierǁ_job__mutmut_17": "replace every {host}: a valid spec has one (verifyspec)",
    "scanner.verify.verifier.xǁVerifierǁ_job__mutmut_27": "replace two {host}: as _17",
    "scanner.verify.verifier.xǁVerifierǁ_job__mutmut_25": "hosts.get('XXXX'): parse_hosts lower-cases keys, so no key is XXXX",
    "scanner.verify.verifier.xǁVerifierǁ_job__mutmut_26": "default 'XXXX' for a missing user host: _target_url already "
                                                 "returned None for a {host} rule without one; other URLs hold no {host}",
}

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # killed by a test, or by the timeout / type check


def patterns() -> list[str]:
    return [p for pats in SELECTION.values() for p in pats]


def results() -> dict[str, dict[str, int | None]]:
    out: dict[str, dict[str, int | None]] = {}
    for module, pats in SELECTION.items():
        meta = MUTANTS / (module + ".meta")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"] if meta.is_file() else {}
        out[module] = {k: v for k, v in codes.items() if any(fnmatch.fnmatchcase(k, p) for p in pats)}
    return out


def main() -> int:
    if sys.argv[1:] == ["--patterns"]:
        print("\n".join(patterns()))
        return 0
    rows, survivors = [], []
    total = {"mutants": 0, "killed": 0, "equivalent": 0, "surviving": 0, "unchecked": 0}
    for module, codes in results().items():
        killed = sum(1 for c in codes.values() if c in KILLED)
        unchecked = sum(1 for c in codes.values() if c is None)
        alive = [k for k, c in codes.items() if c is not None and c not in KILLED]
        equivalent = [k for k in alive if k in EQUIVALENT]
        surviving = sorted(k for k in alive if k not in EQUIVALENT)
        survivors += surviving
        counted = len(codes) - len(equivalent) - unchecked
        pct = 100.0 * len(surviving) / counted if counted else 0.0
        rows.append((module, len(codes), killed, len(equivalent), len(surviving), unchecked, pct))
        for key, n in zip(total, (len(codes), killed, len(equivalent), len(surviving), unchecked), strict=True):
            total[key] += n
    print(f"{'module':30} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'surviving':>9} {'unchecked':>9} {'surviving %':>11}")
    for module, n, k, e, s, u, pct in rows:
        print(f"{module:30} {n:7} {k:7} {e:7} {s:9} {u:9} {pct:10.1f}%")
    counted = total["mutants"] - total["equivalent"] - total["unchecked"]
    pct = 100.0 * total["surviving"] / counted if counted else 0.0
    print(f"{'total':30} {total['mutants']:7} {total['killed']:7} {total['equivalent']:7} {total['surviving']:9} "
          f"{total['unchecked']:9} {pct:10.1f}%")
    for key in survivors:
        print(f"surviving: {key}  (mutmut show {key})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
