#!/usr/bin/env bash
# Mutation testing of the security-critical modules with mutmut 3 (configuration: [tool.mutmut] in pyproject.toml;
# what and why: bench/mutation/README.md). Slow (tens of minutes on 2 cores), so not part of .ci/run.
#   bash bench/mutation/run.sh            # run (results are cached in mutants/ between runs) and summarise
#   bash bench/mutation/run.sh --fresh    # throw the cached mutants and results away first
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${1:-}" = "--fresh" ] && rm -rf mutants
python -c "import mutmut" 2>/dev/null || pip install -q 'mutmut>=3.8,<4'
mapfile -t patterns < <(python bench/mutation/summary.py --patterns)
start=$SECONDS
mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "${patterns[@]}" \
  | tr '\r' '\n' | { grep -v -e '^ *$' -e '🎉' -e '⠋' -e '⠙' -e '⠹' -e '⠸' -e '⠼' -e '⠴' -e '⠦' -e '⠧' -e '⠇' -e '⠏' || true; }
echo "mutmut run took $((SECONDS - start)) s"
python bench/mutation/summary.py
