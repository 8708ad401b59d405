#!/usr/bin/env python3
"""Copy the golden cases of families mx, nvfp4 and sparse24 into test resources (stdlib only, no torch).

usage: mx_extract.py GOLDEN_DIR OUT_DIR
For each family F writes OUT_DIR/F.json (every case on both devices: id, device, status, params, info, and per
output its torch dtype, stored dtype, shape and the SHA-256 of its bytes) and OUT_DIR/F.safetensors holding the
bytes of the outputs worth keeping for diagnosis ('sha256/<digest>', shared when CPU and CUDA agree); the inputs
all three families use go once into OUT_DIR/mx_inputs.safetensors ('input/<name>'). Outputs without stored bytes are still checked bit for bit through the digest.
"""
import hashlib, json, os, re, struct, sys

def header(path, cache={}):
    if path not in cache:
        with open(path, 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            cache[path] = (json.loads(f.read(n)), 8 + n)
    return cache[path]

def read(path, name):
    hdr, base = header(path)
    e = hdr[name]
    with open(path, 'rb') as f:
        f.seek(base + e['data_offsets'][0])
        return e['dtype'], e['shape'], f.read(e['data_offsets'][1] - e['data_offsets'][0])

# which outputs keep their bytes (the rest: digest only), to stay small
KEEP = {
    'mx': lambda cid, o: o in ('scale_e8m0', 'scale', 'scale_unswizzled_reference') or 'special_32x64' in cid
          or ('edge_64x512' in cid and o == 'qdata'),
    'nvfp4': lambda cid, o: o in ('scale', 'per_tensor_scale') or ('rand_256x512' not in cid and o != 'dq_f32')
             or ('special_32x64' in cid),
    'sparse24': lambda cid, o: 'edge_64x512' in cid or o == 'cutlass_meta_reordered',
}

def write(path, tensors):
    hdr, off, data = {}, 0, []
    for k in sorted(tensors):
        dt, shape, b = tensors[k]
        hdr[k] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(b)]}
        off += len(b)
        data.append(b)
    h = json.dumps(hdr, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in data:
            f.write(b)
    return off

def main():
    golden, out = sys.argv[1], sys.argv[2]
    all_inputs = set()
    manifest = json.load(open(os.path.join(golden, 'manifest.json')))
    for fam, keep in KEEP.items():
        cases, blobs, inputs = [], {}, set()
        for c in manifest['cases']:
            if c['family'] != fam:
                continue
            entry = {k: c[k] for k in ('id', 'device', 'status', 'params', 'info') if k in c}
            outs = {}
            path = os.path.join(golden, 'cases', f"{fam}__{c['device']}.safetensors")
            for oname, o in (c.get('outputs') or {}).items():
                dt, shape, b = read(path, o['tensor'])
                digest = hashlib.sha256(b).hexdigest()
                stored = keep(c['id'], oname)
                if stored:
                    blobs['sha256/' + digest] = (dt, shape, b)
                outs[oname] = {'dtype': o['dtype'], 'stored_dtype': o['stored_dtype'], 'shape': o['shape'],
                               'sha256': digest, 'stored': stored}
            entry['outputs'] = outs
            cases.append(entry)
            inp = (c.get('params') or {}).get('input')
            if inp:
                inputs.add(inp)
            if c['id'].startswith(('mx.swizzled.', 'mx.config.', 'nvfp4.config.')):
                inputs.add('rand_256x512')  # these cases name no input; they quantize the random weight
        all_inputs |= inputs
        off = write(os.path.join(out, fam + '.safetensors'), blobs)
        diffs = [d for d in manifest['cpu_vs_cuda'] if d['id'].split('.')[0] == fam]
        with open(os.path.join(out, fam + '.json'), 'w') as f:
            json.dump({'inputs': {i: manifest['inputs'][i] for i in sorted(inputs)}, 'cases': cases,
                       'cpu_vs_cuda': diffs}, f, indent=1)
        print(f'{fam}: {len(cases)} cases, {len(blobs)} stored outputs, {off} bytes')
    off = write(os.path.join(out, 'mx_inputs.safetensors'),
                {'input/' + i: read(os.path.join(golden, 'inputs.safetensors'), i) for i in sorted(all_inputs)})
    print(f'inputs {sorted(all_inputs)}: {off} bytes')

main()
