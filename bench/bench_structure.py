"""Structure-pass benchmark: throughput of `credsweep scan files` with and without `--no-structure`.

    python bench/bench_structure.py [--repeat 3] [--jobs 1]      # writes bench/results-structure.json

Corpus: unpacked wheels of popular AI SDKs from PyPI (bench/corpus.py real_corpus: openai, anthropic,
huggingface_hub, litellm, langchain-core, boto3, botocore, ...), downloaded once into bench/.work. Budget: the
structure pass may cost at most 20 % of throughput. Also reports how many files each stage touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_corpus  # noqa: E402

from scanner.structure import format_of, worth_parsing  # noqa: E402

HERE = Path(__file__).resolve().parent


def _run(target: Path, out: Path, jobs: int, *extra: str) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system of the child: steadier on a shared machine), result."""
    cmd = [sys.executable, "-m", "scanner", "scan", "files", str(target), "--format", "json", "--output", str(out),
           "--jobs", str(jobs), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, check=False)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"credsweep failed ({proc.returncode}): {proc.stderr[-500:]}")
    return seconds, cpu, json.loads(out.read_text())


def _census(root: Path) -> dict[str, int]:
    files = config = gated = 0
    nbytes = 0
    for p in root.rglob("*"):
        if not p.is_file():
            continue
        files += 1
        size = p.stat().st_size
        nbytes += size
        rel = str(p.relative_to(root))
        fmt = format_of(rel)
        if fmt is None:
            continue
        config += 1
        if size <= 1 << 20 and worth_parsing(p.read_bytes(), fmt):
            gated += 1
    return {"files": files, "bytes": nbytes, "configuration_files": config, "parsed_files": gated}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="credsweep --jobs (1 isolates the per-file cost)")
    ap.add_argument("--work", type=Path, default=HERE / ".work")
    args = ap.parse_args()
    corpus = real_corpus(args.work)
    census = _census(corpus)
    out = args.work / "structure-run.json"
    # warm the hyperscan cache and the page cache once
    _run(corpus, out, args.jobs, "--no-structure")
    times: dict[str, list[float]] = {"text-only": [], "structure": []}
    cpu: dict[str, list[float]] = {"text-only": [], "structure": []}
    docs: dict[str, dict] = {}
    for _ in range(args.repeat):  # interleaved, so drift on the machine hits both sides alike
        for label, extra in (("text-only", ["--no-structure"]), ("structure", [])):
            seconds, cpu_seconds, doc = _run(corpus, out, args.jobs, *extra)
            times[label].append(seconds)
            cpu[label].append(cpu_seconds)
            docs[label] = doc
    med = {k: statistics.median(v) for k, v in times.items()}
    best_cpu = {k: min(v) for k, v in cpu.items()}
    mb = census["bytes"] / (1 << 20)
    cost = (best_cpu["structure"] - best_cpu["text-only"]) / best_cpu["text-only"] * 100
    wall_cost = (min(times["structure"]) - min(times["text-only"])) / min(times["text-only"]) * 100
    skipped = [s for s in docs["structure"]["skipped"] if s["reason"] in ("parse-error", "structure-skipped")]
    result = {
        "corpus": str(corpus), **census, "jobs": args.jobs, "repeat": args.repeat,
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "seconds": times, "median_seconds": med, "cpu_seconds": cpu, "best_cpu_seconds": best_cpu,
        "mb_per_cpu_second": {k: round(mb / v, 1) for k, v in best_cpu.items()},
        "mb_per_second": {k: round(mb / min(v), 1) for k, v in times.items()},
        "structure_cost_percent": round(cost, 1), "structure_cost_percent_wall": round(wall_cost, 1),
        "budget_percent": 20, "within_budget": cost <= 20,
        "findings": {k: d["summary"]["findings"] for k, d in docs.items()},
        "references": docs["structure"]["summary"]["references"],
        "structure_skips": {r: sum(1 for s in skipped if s["reason"] == r) for r in ("parse-error", "structure-skipped")},
    }
    (HERE / "results-structure.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("files", "configuration_files", "parsed_files", "best_cpu_seconds",
                                              "mb_per_cpu_second", "mb_per_second", "structure_cost_percent",
                                              "structure_cost_percent_wall", "findings", "references",
                                              "structure_skips")}, indent=2))
    return 0 if cost <= 20 else 1


if __name__ == "__main__":
    raise SystemExit(main())
