#!/usr/bin/env python3
"""Copy the small part of the torchao/transformers golden set that transformers-config's tests read.

usage: python3 tools/extract_golden.py /work/shared/golden src/test/resources/golden

Writes (all derived from real torchao 0.18 / transformers 5.17 output, see the golden README):
  configs.json                 per configs[] entry: name, config_to_dict as json.dumps() text, transformers'
                               quantization_config as json.dumps() text and its sorted indent=2 text
  serialization/<name>.safetensors   torchao flatten_tensor_state_dict files of one Linear 'proj'
  llama/<variant>/config.json  config.json written by save_pretrained
  llama/<variant>/header.json  the safetensors header of model.safetensors (metadata + tensor dtypes/shapes only)
"""
import json, shutil, struct, sys
from pathlib import Path

SERIALIZATION = ["int8wo", "int8dq", "8da4w_g32", "intx_wo_int4_g32", "fp8wo", "fp8dq_perrow",
                 "fp8dq_pertensor", "int4wo_g128_tile_packed_to_4d"]


def main(src: Path, dst: Path):
    m = json.loads((src / "manifest.json").read_text())
    configs = []
    for c in m["configs"]:
        if c.get("status") != "ok":
            continue
        configs.append({
            "name": c["name"],
            "type": c["config_to_dict"]["_type"],
            "config_to_dict": json.dumps(c["config_to_dict"]),
            "transformers_quantization_config": json.dumps(c["transformers_quantization_config"]),
            "transformers_quantization_config_json_sorted": c["transformers_quantization_config_json_sorted"],
        })
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "configs.json").write_text(json.dumps(configs, indent=1) + "\n")
    (dst / "serialization").mkdir(exist_ok=True)
    for name in SERIALIZATION:
        shutil.copyfile(src / "serialization" / f"{name}.safetensors", dst / "serialization" / f"{name}.safetensors")
    for d in sorted((src / "llama").iterdir()):
        if not d.is_dir():
            continue
        out = dst / "llama" / d.name
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(d / "config.json", out / "config.json")
        with open(d / "model.safetensors", "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        (out / "header.json").write_text(json.dumps(header, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
