#!/usr/bin/env bash
# Builds the kernel-diff harness: the working tree's quant.cu against the reference kernels of commit 0f941a8 (the
# round-2 kernels, verified bit-exact against the Java reference on an H200; harness.cu launches them with that
# revision's conventions, e.g. 4 threads per int4 group).
#
#   tools/cuda/kernel-diff/build.sh OUT_DIR   # OUT_DIR/kernel-diff (static CUDA runtime: runs on a GPU host with
#                                             # only a driver); then on that host: OUT_DIR/kernel-diff
# CACHED_MIN_BLOCKS / WINDOW_MIN_BLOCKS / SCALE_BLOCKS_PER_THREAD in the environment override quant.cu's tuning knobs for both builds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
rev=0f941a8
out=${1:?output directory}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# the earlier kernels as plain __global__ functions (namespace old in harness.cu), without their includes
git -C "$top" show "$rev:shared-quant/src/main/cuda/quant.cu" \
  | sed -E '/#include/d; s/^extern "C" __global__ void/__global__ void/' \
  | sed -E 's/float lo = __int_as_float\(0x7F800000\), hi = __int_as_float\(0xFF800000\);/float lo = __builtin_huge_valf(), hi = -__builtin_huge_valf();/' \
  > "$tmp/old.cu"
cp "$top/shared-quant/src/main/cuda/quant.cu" "$tmp/quant.cu"
cp "$here/harness.cu" "$tmp/harness.cu"
defs=()
[ -n "${CACHED_MIN_BLOCKS:-}" ] && defs+=(-DCACHED_MIN_BLOCKS="$CACHED_MIN_BLOCKS")
[ -n "${SCALE_BLOCKS_PER_THREAD:-}" ] && defs+=(-DSCALE_BLOCKS_PER_THREAD="$SCALE_BLOCKS_PER_THREAD")
[ -n "${WINDOW_MIN_BLOCKS:-}" ] && defs+=(-DWINDOW_MIN_BLOCKS="$WINDOW_MIN_BLOCKS")
"$nvcc" -arch=sm_90 -O3 -fmad=false -std=c++17 -diag-suppress 177,550,47 "${defs[@]}" -o "$out/kernel-diff" "$tmp/harness.cu"
echo "built $out/kernel-diff (reference kernels from $rev)"
