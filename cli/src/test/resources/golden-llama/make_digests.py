#!/usr/bin/env python3
"""Fingerprint the torchao-written golden tiny Llama packages into digests.json (stdlib only).

usage: make_digests.py [GOLDEN_LLAMA_DIR] [OUT_JSON]
  defaults: /work/shared/golden/llama and digests.json beside this script.

The golden variants were quantized by torchao 0.18 on CUDA and saved by transformers 5.17 save_pretrained from the
bf16 checkpoint copied next to this script (bf16/). Instead of copying their weights (~9 MB) we keep, per variant:
every tensor's dtype, shape and the sha256 of its raw bytes; every safetensors __metadata__ entry (the full strings,
which hold torchao's per-tensor subclass descriptions and 'tensor_names'); config.json's quantization_config, and
the sha256 of the whole config.json as transformers formatted it.
CliGoldenLlamaTest quantizes bf16/ with the ao4j CLI and compares its package against these fingerprints.
"""
import hashlib, json, os, struct, sys

VARIANTS = ["int8wo", "fp8dq_perrow", "8da4w_g32", "int4wo_g128_tile_packed_to_4d"]


def fingerprint(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        metadata = header.pop("__metadata__", {})
        tensors = {}
        for name in sorted(header):
            e = header[name]
            begin, end = e["data_offsets"]
            f.seek(base + begin)
            data = f.read(end - begin)
            if len(data) != end - begin:
                sys.exit(f"{path}: tensor {name} truncated")
            tensors[name] = {"dtype": e["dtype"], "shape": e["shape"], "sha256": hashlib.sha256(data).hexdigest()}
    return tensors, metadata


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    golden = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/golden/llama"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "digests.json")
    result = {}
    for v in VARIANTS:
        d = os.path.join(golden, v)
        files = sorted(x for x in os.listdir(d) if x.endswith(".safetensors"))
        if files != ["model.safetensors"]:
            sys.exit(f"{d}: expected one model.safetensors, found {files}")
        tensors, metadata = fingerprint(os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "config.json"), "rb") as f:
            config_bytes = f.read()
        config = json.loads(config_bytes)
        result[v] = {
            "tensors": tensors,
            "metadata": dict(sorted(metadata.items())),
            "quantization_config": config["quantization_config"],
            "config_json_sha256": hashlib.sha256(config_bytes).hexdigest(),
        }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: " + ", ".join(f"{v} ({len(result[v]['tensors'])} tensors)" for v in VARIANTS))


if __name__ == "__main__":
    main()
