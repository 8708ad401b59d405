#!/usr/bin/env python3
"""Held-out perplexity of ao4j packages in real transformers (+ torchao), next to the unquantized model.

usage: eval_packages.py --text HELDOUT.txt [--torchao-path DIR] [--out report.json] [--device cuda] LABEL=MODEL_DIR ...
Each MODEL_DIR is loaded with AutoModelForCausalLM/AutoTokenizer exactly as a user would; the text is tokenized with
the package's own tokenizer and scored in non-overlapping windows of the model's max_position_embeddings. A short
greedy continuation is printed as a smoke test of generate().
"""
import argparse, json, math, sys, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--text', required=True)
    ap.add_argument('--torchao-path')
    ap.add_argument('--out')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('models', nargs='+')
    a = ap.parse_args()
    if a.torchao_path:
        sys.path.insert(0, a.torchao_path)
    import torch, transformers
    text = open(a.text, encoding='utf-8').read()
    report = {'torch': torch.__version__, 'transformers': transformers.__version__,
              'device': torch.cuda.get_device_name(0) if a.device == 'cuda' else a.device, 'models': {}}
    for spec in a.models:
        label, path = spec.split('=', 1)
        r = report['models'][label] = {'dir': path}
        try:
            tok = transformers.AutoTokenizer.from_pretrained(path)
            model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).to(a.device).eval()
            r['q_proj_weight_class'] = type(model.model.layers[0].self_attn.q_proj.weight).__name__
            ids = tok(text, add_special_tokens=False)['input_ids']
            window = model.config.max_position_embeddings
            nll, count, t0 = 0.0, 0, time.time()
            with torch.no_grad():
                for i in range(0, len(ids) - window - 1, window):
                    x = torch.tensor([ids[i:i + window]], device=a.device)
                    y = torch.tensor([ids[i + 1:i + window + 1]], device=a.device)
                    logits = model(x).logits.float()
                    nll += torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                                             reduction='sum').item()
                    count += y.numel()
                prompt = tok('Call me Ishmael. ', return_tensors='pt').to(a.device)
                gen = model.generate(**prompt, max_new_tokens=60, do_sample=False)
            r.update(tokens_scored=count, loss_nats_per_token=nll / count, perplexity=math.exp(nll / count),
                     seconds=round(time.time() - t0, 2), greedy_continuation=tok.decode(gen[0], skip_special_tokens=True),
                     status='ok')
        except Exception as e:  # report and go on with the next package
            import traceback
            r.update(status='failed', error=''.join(traceback.format_exception(e))[-3000:])
    text_out = json.dumps(report, indent=1, ensure_ascii=False)
    print(text_out)
    if a.out:
        open(a.out, 'w').write(text_out)

main()
