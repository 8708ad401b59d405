#!/usr/bin/env python3
"""Copy a small subset of ../shared/golden into test resources (stdlib only, no torch).

usage: extract.py GOLDEN_DIR OUT_PREFIX CASE_ID_REGEX [--device cpu|cuda|both] [--skip OUTPUT[,OUTPUT...]]
Writes OUT_PREFIX.safetensors holding every output tensor of the matching cases (names '<device>/<case_id>.<output>')
plus the inputs they use (names 'input/<name>'), and OUT_PREFIX.json with the matching manifest case entries
(id, family, device, params, outputs, info, status) so tests can be table-driven without ../shared.
"""
import argparse, json, re, struct, sys, os

def read_header(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        return json.loads(f.read(n)), 8 + n

def read_tensor(path, name, cache={}):
    if path not in cache:
        cache[path] = read_header(path)
    hdr, base = cache[path]
    e = hdr[name]
    with open(path, 'rb') as f:
        f.seek(base + e['data_offsets'][0])
        return e['dtype'], e['shape'], f.read(e['data_offsets'][1] - e['data_offsets'][0])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('golden'); ap.add_argument('out'); ap.add_argument('pattern')
    ap.add_argument('--device', default='both', choices=['cpu', 'cuda', 'both'])
    ap.add_argument('--skip', default='', help='outputs to leave out (e.g. y,dq) to keep the copy small')
    a = ap.parse_args()
    golden, out, pattern, device = a.golden, a.out, re.compile(a.pattern), a.device
    skip = set(filter(None, a.skip.split(',')))
    manifest = json.load(open(os.path.join(golden, 'manifest.json')))
    cases = [c for c in manifest['cases'] if pattern.search(c['id']) and c.get('status') == 'ok'
             and (device == 'both' or c['device'] == device)]
    if not cases:
        sys.exit('no case matches ' + a.pattern)
    tensors, inputs = {}, set()
    for c in cases:
        path = os.path.join(golden, 'cases', f"{c['family']}__{c['device']}.safetensors")
        for oname, o in c['outputs'].items():
            if oname in skip:
                continue
            tensors[f"{c['device']}/{c['id']}.{oname}"] = read_tensor(path, o['tensor'])
        inp = (c.get('params') or {}).get('input')
        if inp:
            inputs.add(inp)
    for i in sorted(inputs):
        tensors['input/' + i] = read_tensor(os.path.join(golden, 'inputs.safetensors'), i)
    hdr, off, blobs = {}, 0, []
    for k in sorted(tensors):
        dt, shape, b = tensors[k]
        hdr[k] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(hdr, separators=(',', ':')).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    with open(out + '.safetensors', 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)
    keep = ('id', 'family', 'device', 'params', 'outputs', 'info', 'status')
    with open(out + '.json', 'w') as f:
        json.dump({'inputs': {i: manifest['inputs'][i] for i in sorted(inputs)},
                   'cases': [{k: c[k] for k in keep if k in c} for c in cases]}, f, indent=1)
    print(f'{len(cases)} cases, {len(tensors)} tensors, {off} bytes -> {out}.safetensors')

main()
