#!/usr/bin/env bash
# Kernel throughput table for BENCHMARKS.md: each recipe in a fresh JVM (like JMH forks), so one recipe's JIT
# profile does not slow down the next. Usage: tools/bench.sh [ROWS COLS WARMUP RUNS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rows=${1:-4096} cols=${2:-4096} warmup=${3:-10} runs=${4:-7}
first=1
for r in ${AO4J_BENCH_RECIPES:-int4wo-128 int4wo-128-plain int8wo int8dq 8da4w-32 fp8wo fp8dq-row fp8dq-tensor fp8-block128 mxfp8 mxfp4 nvfp4 mxfp6-e2m3 mxfp6-e3m2 sparse24}; do
  out=$("$root/ao4j" bench --rows "$rows" --cols "$cols" --warmup "$warmup" --runs "$runs" --recipe "$r" 2>/dev/null)
  if [ $first = 1 ]; then echo "$out" | head -3; first=0; fi
  echo "$out" | tail -1
done
