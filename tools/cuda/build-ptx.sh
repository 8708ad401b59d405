#!/usr/bin/env bash
# Compiles every shared-quant/src/main/cuda/*.cu to PTX for sm_80 and sm_90 into the resources the CUDA backend
# loads (dev/ao4j/quant/cuda/<name>.sm_XX.ptx), so that a build without nvcc still has kernels.
#
#   tools/cuda/build-ptx.sh          # regenerate the committed PTX
#   tools/cuda/build-ptx.sh --check  # exit 1 when the committed PTX differs from what the sources compile to
#
# -fmad=false: no fused multiply-add, every float op rounds once like the Java reference it must match.
# NVCC (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc) picks the compiler.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
src="$top/shared-quant/src/main/cuda"
dst="$top/shared-quant/src/main/resources/dev/ao4j/quant/cuda"
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[ -x "$nvcc" ] || { echo "nvcc not found (set NVCC)" >&2; exit 2; }
check=false
[ "${1:-}" = "--check" ] && check=true
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
status=0
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu)
  for sm in 80 90; do
    out="$name.sm_$sm.ptx"
    "$nvcc" -ptx -arch=sm_$sm -O3 -fmad=false -ftz=false -prec-div=true -prec-sqrt=true -o "$tmp/$out" "$cu"
    if $check; then
      if ! cmp -s "$tmp/$out" "$dst/$out"; then
        echo "out of date: $dst/$out (run tools/cuda/build-ptx.sh)" >&2; status=1
      fi
    else
      mkdir -p "$dst"; cp "$tmp/$out" "$dst/$out.tmp"; mv "$dst/$out.tmp" "$dst/$out"; echo "wrote $dst/$out"
    fi
  done
done
if $check; then
  for ptx in "$dst"/*.ptx; do
    [ -e "$ptx" ] || continue
    base=$(basename "$ptx"); [ -f "$src/${base%%.sm_*}.cu" ] || { echo "no source for $ptx" >&2; status=1; }
  done
fi
exit $status
