#!/usr/bin/env python3
"""Second half of ao4j's Hub cache interop check (first half: tools/hub-interop/prepare.sh).

Input (--in, default .hubinterop): manifest.json (repo, commit, files with size / LFS / sha256 / git sha1 / etag),
repo/ (the files) and cacheA.tar (the cache ao4j's HubClient built for that repo).

1. Serves the same repo, same commit and etags, from a small fake Hub (repo info, tree, HEAD/GET resolve with
   X-Repo-Commit, ETag, X-Linked-Etag/-Size and a redirect to a "CDN" for LFS files, Range) and lets
   huggingface_hub snapshot_download it into cache B (then asks for a missing file, for the .no_exist marker).
2. Compares cache A and cache B entry by entry: paths, types, file bytes, symlink targets, refs, blob names.
3. With HF_HUB_OFFLINE=1, resolves everything from cache A with huggingface_hub (snapshot_download,
   hf_hub_download, try_to_load_from_cache, scan_cache_dir) and, when installed, transformers.
4. Online again, lets huggingface_hub re-use cache A and records which requests it still sends.
Writes report.json, cacheB-manifest.json (for the Java side) and cacheB.tar to --out.
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INLINE_LIMIT = 16 * 1024  # files up to this size travel base64-encoded in the cache manifest


# ---- fake Hub ------------------------------------------------------------------------------------------------

class Hub:
    def __init__(self, manifest, repo_dir):
        self.m = manifest
        self.repo_dir = repo_dir
        self.files = {f["path"]: f for f in manifest["files"]}
        self.by_sha = {f["sha256"]: f for f in manifest["files"] if f["lfs"]}
        self.phase = "none"
        self.cdn = None  # base URL of the "CDN": another host name, as on the real Hub (Python follows same-host redirects)
        self.requests = []
        self.lock = threading.Lock()

    def log(self, method, path):
        with self.lock:
            self.requests.append({"phase": self.phase, "method": method, "path": path})

    def content(self, f):
        with open(os.path.join(self.repo_dir, f["path"]), "rb") as fh:
            return fh.read()


def make_handler(hub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_HEAD(self):
            self.route(head=True)

        def do_GET(self):
            self.route(head=False)

        def send(self, status, headers, body=b"", head=False):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and body:
                self.wfile.write(body)

        def json(self, status, obj, extra=None):
            body = json.dumps(obj).encode()
            self.send(status, {"Content-Type": "application/json", "Content-Length": str(len(body)), **(extra or {})}, body)

        def route(self, head):
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            hub.log(self.command, url.path + ("?" + url.query if url.query else ""))
            m = hub.m
            repo, commit = m["repo"], m["commit"]
            api = "/api/models/" + repo + "/"
            if path.startswith(api + "revision/"):
                rev = path[len(api + "revision/"):]
                if rev not in (m["revision"], commit):
                    return self.json(404, {"error": "Invalid rev id: " + rev}, {"X-Error-Code": "RevisionNotFound"})
                siblings = []
                for f in m["files"]:
                    s = {"rfilename": f["path"], "size": f["size"], "blobId": f["treeOid"]}
                    if f["lfs"]:
                        s["lfs"] = {"sha256": f["sha256"], "size": f["size"], "pointerSize": f["pointerSize"]}
                    siblings.append(s)
                return self.json(200, {"id": repo, "modelId": repo, "sha": commit, "private": False, "gated": False,
                                       "disabled": False, "lastModified": "2026-01-01T00:00:00.000Z",
                                       "tags": ["ao4j"], "siblings": siblings})
            if path.startswith(api + "tree/"):
                rev = path[len(api + "tree/"):].split("/")[0]
                if rev not in (m["revision"], commit):
                    return self.json(404, {"error": "Invalid rev id: " + rev}, {"X-Error-Code": "RevisionNotFound"})
                entries, dirs = [], set()
                for f in m["files"]:
                    parts = f["path"].split("/")
                    for i in range(1, len(parts)):
                        dirs.add("/".join(parts[:i]))
                    e = {"type": "file", "path": f["path"], "oid": f["treeOid"], "size": f["size"]}
                    if f["lfs"]:
                        e["lfs"] = {"oid": f["sha256"], "size": f["size"], "pointerSize": f["pointerSize"]}
                    entries.append(e)
                entries += [{"type": "directory", "path": d, "oid": "0" * 40, "size": 0} for d in sorted(dirs)]
                return self.json(200, entries)
            if path.startswith("/cdn/"):
                f = hub.by_sha.get(path[len("/cdn/"):])
                if f is None:
                    return self.send(404, {})
                return self.serve_bytes(hub.content(f), {}, head)
            prefix = "/" + repo + "/resolve/"
            if path.startswith(prefix):
                rev, _, file_path = path[len(prefix):].partition("/")
                if rev not in (m["revision"], commit):
                    return self.send(404, {"X-Error-Code": "RevisionNotFound"}, head=head)
                f = hub.files.get(file_path)
                if f is None:
                    return self.send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, head=head)
                headers = {"X-Repo-Commit": commit}
                if f["lfs"]:
                    headers.update({"X-Linked-Etag": '"%s"' % f["sha256"], "X-Linked-Size": str(f["size"]),
                                    "ETag": '"%s"' % f["treeOid"], "Location": "%s/cdn/%s" % (hub.cdn, f["sha256"])})
                    return self.send(302, headers, head=head)
                headers["ETag"] = '"%s"' % f["gitSha1"]
                return self.serve_bytes(hub.content(f), headers, head)
            return self.json(404, {"error": "no route " + path})

        def serve_bytes(self, data, headers, head):
            status, start = 200, 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                status = 206
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
            body = data[start:]
            headers["Content-Length"] = str(len(body))
            self.send(status, headers, body, head)

    return Handler


# ---- cache walking and comparison -----------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def walk(root, inline=False):
    """Every entry under root (relative path -> description); symlinks are not followed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = {"type": "symlink", "target": os.readlink(p)}
            elif os.path.isdir(p):
                out[rel] = {"type": "dir", "mode": oct(st.st_mode & 0o777)}
            else:
                e = {"type": "file", "size": st.st_size, "sha256": sha256_file(p), "mode": oct(st.st_mode & 0o777)}
                if inline and st.st_size <= INLINE_LIMIT:
                    with open(p, "rb") as fh:
                        e["base64"] = base64.b64encode(fh.read()).decode()
                out[rel] = e
    return dict(sorted(out.items()))


def python_only(rel):
    """Entries newer huggingface_hub adds that ao4j does not write (both optional per the cache spec)."""
    parts = rel.split("/")
    return rel == "CACHEDIR.TAG" or (len(parts) >= 2 and parts[0].startswith("models--") and parts[1] == "trees")


def compare(a, b):
    """Differences between cache A (ours) and cache B (Python's); .locks contents are compared separately."""
    diffs, ignored = [], []
    for rel in sorted(set(a) | set(b)):
        if rel.startswith(".locks/"):
            continue
        ea, eb = a.get(rel), b.get(rel)
        if ea is None or eb is None:
            if python_only(rel) and ea is None:
                ignored.append({"path": rel, "why": "written by huggingface_hub only (optional cache entry)"})
                continue
            diffs.append({"path": rel, "ours": ea, "python": eb})
            continue
        keys = ["type", "target", "size", "sha256"]
        if any(ea.get(k) != eb.get(k) for k in keys):
            diffs.append({"path": rel, "ours": ea, "python": eb})
        elif ea.get("mode") != eb.get("mode"):
            diffs.append({"path": rel, "what": "permission bits", "ours": ea.get("mode"), "python": eb.get("mode")})
    locks_a = {k: v for k, v in a.items() if k.startswith(".locks/")}
    locks_b = {k: v for k, v in b.items() if k.startswith(".locks/")}
    return diffs, ignored, {"ours": sorted(locks_a), "python": sorted(locks_b),
                            "same_names": sorted(locks_a) == sorted(locks_b),
                            "modes_ours": sorted({v.get("mode") for v in locks_a.values() if v["type"] == "file"}),
                            "modes_python": sorted({v.get("mode") for v in locks_b.values() if v["type"] == "file"})}


# ---- phases run in child processes (huggingface_hub reads its environment at import) ---------------------------

def phase_download(m):
    import huggingface_hub as hh
    from huggingface_hub.errors import EntryNotFoundError
    out = {"huggingface_hub": hh.__version__}
    out["snapshot"] = hh.snapshot_download(m["repo"], revision=m["revision"])
    try:
        hh.hf_hub_download(m["repo"], m["missing"], revision=m["revision"])
        out["missing"] = "unexpectedly found"
    except EntryNotFoundError as e:
        out["missing"] = "EntryNotFoundError"
    return out


def phase_offline(m):
    import huggingface_hub as hh
    from huggingface_hub import constants
    from huggingface_hub.file_download import _CACHED_NO_EXIST
    out = {"HF_HUB_OFFLINE": constants.HF_HUB_OFFLINE, "checks": [], "failures": []}

    def check(name, ok, detail=None):
        out["checks"].append({"check": name, "ok": bool(ok), **({"detail": detail} if detail is not None else {})})
        if not ok:
            out["failures"].append(name)

    repo, commit = m["repo"], m["commit"]
    expected_snapshot = os.path.join(constants.HF_HUB_CACHE, "models--" + repo.replace("/", "--"), "snapshots", commit)
    for label, kwargs in (("offline", {}), ("local_files_only", {"local_files_only": True})):
        try:
            snap = hh.snapshot_download(repo, revision=m["revision"], **kwargs)
            check("snapshot_download(%s) returns snapshots/{commit}" % label,
                  os.path.realpath(snap) == os.path.realpath(expected_snapshot), snap)
        except Exception as e:
            check("snapshot_download(%s)" % label, False, repr(e))
    for f in m["files"]:
        for rev in (m["revision"], commit):
            try:
                p = hh.hf_hub_download(repo, f["path"], revision=rev)
                check("hf_hub_download %s @%s" % (f["path"], rev[:7]), sha256_file(p) == f["sha256"], p)
            except Exception as e:
                check("hf_hub_download %s @%s" % (f["path"], rev[:7]), False, repr(e))
        p = hh.try_to_load_from_cache(repo, f["path"], revision=m["revision"])
        check("try_to_load_from_cache %s" % f["path"], isinstance(p, str) and sha256_file(p) == f["sha256"], p)
    p = hh.try_to_load_from_cache(repo, m["missing"], revision=m["revision"])
    check("try_to_load_from_cache %s is the known-missing sentinel (.no_exist)" % m["missing"], p is _CACHED_NO_EXIST,
          repr(p))
    p = hh.try_to_load_from_cache(repo, "never-asked.json", revision=m["revision"])
    check("try_to_load_from_cache never-asked.json is None", p is None, repr(p))
    info = hh.scan_cache_dir()
    repos = [{"repo_id": r.repo_id, "nb_files": r.nb_files, "size_on_disk": r.size_on_disk,
              "refs": sorted(r.refs), "revisions": sorted(rv.commit_hash for rv in r.revisions)} for r in info.repos]
    check("scan_cache_dir finds no corrupted entry", not info.warnings, [str(w) for w in info.warnings])
    check("scan_cache_dir sees the repo with refs main -> commit and every file",
          len(repos) == 1 and repos[0]["repo_id"] == repo and repos[0]["refs"] == ["main"]
          and repos[0]["revisions"] == [commit] and repos[0]["nb_files"] == len(m["files"]), repos)
    out["scan_cache_dir"] = repos
    out["transformers"] = transformers_offline(repo, check)
    return out


def transformers_offline(repo, check):
    try:
        import torch
        import transformers
    except ImportError as e:
        return {"skipped": repr(e)}
    out = {"version": transformers.__version__}
    try:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
        cfg = AutoConfig.from_pretrained(repo)
        tok = AutoTokenizer.from_pretrained(repo)
        model = AutoModelForCausalLM.from_pretrained(repo, dtype=torch.bfloat16)
        text = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse"
        ids = tok(text, return_tensors="pt").input_ids
        with torch.no_grad():
            loss = model(ids, labels=ids).loss.float().item()
        out.update({"model_type": cfg.model_type, "tokens": ids.shape[1], "loss_nats_per_token": loss})
        check("transformers loads config, tokenizer and weights offline from the ao4j cache",
              ids.shape[1] > 10 and loss == loss and loss < 5.0, out)
    except Exception as e:
        check("transformers loads the model offline from the ao4j cache", False, repr(e))
    return out


def phase_reuse(m):
    import huggingface_hub as hh
    return {"snapshot": hh.snapshot_download(m["repo"], revision=m["revision"])}


PHASES = {"download": phase_download, "offline": phase_offline, "reuse": phase_reuse}


def run_phase(name, manifest_path, env_extra, hub):
    env = dict(os.environ)
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_HOME"):
        env.pop(k, None)
    env.update({"HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}, **env_extra)
    hub.phase = name
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--phase", name, "--manifest", manifest_path],
                       env=env, capture_output=True, text=True, timeout=300)
    hub.phase = "none"
    if r.returncode != 0:
        return {"error": "phase %s exited %d" % (name, r.returncode), "stderr": r.stderr[-4000:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def extract(tar_path, dest):
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    with tarfile.open(tar_path) as t:
        t.extractall(dest, filter="fully_trusted")  # our own tar: keep modes and relative symlinks as they are


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="inp", default=".hubinterop")
    ap.add_argument("--out", default=os.environ.get("OUT", "out"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--phase")
    ap.add_argument("--manifest")
    args = ap.parse_args()
    if args.phase:
        with open(args.manifest) as fh:
            print(json.dumps(PHASES[args.phase](json.load(fh)), default=str))
        return 0

    inp = os.path.abspath(args.inp)
    out = os.path.abspath(args.out)
    work = os.path.abspath(args.work or os.path.join(out, "..", "hubinterop-work"))
    os.makedirs(out, exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    manifest_path = os.path.join(inp, "manifest.json")
    with open(manifest_path) as fh:
        m = json.load(fh)
    repo_folder = "models--" + m["repo"].replace("/", "--")

    hub = Hub(m, os.path.join(inp, "repo"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(hub))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % server.server_address[1]
    cdn = ThreadingHTTPServer(("127.0.0.2", 0), make_handler(hub))  # Linux routes all of 127/8 to loopback
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    hub.cdn = "http://127.0.0.2:%d" % cdn.server_address[1]

    cache_a = os.path.join(work, "A")  # pristine: the reference for comparisons
    extract(os.path.join(inp, "cacheA.tar"), cache_a)
    cache_a = os.path.join(cache_a, "cacheA")
    cache_b = os.path.join(work, "B")
    report = {"endpoint_kind": "http.server fake Hub (repo info, tree, resolve HEAD/GET, LFS redirect to CDN, Range)",
              "repo": m["repo"], "commit": m["commit"], "files": len(m["files"])}

    # 1. Python downloads the same repo into cache B.
    report["download"] = run_phase("download", manifest_path, {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": cache_b}, hub)
    report["huggingface_hub"] = report["download"].get("huggingface_hub")
    a, b = walk(cache_a), walk(cache_b, inline=True)
    diffs, ignored, locks = compare(a, b)
    report["compare"] = {"entries_ours": len(a), "entries_python": len(b), "differences": diffs,
                         "ignored_python_only": ignored, "locks": locks,
                         "identical_except_ignored": not diffs,
                         "refs_main": {"ours": open(os.path.join(cache_a, repo_folder, "refs", "main"), "rb").read().decode(),
                                       "python": open(os.path.join(cache_b, repo_folder, "refs", "main"), "rb").read().decode()}
                         if os.path.exists(os.path.join(cache_b, repo_folder, "refs", "main")) else None}

    # 2. Python resolves everything from our cache with HF_HUB_OFFLINE=1 (a dead endpoint: nothing may be sent).
    offline_copy = os.path.join(work, "A-offline")
    extract(os.path.join(inp, "cacheA.tar"), offline_copy)
    offline_copy = os.path.join(offline_copy, "cacheA")
    before = len(hub.requests)
    report["offline"] = run_phase("offline", manifest_path, {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": offline_copy,
                                                             "HF_ENDPOINT": endpoint}, hub)
    report["offline"]["requests_sent"] = len(hub.requests) - before
    after = walk(offline_copy)
    report["offline"]["cache_unchanged"] = after == walk(cache_a)

    # 3. Python online on our cache: does it take our files as complete?
    reuse_copy = os.path.join(work, "A-reuse")
    extract(os.path.join(inp, "cacheA.tar"), reuse_copy)
    reuse_copy = os.path.join(reuse_copy, "cacheA")
    report["reuse"] = run_phase("reuse", manifest_path, {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": reuse_copy}, hub)
    reuse_requests = [r for r in hub.requests if r["phase"] == "reuse"]
    report["reuse"]["requests"] = reuse_requests
    report["reuse"]["file_requests"] = [r for r in reuse_requests if "/resolve/" in r["path"] or r["path"].startswith("/cdn/")]
    reuse_after = walk(reuse_copy)
    report["reuse"]["added_by_python"] = sorted(set(reuse_after) - set(a))
    report["reuse"]["removed_or_changed"] = sorted(k for k in a if reuse_after.get(k, {}).get("sha256") != a[k].get("sha256")
                                                   or reuse_after.get(k, {}).get("target") != a[k].get("target"))
    report["download_requests"] = [r for r in hub.requests if r["phase"] == "download"]
    server.shutdown()
    cdn.shutdown()

    ok = (not diffs and report["compare"]["refs_main"] is not None
          and report["compare"]["refs_main"]["ours"] == report["compare"]["refs_main"]["python"] == m["commit"]
          and not report["offline"].get("failures", ["phase failed"]) and report["offline"]["requests_sent"] == 0
          and report["offline"]["cache_unchanged"] and not report["reuse"]["file_requests"]
          and not report["reuse"]["removed_or_changed"] and "error" not in report["download"])
    report["ok"] = ok

    with open(os.path.join(out, "cacheB-manifest.json"), "w") as fh:
        json.dump({"huggingface_hub": report["huggingface_hub"], "repo": m["repo"], "commit": m["commit"],
                   "entries": b}, fh, indent=1, sort_keys=True)
    with tarfile.open(os.path.join(out, "cacheB.tar"), "w") as t:
        t.add(cache_b, arcname="cacheB")
    with open(os.path.join(out, "report.json"), "w") as fh:
        json.dump(report, fh, indent=1, default=str)
    print(json.dumps({"ok": ok, "huggingface_hub": report["huggingface_hub"], "differences": diffs,
                      "offline_failures": report["offline"].get("failures"),
                      "offline_error": report["offline"].get("error"),
                      "reuse_file_requests": report["reuse"]["file_requests"],
                      "ignored": ignored, "locks_same": locks["same_names"]}, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
