#!/usr/bin/env python3
"""Extras for the float8 golden tests that tools/golden/extract.py does not copy (stdlib only, no torch).

usage: fp8_extras.py GOLDEN_DIR OUT_DIR
Writes OUT_DIR/fp8_extras.safetensors with 'input/act_8x512' (the activation the fp8.dq.* cases quantize into
act_qdata / act_scale; their params only name the weight input) and OUT_DIR/fp8_digests.json mapping
'<device>/<case_id>.<output>' to the SHA-256 of the stored bytes of every output except 'y', for every ok case
of families fp8 and prim.float8. The tests compare bytes where fp8_scales/fp8_q/fp8_dq hold them and the digest
otherwise, so every output is checked bit for bit while the copies stay small.
"""
import hashlib, json, os, struct, sys

def header(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        return json.loads(f.read(n)), 8 + n

def tensor_bytes(path, name, cache={}):
    if path not in cache:
        cache[path] = header(path)
    hdr, base = cache[path]
    e = hdr[name]
    with open(path, 'rb') as f:
        f.seek(base + e['data_offsets'][0])
        return e['dtype'], e['shape'], f.read(e['data_offsets'][1] - e['data_offsets'][0])

def main():
    golden, out = sys.argv[1], sys.argv[2]
    manifest = json.load(open(os.path.join(golden, 'manifest.json')))
    digests = {}
    for c in manifest['cases']:
        if c.get('status') != 'ok' or not (c['family'] == 'fp8' or c['id'].startswith('prim.float8.')):
            continue
        path = os.path.join(golden, 'cases', f"{c['family']}__{c['device']}.safetensors")
        for oname, o in sorted(c['outputs'].items()):
            if oname == 'y':
                continue
            digests[f"{c['device']}/{c['id']}.{oname}"] = hashlib.sha256(tensor_bytes(path, o['tensor'])[2]).hexdigest()
    with open(os.path.join(out, 'fp8_digests.json'), 'w') as f:
        json.dump(dict(sorted(digests.items())), f, indent=1)
    dt, shape, b = tensor_bytes(os.path.join(golden, 'inputs.safetensors'), 'act_8x512')
    h = json.dumps({'input/act_8x512': {'dtype': dt, 'shape': shape, 'data_offsets': [0, len(b)]}},
                   separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(os.path.join(out, 'fp8_extras.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h); f.write(b)
    print(f'{len(digests)} digests, act_8x512 {dt} {shape}')

main()
