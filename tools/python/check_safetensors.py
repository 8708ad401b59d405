#!/usr/bin/env python3
"""Load every .safetensors file under DIR with the real safetensors + torch and fingerprint its tensors.

usage: check_safetensors.py [--json OUT.json] DIR [DIR ...]

For each file (recursively, sorted) this script
  1. loads it with safetensors.torch.load_file (the Rust parser: any header or offset problem fails here);
  2. prints one line per tensor: file, name, header dtype, torch dtype, torch shape, sha256 of the tensor's bytes;
  3. cross-checks, independently of torch, that the header is 8-byte padded JSON and that the sha256 of each
     tensor's raw byte range in the file equals the sha256 of the bytes torch loaded;
  4. for a model.safetensors.index.json, checks that its weight_map matches the tensors found in the shards
     and that total_size equals their byte sum.
The sha256 values are of the little-endian element bytes exactly as stored, so they can be compared with
hashes computed on the JVM side. Exits 1 if anything failed to load or did not match, else 0.
"""
import argparse
import hashlib
import json
import os
import struct
import sys


def find_files(roots, suffix):
    out = []
    for root in roots:
        if os.path.isfile(root):
            if root.endswith(suffix):
                out.append(root)
            continue
        for d, _, files in os.walk(root):
            out.extend(os.path.join(d, f) for f in files if f.endswith(suffix))
    return sorted(out)


def raw_header(path):
    """(header dict, header length, data start) parsed with the stdlib only."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n).decode('utf-8'))
    return header, n, 8 + n


def raw_sha256(path, start, begin, end):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        f.seek(start + begin)
        left = end - begin
        while left > 0:
            chunk = f.read(min(left, 1 << 24))
            if not chunk:
                raise IOError('%s: file ends inside a tensor' % path)
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def tensor_sha256(torch, t):
    # reshape(-1) first: a 0-dim tensor cannot be viewed as a dtype of another element size
    flat = t.detach().cpu().contiguous().reshape(-1)
    return hashlib.sha256(flat.view(torch.uint8).numpy().tobytes()).hexdigest()


def check_file(torch, load_file, path, problems):
    header, n, start = raw_header(path)
    if n % 8 != 0:
        problems.append('%s: header length %d is not a multiple of 8' % (path, n))
    meta = header.pop('__metadata__', None) or {}
    tensors = load_file(path)
    if set(tensors) != set(header):
        problems.append('%s: torch loaded %s but the header lists %s' % (path, sorted(tensors), sorted(header)))
    rows = []
    for name in sorted(header, key=lambda k: tuple(header[k]['data_offsets'])):
        info = header[name]
        begin, end = info['data_offsets']
        raw = raw_sha256(path, start, begin, end)
        t = tensors.get(name)
        if t is None:
            continue
        digest = tensor_sha256(torch, t)
        if digest != raw:
            problems.append('%s: tensor %r: torch bytes sha256 %s != file bytes sha256 %s' % (path, name, digest, raw))
        nbytes = t.numel() * t.element_size()
        if nbytes != end - begin:
            problems.append('%s: tensor %r: torch holds %d bytes, header span is %d' % (path, name, nbytes, end - begin))
        rows.append({'name': name, 'dtype': info['dtype'], 'torch_dtype': str(t.dtype).replace('torch.', ''),
                     'shape': list(t.shape), 'header_shape': info['shape'], 'bytes': end - begin, 'sha256': digest})
        print('%s\t%s\t%s\t%s\t%s\t%s' % (os.path.basename(path), name, info['dtype'], rows[-1]['torch_dtype'],
                                         list(t.shape), digest))
    return {'file': path, 'header_bytes': n, 'metadata': meta, 'tensors': rows}


def check_index(path, by_file, problems):
    with open(path, 'r', encoding='utf-8') as f:
        index = json.load(f)
    d = os.path.dirname(path)
    weight_map = index.get('weight_map', {})
    total = 0
    found = {}
    for fname in sorted(set(weight_map.values())):
        shard = os.path.normpath(os.path.join(d, fname))
        if shard not in by_file:
            problems.append('%s: weight_map names %s, which was not loaded' % (path, fname))
            continue
        for row in by_file[shard]['tensors']:
            found[row['name']] = fname
            total += row['bytes']
    if found != weight_map:
        extra = sorted(set(found) - set(weight_map))
        missing = sorted(set(weight_map) - set(found))
        moved = sorted(k for k in set(found) & set(weight_map) if found[k] != weight_map[k])
        problems.append('%s: weight_map does not match the shards (unlisted %s, missing %s, elsewhere %s)'
                        % (path, extra[:5], missing[:5], moved[:5]))
    size = index.get('metadata', {}).get('total_size')
    if size is not None and size != total:
        problems.append('%s: total_size %s != sum of tensor bytes %d' % (path, size, total))
    print('%s\tindex\t%d tensors\ttotal_size %s' % (path, len(weight_map), size))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dirs', nargs='+', metavar='DIR')
    ap.add_argument('--json', help='also write the fingerprints to this JSON file')
    a = ap.parse_args()

    import torch
    from safetensors.torch import load_file

    files = find_files(a.dirs, '.safetensors')
    if not files:
        print('no .safetensors files under %s' % ' '.join(a.dirs), file=sys.stderr)
        return 1
    problems = []
    by_file = {}
    for path in files:
        try:
            by_file[os.path.normpath(path)] = check_file(torch, load_file, path, problems)
        except Exception as e:  # report every broken file, not just the first
            problems.append('%s: failed to load: %s: %s' % (path, type(e).__name__, e))
    for path in find_files(a.dirs, '.safetensors.index.json'):
        try:
            check_index(path, by_file, problems)
        except Exception as e:
            problems.append('%s: bad index: %s: %s' % (path, type(e).__name__, e))
    if a.json:
        with open(a.json, 'w', encoding='utf-8') as f:
            json.dump({'torch': torch.__version__, 'files': list(by_file.values()), 'problems': problems}, f,
                      indent=2)
    for p in problems:
        print('PROBLEM: ' + p, file=sys.stderr)
    print('%d files, %d problems' % (len(files), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
