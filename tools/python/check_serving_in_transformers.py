#!/usr/bin/env python3
"""Loads ao4j's serving packages with transformers' own loaders where the GPU host has them, next to the bf16 source.

usage: check_serving_in_transformers.py --text HELDOUT.txt --base BF16_DIR [--out report.json] LABEL=PACKAGE_DIR ...
For each package, by its quantization_config:
  quant_method "fp8" / "mxfp8"       AutoModelForCausalLM.from_pretrained as is (FP8Linear; its forward needs the
                                     `kernels` package) and with FineGrainedFP8Config(dequantize=True) (transformers'
                                     own dequantization of our bytes to bf16)
  "compressed-tensors" / "gptq" /    as is, when the host has the library transformers needs for it
  "awq"                              (compressed_tensors / gptqmodel / awq); otherwise reported as not available
The report gives, per load: status, the class of q_proj's weight, held-out perplexity and the max |logit
difference| against the bf16 model on the first window. It also records which quantization methods this
transformers knows (AUTO_QUANTIZATION_CONFIG_MAPPING) and which optional libraries are importable.
"""
import argparse, importlib.util, json, math, sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--text', required=True)
    ap.add_argument('--base', required=True)
    ap.add_argument('--out')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--byte-tokens', action='store_true',
                    help='token ids = the text\'s bytes (models without a tokenizer, e.g. the golden tiny Llama)')
    ap.add_argument('packages', nargs='+')
    a = ap.parse_args()
    import torch, transformers
    from transformers.quantizers.auto import AUTO_QUANTIZATION_CONFIG_MAPPING
    libs = {m: importlib.util.find_spec(m) is not None
            for m in ['compressed_tensors', 'gptqmodel', 'auto_gptq', 'awq', 'vllm', 'sglang', 'kernels', 'torchao']}
    text = open(a.text, encoding='utf-8').read()
    ids = list(text.encode('utf-8')) if a.byte_tokens else \
        transformers.AutoTokenizer.from_pretrained(a.base)(text, add_special_tokens=False)['input_ids']

    def score(model):
        window = model.config.max_position_embeddings
        nll, count, first = 0.0, 0, None
        with torch.no_grad():
            for i in range(0, len(ids) - window - 1, window):
                x = torch.tensor([ids[i:i + window]], device=a.device)
                y = torch.tensor([ids[i + 1:i + window + 1]], device=a.device)
                logits = model(x).logits.float()
                first = logits if first is None else first
                nll += torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                                         reduction='sum').item()
                count += y.numel()
        return math.exp(nll / count), first

    base = transformers.AutoModelForCausalLM.from_pretrained(a.base, dtype=torch.bfloat16).to(a.device).eval()
    base_ppl, base_logits = score(base)
    report = {'torch': torch.__version__, 'transformers': transformers.__version__,
              'device': torch.cuda.get_device_name(0), 'optional_libraries': libs,
              'transformers_quant_methods': sorted(AUTO_QUANTIZATION_CONFIG_MAPPING.keys()),
              'base': {'dir': a.base, 'perplexity': base_ppl}, 'packages': {}}

    def attempt(label, path, **kwargs):
        r = {}
        try:
            m = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, **kwargs)
            m = m.to(a.device).eval()
            r['q_proj_weight_class'] = type(m.model.layers[0].self_attn.q_proj).__name__ + '/' + \
                str(m.model.layers[0].self_attn.q_proj.weight.dtype)
            ppl, logits = score(m)
            r.update(status='ok', perplexity=ppl,
                     max_abs_logit_diff_vs_bf16=(logits - base_logits).abs().max().item())
        except Exception as e:
            import traceback
            r.update(status='failed', error=''.join(traceback.format_exception(e))[-1500:])
        print(label, json.dumps({k: v for k, v in r.items() if k != 'error'}), r.get('error', '')[-300:], flush=True)
        return r

    need = {'compressed-tensors': 'compressed_tensors', 'gptq': 'gptqmodel', 'awq': 'awq'}
    for spec in a.packages:
        label, path = spec.split('=', 1)
        qc = json.load(open(path + '/config.json'))['quantization_config']
        method = qc['quant_method']
        entry = report['packages'][label] = {'dir': path, 'quant_method': method}
        if method in ('fp8', 'mxfp8'):
            entry['as_is'] = attempt(label + ' as is', path)
            # the package's own config with dequantize on: transformers turns our codes and scales into bf16 itself
            own = {k: v for k, v in qc.items() if k != 'dequantize'}
            entry['dequantize_true'] = attempt(label + ' dequantize=True', path,
                                               quantization_config=transformers.FineGrainedFP8Config(**own,
                                                                                                     dequantize=True))
        elif method in need and not libs[need[method]] and not (method == 'gptq' and libs['auto_gptq']):
            entry['as_is'] = {'status': 'not available', 'why': need[method] + ' is not installed on this host'}
        else:
            entry['as_is'] = attempt(label + ' as is', path)
    if a.out:
        with open(a.out, 'w') as fh:
            json.dump(report, fh, indent=1)


if __name__ == '__main__':
    main()
