#!/usr/bin/env bash
# Run every benchmark in turn; each one rewrites its own section of bench/RESULTS.md.
# Usage: bash bench/run_all.sh [name ...]   (default: every bench/*.py not starting with "_",
#        the tracking workloads first).  Uses .venv/bin/python when present, else $PYTHON or python.
# Needs the bench extra: pip install -e '.[bench]'  (MLflow 3 is the reference).
# Run one benchmark at a time on a quiet machine: the figures are wall-clock times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
if [ $# -gt 0 ]; then
    names=("$@")
else
    names=(log_metrics log_batch search_runs import_time memory)
    for f in bench/[!_]*.py; do
        n=$(basename "$f" .py)
        case " ${names[*]} " in *" $n "*) ;; *) names+=("$n") ;; esac
    done
fi
failed=0
for name in "${names[@]}"; do
    echo "== bench/$name.py"
    start=$SECONDS
    if ! "$PY" "bench/$name.py"; then
        echo "!! bench/$name.py failed" >&2
        failed=1
    fi
    echo "== bench/$name.py done in $((SECONDS - start)) s"
done
echo "results: bench/RESULTS.md"
exit $failed
