#!/usr/bin/env python3
"""Decodes ao4j serving packages (compressed-tensors, GPTQ, AWQ, fp8) with a second, independent implementation of
each format written from ../shared/specs/serving-formats.md (torch only: no vLLM, compressed-tensors or AutoGPTQ is
needed), then scores the decoded model with transformers next to the bf16 source.

usage: decode_serving_packages.py --text HELDOUT.txt --base BF16_DIR [--out report.json] [--device cuda]
                                  LABEL=PACKAGE_DIR ...
       decode_serving_packages.py --sqnr-only --base BF16_DIR LABEL=PACKAGE_DIR ...   (torch only, prints JSON)
For every package: each quantized Linear is decoded from its packed tensors into a dense bf16 weight, the dense
model is loaded into LlamaForCausalLM built from the package's config.json (quantization_config removed), and the
report gives held-out perplexity, the max |logit difference| against the bf16 model on the same window, and the
SQNR of every decoded weight against the bf16 source weight (a wrong pack order or zero-point convention shows up
as an SQNR near or below 0 dB, not as a subtle drift).
"""
import argparse, glob, json, math, os, sys

import torch

try:
    from safetensors.torch import load_file
except ImportError:  # a minimal reader, enough for these packages (the format is a JSON header + raw bytes)
    import struct

    _DTYPES = {'BF16': torch.bfloat16, 'F16': torch.float16, 'F32': torch.float32, 'I64': torch.int64,
               'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
    if hasattr(torch, 'float8_e4m3fn'):
        _DTYPES['F8_E4M3'] = torch.float8_e4m3fn

    def load_file(path):
        data = open(path, 'rb').read()
        n = struct.unpack('<Q', data[:8])[0]
        header = json.loads(data[8:8 + n])
        out = {}
        for name, info in header.items():
            if name == '__metadata__':
                continue
            b, e = info['data_offsets']
            raw = bytearray(data[8 + n + b:8 + n + e])
            t = torch.frombuffer(raw, dtype=_DTYPES[info['dtype']]) if e > b else torch.empty(0, dtype=_DTYPES[info['dtype']])
            out[name] = t.reshape(info['shape'])
        return out

FP4_VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def load_package(path):
    tensors = {}
    for f in sorted(glob.glob(os.path.join(path, '*.safetensors'))):
        tensors.update(load_file(f))
    with open(os.path.join(path, 'config.json')) as fh:
        config = json.load(fh)
    return config, tensors


def unpack_rows(words, bits, count):
    """int32 words [R, W] packed LSB-first along the last dim -> unsigned codes [R, count]."""
    per = 32 // bits
    w = words.to(torch.int64) & 0xFFFFFFFF
    shifts = torch.arange(per, dtype=torch.int64) * bits
    codes = (w.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)
    return codes.reshape(w.shape[0], -1)[:, :count]


def fp4_decode(packed_u8, k):
    table = torch.tensor(FP4_VALUES + [-v for v in FP4_VALUES], dtype=torch.float32)
    b = packed_u8.to(torch.int64)
    codes = torch.stack([b & 0xF, b >> 4], dim=-1).reshape(b.shape[0], -1)[:, :k]
    return table[codes]


def decode_compressed_tensors(qc, t, prefix):
    group = next(iter(qc['config_groups'].values()))
    wa = group['weights']
    fmt = group.get('format') or qc['format']
    if fmt == 'pack-quantized':
        n, k = [int(x) for x in t[prefix + '.weight_shape'].tolist()]
        bits = wa['num_bits']
        u = unpack_rows(t[prefix + '.weight_packed'], bits, k).float()
        s = t[prefix + '.weight_scale'].float()
        g = k if wa['strategy'] == 'channel' else wa['group_size']
        if wa['symmetric']:
            z = torch.full((n, k // g), float(1 << (bits - 1)))
        else:
            zp = t[prefix + '.weight_zero_point']
            z = unpack_rows(zp.t().contiguous(), bits, n).t().float()
        return (u - z.repeat_interleave(g, dim=1)) * s.repeat_interleave(g, dim=1)
    if fmt == 'int-quantized':
        q = t[prefix + '.weight'].float()
        s = t[prefix + '.weight_scale'].float()
        return q * (s if s.numel() > 1 else s.reshape(()))
    if fmt == 'float-quantized':
        q = t[prefix + '.weight'].float()
        s = t[prefix + '.weight_scale'].float()
        if wa['strategy'] == 'block':
            bn, bk = wa['block_structure']
            s = s.repeat_interleave(bn, 0).repeat_interleave(bk, 1)[:q.shape[0], :q.shape[1]]
        return q * (s if s.numel() > 1 else s.reshape(()))
    if fmt == 'nvfp4-pack-quantized':
        packed = t[prefix + '.weight_packed']
        k = packed.shape[1] * 2
        values = fp4_decode(packed, k)
        block = t[prefix + '.weight_scale'].float() / t[prefix + '.weight_global_scale'].float()
        return values * block.repeat_interleave(16, dim=1)
    if fmt == 'mxfp4-pack-quantized':
        packed = t[prefix + '.weight_packed']
        values = fp4_decode(packed, packed.shape[1] * 2)
        scale = torch.pow(2.0, t[prefix + '.weight_scale'].to(torch.int64).float() - 127)
        return values * scale.repeat_interleave(32, dim=1)
    raise ValueError('unsupported compressed-tensors format ' + fmt)


def decode_gptq(qc, t, prefix):
    bits = qc['bits']
    qweight = t[prefix + '.qweight']
    n = qweight.shape[1]
    k = qweight.shape[0] * 32 // bits
    u = unpack_rows(qweight.t().contiguous(), bits, k).t().float()          # [K, N]
    s = t[prefix + '.scales'].float()                                        # [K/G, N]
    z = unpack_rows(t[prefix + '.qzeros'], bits, n).float()                 # [K/G, N]
    if qc.get('checkpoint_format', 'gptq') == 'gptq':
        z = (z + 1) % (1 << bits)                                            # v1 stores zero - 1
    g_idx = t[prefix + '.g_idx'].to(torch.int64)
    return ((u - z[g_idx]) * s[g_idx]).t()


def decode_awq(qc, t, prefix):
    bits = qc.get('bits', qc.get('w_bit'))
    g = qc.get('group_size', qc.get('q_group_size'))
    qweight = t[prefix + '.qweight']
    k = qweight.shape[0]

    def deinterleave(words):
        raw = unpack_rows(words, bits, words.shape[1] * 8)                  # nibble order
        out = torch.empty_like(raw)
        for j, logical in enumerate(AWQ_ORDER):
            out[:, logical::8] = raw[:, j::8]
        return out.float()

    q = deinterleave(qweight)                                                # [K, N]
    z = deinterleave(t[prefix + '.qzeros'])                                  # [K/G, N]
    s = t[prefix + '.scales'].float()
    return ((q - z.repeat_interleave(g, 0)) * s.repeat_interleave(g, 0)).t()


def decode_fp8(qc, t, prefix):
    q = t[prefix + '.weight'].float()
    s = t[prefix + '.weight_scale_inv']
    # mxfp8: E8M0 exponent bytes, multiplier 2^(byte - 127); fp8: f32 multipliers
    s = torch.pow(2.0, s.to(torch.int64).float() - 127) if s.dtype == torch.uint8 else s.float()
    bn, bk = qc['weight_block_size']
    return q * s.repeat_interleave(bn, 0).repeat_interleave(bk, 1)[:q.shape[0], :q.shape[1]]


QUANTIZED_SUFFIXES = {
    'compressed-tensors': ['.weight_packed', '.weight'],
    'gptq': ['.qweight'],
    'awq': ['.qweight'],
    'fp8': ['.weight'],
    'mxfp8': ['.weight'],
}
DECODERS = {'compressed-tensors': decode_compressed_tensors, 'gptq': decode_gptq, 'awq': decode_awq,
            'fp8': decode_fp8, 'mxfp8': decode_fp8}
PLAIN_DTYPES = (torch.bfloat16, torch.float16, torch.float32)


def dense_state_dict(config, tensors, dtype=torch.bfloat16):
    qc = config['quantization_config']
    method = qc['quant_method']
    decode = DECODERS[method]
    dense, decoded = {}, []
    linear_prefixes = set()
    for name, tensor in tensors.items():
        for suffix in QUANTIZED_SUFFIXES[method]:
            if name.endswith(suffix) and tensor.dtype not in PLAIN_DTYPES:
                linear_prefixes.add(name[:-len(suffix)])
    for prefix in sorted(linear_prefixes):
        dense[prefix + '.weight'] = decode(qc, tensors, prefix).to(dtype)
        decoded.append(prefix + '.weight')
    for name, tensor in tensors.items():
        prefix = name.rsplit('.', 1)[0]
        if prefix in linear_prefixes:
            continue
        dense[name] = tensor
    return dense, decoded


def sqnr_db(ref, approx):
    ref, approx = ref.float(), approx.float()
    noise = (ref - approx).pow(2).sum().item()
    return float('inf') if noise == 0 else 10 * math.log10(ref.pow(2).sum().item() / noise)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--text')
    ap.add_argument('--sqnr-only', action='store_true')
    ap.add_argument('--base', required=True)
    ap.add_argument('--out')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--byte-tokens', action='store_true',
                    help='token ids = the text\'s bytes (models without a tokenizer, e.g. the golden tiny Llama)')
    ap.add_argument('packages', nargs='+')
    a = ap.parse_args()
    if a.sqnr_only:
        _, base_tensors = load_package(a.base)
        result = {}
        for spec in a.packages:
            label, path = spec.split('=', 1)
            config, tensors = load_package(path)
            dense, decoded = dense_state_dict(config, tensors, torch.float32)
            result[label] = {n: sqnr_db(base_tensors[n], dense[n]) for n in decoded}
        print(json.dumps(result))
        return
    if not a.text:
        ap.error('--text is required unless --sqnr-only')
    import transformers
    text = open(a.text, encoding='utf-8').read()
    base = transformers.AutoModelForCausalLM.from_pretrained(a.base, dtype=torch.bfloat16).to(a.device).eval()
    base_sd = {k: v.detach().cpu() for k, v in base.state_dict().items()}
    ids = list(text.encode('utf-8')) if a.byte_tokens else \
        transformers.AutoTokenizer.from_pretrained(a.base)(text, add_special_tokens=False)['input_ids']
    window = base.config.max_position_embeddings

    def score(model):
        nll, count, first_logits = 0.0, 0, None
        with torch.no_grad():
            for i in range(0, len(ids) - window - 1, window):
                x = torch.tensor([ids[i:i + window]], device=a.device)
                y = torch.tensor([ids[i + 1:i + window + 1]], device=a.device)
                logits = model(x).logits.float()
                if first_logits is None:
                    first_logits = logits
                nll += torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                                         reduction='sum').item()
                count += y.numel()
        return math.exp(nll / count), first_logits

    base_ppl, base_logits = score(base)
    report = {'torch': torch.__version__, 'transformers': transformers.__version__,
              'device': torch.cuda.get_device_name(0) if a.device == 'cuda' else a.device,
              'decoder': 'tools/python/decode_serving_packages.py (independent of ao4j\'s Java readers)',
              'base': {'dir': a.base, 'perplexity': base_ppl}, 'packages': {}}
    for spec in a.packages:
        label, path = spec.split('=', 1)
        r = report['packages'][label] = {'dir': path}
        try:
            config, tensors = load_package(path)
            r['quant_method'] = config['quantization_config']['quant_method']
            dense, decoded = dense_state_dict(config, tensors)
            r['decoded_linears'] = len(decoded)
            r['weight_sqnr_db'] = {n: round(sqnr_db(base_sd[n], dense[n]), 2) for n in decoded}
            r['min_weight_sqnr_db'] = min(r['weight_sqnr_db'].values())
            cfg = dict(config)
            cfg.pop('quantization_config')
            model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**cfg)).to(torch.bfloat16)
            missing, unexpected = model.load_state_dict(dense, strict=False)
            missing = [m for m in missing if not (m == 'lm_head.weight' and cfg.get('tie_word_embeddings'))]
            if missing or unexpected:
                raise ValueError(f'state dict mismatch: missing {missing}, unexpected {unexpected}')
            model = model.to(a.device).eval()
            ppl, logits = score(model)
            r.update(perplexity=ppl, max_abs_logit_diff_vs_bf16=(logits - base_logits).abs().max().item(),
                     status='ok')
        except Exception as e:
            import traceback
            r.update(status='failed', error=''.join(traceback.format_exception(e))[-3000:])
        print(label, json.dumps({k: v for k, v in r.items() if k != 'weight_sqnr_db'}), flush=True)
    if a.out:
        with open(a.out, 'w') as fh:
            json.dump(report, fh, indent=1)
    sys.exit(0 if all(p['status'] == 'ok' for p in report['packages'].values()) else 1)


if __name__ == '__main__':
    main()
