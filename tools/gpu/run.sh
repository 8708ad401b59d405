#!/usr/bin/env bash
# GPU checks and benchmarks of the CUDA backend on a GPU host without a JDK.
#
#   here (with a JDK):   tools/gpu/run.sh pack            # builds the CLI jar, packs it + a Java 25 runtime in .device/
#   copy the tree (with .device/) to the GPU host, then:
#                        tools/gpu/run.sh check OUT        # kernels vs CPU reference + kernel throughput -> OUT/*.json
#                        tools/gpu/run.sh e2e OUT [LAYERS] # synthetic Llama-3-8B-shaped model: int4/fp8 on the GPU vs
#                                                          # the CPU and vs plain read+write of the same bytes; int4
#                                                          # also as two bands (AO4J_CUDA_DEVICES=0,0, or 0,1 when
#                                                          # there are two GPUs), which must give the same bytes;
#                                                          # then bench-pipeline --device cuda --cold per overlap mode
#                        tools/gpu/run.sh all OUT [LAYERS] # check (at most CHECK_TIMEOUT s, default 120), then e2e
#                                                          # with the CPU pipeline bench on fp8dq-row only
# Builds on ../shared/tools/device-java (the runtime packer) when present.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cmd=${1:-help}
java() { bash "$top/.device/java" -XX:+UseParallelGC "$@"; }
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
case "$cmd" in
pack)
  packer=${DEVICE_JAVA:-$top/../shared/tools/device-java}
  . "$top/tools/find-jdk.sh"; ao4j_find_jdk || exit 3; export JAVA_HOME="$AO4J_JAVA_HOME" DEVICE_JDK="$AO4J_JAVA_HOME"
  (cd "$top" && MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow ./mvnw -q -B -o install -DskipTests \
     -pl shared-quant,transformers-config,cli)
  (cd "$top" && bash "$packer" pack cli/target/ao4j.jar)
  # the backend uses JCuda's driver API only: drop the runtime, NVRTC and PTX-compiler natives (about 9 MB packed)
  if command -v zip > /dev/null; then
    zip -q -d "$top/.device/lib/ao4j.jar" 'lib/libJNvPTXCompiler*' 'lib/libJCudaRuntime*' 'lib/libJNvrtc*' || true
  else
    echo "zip not found: the JCuda natives the backend does not use stay in .device/lib/ao4j.jar" >&2
  fi
  ;;
check)
  out=${2:?output dir}; mkdir -p "$out"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv" || true
  java -cp "$top/.device/lib/ao4j.jar" dev.ao4j.quant.cuda.CudaSelfCheck --bench-gib "${BENCH_GIB:-1}" \
    --golden "$top/shared-quant/src/test/resources/golden" --out "$out/cuda-selfcheck.json" > /dev/null
  ;;
e2e)
  out=${2:?output dir}; layers=${3:-32}; work=${WORK:-/tmp/ao4j-e2e}; mkdir -p "$out"
  rm -rf "$work"; mkdir -p "$work"
  log="$out/e2e.txt"
  # CPU pipeline timings (and the synthetic checkpoint, kept in $work/synthetic)
  bench_recipes=()
  for r in ${BENCH_RECIPES:-int4wo-128 fp8dq-row}; do bench_recipes+=(--recipe "$r"); done
  java -jar "$top/.device/lib/ao4j.jar" bench-pipeline --layers "$layers" --work-dir "$work" \
    "${bench_recipes[@]}" > "$log"
  src="$work/synthetic"
  bytes=$(du -sb "$src" | cut -f1)
  echo "# source $bytes bytes, $(nproc) cpus" >> "$log"
  t() { local s=$(date +%s%N); "$@"; local e=$(date +%s%N); printf '%d.%02d\n' $(( (e - s) / 1000000000 )) $(( (e - s) / 10000000 % 100 )); }
  sec=$(t bash -c "cat $src/*.safetensors > /dev/null"); echo "read only: $sec s" >> "$log"
  sec=$(t bash -c "cp -r $src $work/copy && sync"); echo "read+write (cp -r): $sec s" >> "$log"; rm -rf "$work/copy"
  gpus=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
  bands=$([ "$gpus" -ge 2 ] && echo 0,1 || echo 0,0)
  quantize() (  # recipe, device (cuda2: two bands on the devices in $bands); a subshell, for the export
    local dev=$2
    [ "$dev" = cuda2 ] && { dev=cuda; export AO4J_CUDA_DEVICES="$bands"; }
    java -jar "$top/.device/lib/ao4j.jar" quantize "$src" --recipe "$1" --device "$dev" \
      --out "$work/q-$1-$2" --no-error-report --quiet --force >> "$out/e2e-stderr.txt" 2>&1 \
      || echo "quantize $1 --device $2: exit $?" >> "$log"
  )
  same() {  # two packages with the same safetensors bytes (and some)
    local a b
    a=$(cd "$1" 2>/dev/null && ls *.safetensors 2>/dev/null) b=$(cd "$2" 2>/dev/null && ls *.safetensors 2>/dev/null)
    [ -n "$a" ] && [ "$a" = "$b" ] && cmp -s <(cd "$1" && cat $a) <(cd "$2" && cat $b)
  }
  for r in int4wo-128 fp8dq-row; do
    devices="cuda cpu"; [ "$r" = int4wo-128 ] && devices="cuda cuda2 cpu"
    for d in $devices; do
      sec=$(t quantize "$r" "$d"); syn=$(t sync)
      echo "quantize $r --device $d: $sec s, then sync $syn s ($(du -sb "$work/q-$r-$d" | cut -f1) bytes out)" >> "$log"
    done
    for d in $devices; do
      [ "$d" = cpu ] && continue
      if same "$work/q-$r-$d" "$work/q-$r-cpu"; then
        echo "$r: $d and cpu packages byte-identical" >> "$log"
      else
        echo "$r: $d and cpu packages DIFFER (or one is missing)" >> "$log"
      fi
      rm -rf "$work/q-$r-$d"
    done
    rm -rf "$work/q-$r-cpu"
  done
  echo "cuda2 ran as two bands on devices $bands ($gpus GPU(s) here)" >> "$log"
  # the GPU pipeline's time and peak anonymous memory per overlap mode, from a cold page cache (read-ahead matters)
  java -jar "$top/.device/lib/ao4j.jar" bench-pipeline --model "$src" --device cuda --cold \
    --recipe int4wo-128 --recipe fp8dq-row --overlap serial --overlap write-behind-no-read-ahead \
    --overlap write-behind --work-dir "$work/bench-gpu" >> "$log" 2>> "$out/e2e-stderr.txt" || echo "bench-pipeline --device cuda: exit $?" >> "$log"
  # output buffers are native memory the JVM frees when it collects them, which it does when direct memory reaches
  # -XX:MaxDirectMemorySize (by default the max heap, a quarter of RAM): the same runs under a 4 GiB cap
  echo "# with -XX:MaxDirectMemorySize=4g" >> "$log"
  java -XX:MaxDirectMemorySize=4g -jar "$top/.device/lib/ao4j.jar" bench-pipeline --model "$src" --device cuda \
    --cold --recipe int4wo-128 --recipe fp8dq-row --overlap serial --overlap write-behind \
    --work-dir "$work/bench-gpu" >> "$log" 2>> "$out/e2e-stderr.txt" || echo "bench-pipeline 4g cap: exit $?" >> "$log"
  cat "$log"
  ;;
all)
  out=${2:?output dir}; mkdir -p "$out"
  timeout "${CHECK_TIMEOUT:-120}" bash "$0" check "$out" || echo "check: exit $?" >> "$out/status.txt"
  BENCH_RECIPES=${BENCH_RECIPES:-fp8dq-row} bash "$0" e2e "$out" "${3:-32}" || echo "e2e: exit $?" >> "$out/status.txt"
  ;;
*)
  sed -n '2,12p' "$0"; exit 0 ;;
esac
