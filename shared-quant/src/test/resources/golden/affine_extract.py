#!/usr/bin/env python3
"""Extract the golden cases of the affine / int8 / intx tests from ../shared/golden (stdlib only, no torch).

usage: affine_extract.py GOLDEN_DIR OUT_DIR

Like tools/golden/extract.py, but small enough to cover EVERY case of these families: outputs larger than
DIGEST_OVER bytes (q, qdata, dq) are not copied; their SHA-256 over the stored little-endian bytes goes into the
manifest entry instead ("sha256"), and the tests hash what they compute. The matmul outputs 'y' are left out.
Writes, in OUT_DIR:
  affine_inputs.safetensors          every input tensor used, as 'input/<name>' (shared by the three families)
  <prefix>.safetensors / <prefix>.json  for prefix affine (prim.affine.*, prim.int8tensor_style.*), int8, intx:
      tensors '<device>/<case_id>.<output>' for the small outputs; manifest entries (id, family, device, params,
      outputs{dtype, stored_dtype, shape, and either 'stored': true or 'sha256'}, info, status)
"""
import hashlib, json, os, re, struct, sys

DIGEST_OVER = 16384
SKIP = {'y'}
FAMILIES = {
    'affine': re.compile(r'^prim\.(affine|int8tensor_style)\.'),
    'int8': re.compile(r'^int8\.(wo|dq)\.'),
    'intx': re.compile(r'^intx\.'),
}
# The int8 dq and intx 8da cases quantize this activation; their manifest params name only the weight input.
ACTIVATION_INPUT = 'act_8x512'


def read_header(path, cache={}):
    if path not in cache:
        with open(path, 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            cache[path] = (json.loads(f.read(n)), 8 + n)
    return cache[path]


def read_tensor(path, name):
    hdr, base = read_header(path)
    e = hdr[name]
    with open(path, 'rb') as f:
        f.seek(base + e['data_offsets'][0])
        return e['dtype'], e['shape'], f.read(e['data_offsets'][1] - e['data_offsets'][0])


def write_safetensors(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k in sorted(tensors):
        dt, shape, b = tensors[k]
        hdr[k] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


def main():
    golden, out = sys.argv[1], sys.argv[2]
    manifest = json.load(open(os.path.join(golden, 'manifest.json')))
    inputs = {ACTIVATION_INPUT}
    for prefix, pattern in FAMILIES.items():
        cases = [c for c in manifest['cases'] if pattern.search(c['id']) and c.get('status') == 'ok']
        tensors, entries = {}, []
        for c in cases:
            path = os.path.join(golden, 'cases', f"{c['family']}__{c['device']}.safetensors")
            outputs = {}
            for oname, o in c['outputs'].items():
                if oname in SKIP:
                    continue
                dt, shape, data = read_tensor(path, o['tensor'])
                e = {k: o[k] for k in ('dtype', 'stored_dtype', 'shape')}
                if len(data) > DIGEST_OVER:
                    e['sha256'] = hashlib.sha256(data).hexdigest()
                else:
                    e['stored'] = True
                    tensors[f"{c['device']}/{c['id']}.{oname}"] = (dt, shape, data)
                outputs[oname] = e
            inputs.add(c['params']['input'])
            entries.append({'id': c['id'], 'family': c['family'], 'device': c['device'], 'params': c['params'],
                            'outputs': outputs, 'info': c.get('info', {}), 'status': c['status']})
        n = write_safetensors(os.path.join(out, prefix + '.safetensors'), tensors)
        with open(os.path.join(out, prefix + '.json'), 'w') as f:
            json.dump({'activation_input': ACTIVATION_INPUT, 'cases': entries}, f, indent=1)
        print(f'{prefix}: {len(entries)} cases, {len(tensors)} stored tensors, {n} bytes')
    src = os.path.join(golden, 'inputs.safetensors')
    n = write_safetensors(os.path.join(out, 'affine_inputs.safetensors'),
                          {'input/' + i: read_tensor(src, i) for i in sorted(inputs)})
    with open(os.path.join(out, 'affine_inputs.json'), 'w') as f:
        json.dump({i: manifest['inputs'][i] for i in sorted(inputs)}, f, indent=1)
    print(f'inputs: {sorted(inputs)}, {n} bytes')


main()
