#!/usr/bin/env python3
"""Load ao4j packages in real transformers (+ torchao) and compare them with torchao's own golden checkpoints.

usage: check_transformers_load.py --golden GOLDEN_LLAMA_DIR [--torchao-path DIR] [--out report.json] VARIANT[#LABEL]=OUR_DIR ...
GOLDEN_LLAMA_DIR holds bf16/, <variant>/ (what torchao itself wrote) and logits.safetensors (reference logits for
input_ids in its metadata). For each VARIANT=OUR_DIR this script
  1. compares every tensor of OUR_DIR with the golden <variant> checkpoint, byte for byte (and the torchao metadata);
  2. loads OUR_DIR with AutoModelForCausalLM.from_pretrained(device_map='cuda', dtype=bfloat16) and computes logits;
  3. reports max |logits - golden '<variant>.reloaded'| and max |logits - bf16 reference|.
"""
import argparse, glob, json, os, sys, traceback

def load_all(d):
    from safetensors import safe_open
    tensors, meta = {}, {}
    for f in sorted(glob.glob(os.path.join(d, '*.safetensors'))):
        with safe_open(f, 'pt') as h:
            meta.update(h.metadata() or {})
            for k in h.keys():
                tensors[k] = h.get_tensor(k)
    return tensors, meta

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--golden', required=True)
    ap.add_argument('--torchao-path')
    ap.add_argument('--out')
    ap.add_argument('pairs', nargs='+')
    a = ap.parse_args()
    if a.torchao_path:
        sys.path.insert(0, a.torchao_path)
    import torch, transformers
    from safetensors.torch import load_file
    import torchao
    report = {'torch': torch.__version__, 'transformers': transformers.__version__,
              'torchao_file': torchao.__file__, 'gpu': torch.cuda.get_device_name(0), 'variants': {}}
    logits_file = os.path.join(a.golden, 'logits.safetensors')
    ref = load_file(logits_file)
    from safetensors import safe_open
    with safe_open(logits_file, 'pt') as h:
        ids = json.loads(h.metadata()['input_ids'])
    input_ids = torch.tensor([ids], device='cuda')
    for pair in a.pairs:
        label, ours = pair.split('=', 1)
        variant = label.split('#', 1)[0]  # 'int8wo#sharded' compares with the golden 'int8wo'
        r = report['variants'][label] = {'dir': ours}
        try:
            ot, om = load_all(ours)
            gdir = os.path.join(a.golden, variant)
            if os.path.isdir(gdir):
                gt, gm = load_all(gdir)
                diff = [k for k in gt if k not in ot or ot[k].dtype != gt[k].dtype or ot[k].shape != gt[k].shape
                        or not torch.equal(ot[k].view(torch.uint8) if ot[k].dtype.itemsize == 1 else ot[k], gt[k].view(torch.uint8) if gt[k].dtype.itemsize == 1 else gt[k])]
                r['golden_tensor_count'] = len(gt)
                r['tensors_differing_from_golden'] = diff
                r['extra_tensors'] = [k for k in ot if k not in gt]
                r['metadata_differing_from_golden'] = [k for k in gm if k != 'format' and gm.get(k) != om.get(k)]
            try:
                m = transformers.AutoModelForCausalLM.from_pretrained(ours, device_map='cuda', dtype=torch.bfloat16)
            except (ImportError, ValueError) as e:  # device_map needs accelerate
                r['device_map_unavailable'] = str(e)[:200]
                m = transformers.AutoModelForCausalLM.from_pretrained(ours, dtype=torch.bfloat16).to('cuda')
            r['q_proj_weight_class'] = type(m.model.layers[0].self_attn.q_proj.weight).__name__
            with torch.no_grad():
                lg = m(input_ids).logits.float().cpu()
            if variant + '.reloaded' in ref:
                r['max_abs_diff_vs_golden_reloaded'] = (lg - ref[variant + '.reloaded']).abs().max().item()
            r['max_abs_diff_vs_bf16'] = (lg - ref['bf16']).abs().max().item()
            r['bf16_logits_abs_max'] = ref['bf16'].abs().max().item()
            r['status'] = 'ok'
        except Exception as e:
            r['status'] = 'failed'
            r['error'] = ''.join(traceback.format_exception(e))[-4000:]
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        open(a.out, 'w').write(text)

main()
