#!/usr/bin/python3
"""A loopback HTTP proxy that verifies AWS SigV4 signatures, for tests of the S3 store.

s3rver (the S3 server the tests use) does not check SigV4 signatures. This proxy sits in
front of it: for every request it recomputes the signature with botocore (Debian's
python3-botocore, an independent implementation) from the request as received and the
known secret, and answers 403 SignatureDoesNotMatch on a mismatch (also 400
XAmzContentSHA256Mismatch when x-amz-content-sha256 is not the body's hash); verified
requests are forwarded to the upstream server unchanged.

Canonicalization is done independently of how the client encoded its URL: the path is
decoded and re-encoded with the SigV4 rules, the query decoded and re-encoded and sorted
(as S3 does), so a client that signs something other than what it sends is caught.

Admin endpoints (unsigned, path prefix /__verifier/, never forwarded):
  GET  /__verifier/stats                 JSON counters: verified, rejected, injected,
                                         by_method {GET: n, ...} (verified requests)
  POST /__verifier/reset                 zero the counters, clear injections
  POST /__verifier/inject?status=503&count=2[&code=SlowDown][&method=PUT][&delay_ms=N]
       the next `count` verified requests (of `method`, if given) get that error
       instead of being forwarded; status=0: the connection is closed without a reply
       (a reset); delay_ms: the reply (error, or the forwarded one with status=0) comes
       after N ms (a server slower than the client's timeout).

Usage: sigv4_proxy.py --upstream HOST:PORT --port-file FILE [--credentials AK:SECRET]...
                      [--region us-east-1] [--listen ADDR] [--verbose]
Listens on ADDR (default 127.0.0.1), an ephemeral port written to FILE once listening.
"""

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import sys
import socket
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection",
              "te", "trailer", "upgrade"}
_local = threading.local()  # per handler thread: a kept-alive upstream connection
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,"
    r"\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.secrets = dict(c.split(":", 1) for c in args.credentials)
        self.region = args.region
        self.upstream = args.upstream
        self.verbose = args.verbose
        self.reset()

    def reset(self):
        self.stats = {"verified": 0, "rejected": 0, "injected": 0, "by_method": {}}
        self.injections = []  # [status, code, method, remaining, delay_ms]


class VerifyError(Exception):
    def __init__(self, status, code, message, extra=None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


def error_xml(code, message, extra=None):
    parts = [f"<Code>{escape(code)}</Code>", f"<Message>{escape(message)}</Message>"]
    for k, v in (extra or {}).items():
        parts.append(f"<{k}>{escape(v)}</{k}>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) +
            "</Error>").encode()


def verify(state, method, raw_path, headers, body):
    """Raises VerifyError unless the request carries a valid SigV4 signature."""
    auth = headers.get("Authorization")
    if not auth:
        raise VerifyError(403, "AccessDenied", "no Authorization header")
    m = AUTH_RE.match(auth.strip())
    if not m:
        raise VerifyError(400, "AuthorizationHeaderMalformed", "bad Authorization header")
    access_key, scope_date, region, service, signed_list, provided = m.groups()
    secret = state.secrets.get(access_key)
    if secret is None:
        raise VerifyError(403, "InvalidAccessKeyId", "unknown access key")
    amz_date = headers.get("x-amz-date", "")
    if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != scope_date:
        raise VerifyError(403, "AccessDenied", "bad or missing x-amz-date")
    if region != state.region or service != "s3":
        raise VerifyError(400, "AuthorizationHeaderMalformed", f"bad scope {region}/{service}")
    signed = signed_list.split(";")
    required = ["host", "x-amz-content-sha256", "x-amz-date"]
    if "x-amz-security-token" in headers:
        required.append("x-amz-security-token")
    for name in required:
        if name not in signed:
            raise VerifyError(403, "AccessDenied", f"header {name} is not signed")
    if signed != sorted(set(signed)):
        raise VerifyError(403, "SignatureDoesNotMatch", "SignedHeaders not sorted/unique")
    payload_hash = headers.get("x-amz-content-sha256", "")
    if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
        raise VerifyError(400, "XAmzContentSHA256Mismatch",
                          "x-amz-content-sha256 does not match the body")

    split = urllib.parse.urlsplit(raw_path)
    path = urllib.parse.quote(urllib.parse.unquote(split.path), safe="/~")
    params = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
    sign_headers = {}
    for name in signed:
        values = headers.get_all(name)
        if values is None:
            raise VerifyError(403, "AccessDenied", f"signed header {name} is missing")
        sign_headers[name] = ",".join(values)
    request = AWSRequest(method=method, url="http://" + sign_headers["host"] + path,
                         headers=sign_headers, data=body)
    request.params = params
    request.context["timestamp"] = amz_date
    signer = S3SigV4Auth(Credentials(access_key, secret, headers.get("x-amz-security-token")),
                         "s3", region)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, provided):
        raise VerifyError(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature "
                          "you provided. Check your key and signing method.",
                          {"AWSAccessKeyId": access_key, "CanonicalRequest": canonical})


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set in main

    def log_message(self, fmt, *args):
        if self.state.verbose:
            sys.stderr.write("sigv4_proxy: " + (fmt % args) + "\n")

    def do_GET(self): self.handle_any()
    def do_PUT(self): self.handle_any()
    def do_HEAD(self): self.handle_any()
    def do_DELETE(self): self.handle_any()
    def do_POST(self): self.handle_any()

    def reply(self, status, body=b"", headers=None, content_type="application/xml"):
        self.send_response(status)
        for k, v in (headers or []):
            self.send_header(k, v)
        if not any(k.lower() == "content-type" for k, _ in (headers or [])) and body:
            self.send_header("Content-Type", content_type)
        if not any(k.lower() == "content-length" for k, _ in (headers or [])):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise VerifyError(501, "NotImplemented", "chunked uploads are not supported here")
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def admin(self):
        st = self.state
        split = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(split.query))
        with st.lock:
            if split.path == "/__verifier/stats":
                body = json.dumps(st.stats).encode()
                return self.reply(200, body, content_type="application/json")
            if split.path == "/__verifier/reset":
                st.reset()
            elif split.path == "/__verifier/inject":
                st.injections.append([int(q.get("status", "503")), q.get("code", "InternalError"),
                                      q.get("method"), int(q.get("count", "1")),
                                      int(q.get("delay_ms", "0"))])
            else:
                return self.reply(404)
        self.reply(204)

    def take_injection(self):
        with self.state.lock:
            for inj in self.state.injections:
                if inj[3] > 0 and (inj[2] is None or inj[2] == self.command):
                    inj[3] -= 1
                    self.state.stats["injected"] += 1
                    return inj[0], inj[1], inj[4]
        return None

    def handle_any(self):
        try:
            body = self.read_body()
            if self.path.startswith("/__verifier/"):
                return self.admin()
            verify(self.state, self.command, self.path, self.headers, body)
        except VerifyError as e:
            with self.state.lock:
                self.state.stats["rejected"] += 1
            sys.stderr.write(f"sigv4_proxy: rejected {self.command} {self.path}: {e.code}: "
                             f"{e.message}\n")
            return self.reply(e.status, error_xml(e.code, e.message, e.extra))
        with self.state.lock:
            st = self.state.stats
            st["verified"] += 1
            st["by_method"][self.command] = st["by_method"].get(self.command, 0) + 1
        injected = self.take_injection()
        if injected:
            status, code, delay_ms = injected
            if delay_ms:
                time.sleep(delay_ms / 1000.0)
            if status == 0 and not delay_ms:  # a reset: no reply at all
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if status != 0:
                return self.reply(status, error_xml(code, "injected by sigv4_proxy"))
        self.forward(body)

    def forward(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            conn = getattr(_local, "conn", None)
            if conn is None:
                conn = _local.conn = http.client.HTTPConnection(self.state.upstream, timeout=60)
            try:
                conn.request(self.command, self.path, body=body if body else None,
                             headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                _local.conn = None
                if attempt == 2:
                    return self.reply(502, error_xml("BadGateway", f"upstream: {e}"))
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        if self.command != "HEAD" and not any(k.lower() == "content-length" for k, _ in out):
            out.append(("Content-Length", str(len(data))))
        self.reply(resp.status, data, out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--credentials", action="append", default=[])
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not args.credentials:
        args.credentials = ["S3RVER:S3RVER"]
    Handler.state = State(args)
    server = http.server.ThreadingHTTPServer((args.listen, 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
