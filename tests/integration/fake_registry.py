#!/usr/bin/env python3
"""A fake OCI distribution registry for zone's pull tests (t_pull.sh).

Serves the images of one OCI layout directory (read-only: any repository
name, tags from index.json's org.opencontainers.image.ref.name) and, on
demand, answers the way a broken or hostile registry would. The behaviour
is read from MODE_FILE on every request, so a test can switch it between
two pulls of the same name:

  good             correct answers; Range requests get 206
  norange          ignores Range headers (always 200 with the whole blob)
  digest-mismatch  layer bytes changed (same length)
  truncated        layer: full Content-Length, half the bytes, then close
  too-long         layer: 4 KiB more than declared
  huge-layer       manifest declares a layer of 100 GiB
  big-manifest     manifest larger than 4 MiB
  bad-json         manifest is not JSON
  schema1          a Docker schema 1 manifest
  header-digest    Docker-Content-Digest does not match the manifest
  slow             layers at 32 KiB per 50 ms
  redirect         blobs answered with a 307 to /storage/<hex>
  bearer           every /v2/ request needs "Bearer goodtoken", from /token
                   with Basic tok:secret
  bearer-redirect  bearer, and blobs redirected to http://localhost:PORT/storage/
                   (another host name: the token must not follow; /storage/
                   answers 400 and logs AUTH-LEAK if it does)

Every request is logged to LOG_FILE as "METHOD PATH range=<Range header>".
Usage: fake_registry.py LAYOUT_DIR MODE_FILE LOG_FILE PORT_FILE
"""
import base64
import hashlib
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAYOUT, MODE_FILE, LOG_FILE, PORT_FILE = sys.argv[1:5]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def mode():
    try:
        with open(MODE_FILE) as f:
            return f.read().strip() or "good"
    except OSError:
        return "good"


def blob_path(hexdigest):
    if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
        return None
    p = os.path.join(LAYOUT, "blobs", "sha256", hexdigest)
    return p if os.path.isfile(p) else None


def read_blob(hexdigest):
    with open(blob_path(hexdigest), "rb") as f:
        return f.read()


def tag_digest(tag):
    with open(os.path.join(LAYOUT, "index.json")) as f:
        index = json.load(f)
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m["digest"].split(":", 1)[1], m["mediaType"]
    return None, None


def layer_digests():
    """Digests of every layer of every manifest in the layout."""
    out = set()
    for name in os.listdir(os.path.join(LAYOUT, "blobs", "sha256")):
        try:
            doc = json.loads(read_blob(name))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("layers"), list):
            for layer in doc["layers"]:
                out.add(layer["digest"].split(":", 1)[1])
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_request_line(self):
        with open(LOG_FILE, "a") as f:
            f.write("%s %s range=%s\n" % (self.command, self.path, self.headers.get("Range", "")))

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_bytes(status, body, "application/json", headers)

    def send_bytes(self, status, body, ctype, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, headers=None):
        self.send_json(status, {"errors": [{"code": code, "message": message}]}, headers)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log_request_line()
        m = mode()
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            auth = self.headers.get("Authorization", "")
            want = "Basic " + base64.b64encode(b"tok:secret").decode()
            if auth != want:
                return self.error(401, "UNAUTHORIZED", "bad credentials")
            return self.send_json(200, {"token": "goodtoken", "expires_in": 300})
        if self.path.startswith("/storage/"):
            if self.headers.get("Authorization"):
                with open(LOG_FILE, "a") as f:
                    f.write("AUTH-LEAK %s\n" % self.headers.get("Authorization"))
                return self.error(400, "AUTH_LEAK", "credentials sent to the storage host")
            return self.serve_blob(self.path[len("/storage/"):], m)
        if not self.path.startswith("/v2/"):
            return self.error(404, "NOT_FOUND", "no such endpoint")
        if m.startswith("bearer") and self.headers.get("Authorization") != "Bearer goodtoken":
            challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="fake"' % port
            if self.path != "/v2/":
                repo = self.path[4:].rsplit("/", 2)[0]
                challenge += ',scope="repository:%s:pull"' % repo
            return self.error(401, "UNAUTHORIZED", "authentication required",
                              {"WWW-Authenticate": challenge})
        if self.path == "/v2/":
            return self.send_json(200, {})
        parts = self.path[4:].rsplit("/", 2)
        if len(parts) != 3:
            return self.error(404, "NOT_FOUND", "bad path")
        _repo, kind, ref = parts
        if kind == "manifests":
            return self.serve_manifest(ref, m)
        if kind == "blobs" and ref.startswith("sha256:"):
            if m in ("redirect", "bearer-redirect"):
                self.send_response(307)
                if m == "redirect":
                    self.send_header("Location", "/storage/" + ref[7:])
                else:
                    self.send_header("Location", "http://localhost:%d/storage/%s" % (port, ref[7:]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self.serve_blob(ref[7:], m)
        return self.error(404, "NOT_FOUND", "bad path")

    def serve_manifest(self, ref, m):
        if ref.startswith("sha256:"):
            hexdigest, ctype = ref[7:], None
        else:
            hexdigest, ctype = tag_digest(ref)
        if not hexdigest or not blob_path(hexdigest):
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        body = read_blob(hexdigest)
        doc = json.loads(body)
        ctype = ctype or doc.get("mediaType") or OCI_MANIFEST
        is_manifest = "layers" in doc
        headers = {}
        if m == "bad-json":
            body, ctype = b'{"schemaVersion": 2, "layers": [', OCI_MANIFEST
        elif m == "schema1":
            body = json.dumps({"schemaVersion": 1, "name": "x", "tag": ref,
                               "fsLayers": [], "history": []}).encode()
            ctype = "application/vnd.docker.distribution.manifest.v1+prettyjws"
        elif m == "huge-layer" and is_manifest:
            doc["layers"][0]["size"] = 100 << 30
            body = json.dumps(doc).encode()
        elif m == "big-manifest":
            doc.setdefault("annotations", {})["padding"] = "x" * (5 << 20)
            body = json.dumps(doc).encode()
        if m == "header-digest":
            headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
        elif m in ("huge-layer", "big-manifest", "good") or ref.startswith("sha256:"):
            headers["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
        self.send_bytes(200, body, ctype, headers)
        return None

    def serve_blob(self, hexdigest, m):
        if not blob_path(hexdigest):
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        data = read_blob(hexdigest)
        is_layer = hexdigest in layer_digests()
        if is_layer and m == "digest-mismatch":
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        if is_layer and m == "too-long":
            data = data + b"\0" * 4096
        start = 0
        rng = self.headers.get("Range", "")
        status = 200
        if rng.startswith("bytes=") and rng.endswith("-") and m != "norange":
            start = int(rng[6:-1])
            if start >= len(data):
                return self.error(416, "RANGE_INVALID", "range not satisfiable")
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        if is_layer and m == "truncated":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return None
        if is_layer and m == "truncated":
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        if is_layer and m == "slow":
            for off in range(0, len(body), 32768):
                try:
                    self.wfile.write(body[off:off + 32768])
                    self.wfile.flush()
                except OSError:
                    return None
                time.sleep(0.05)
            return None
        self.wfile.write(body)
        return None


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
