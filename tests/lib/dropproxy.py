#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dropproxy.py - an HTTP proxy between an agent and nordlysd that loses
chosen sync answers, for the fault suite (tests/faults/control_lost_answer.sh).

    dropproxy.py UPSTREAM_URL PORT_FILE LOG [--drop KEY]... [--hold FILE]

Every request goes to the controller and is answered there; the answer to a
POST /v1/agent/sync is then lost on the way back (the connection is closed
without a byte of it) when:
  - --drop KEY: it is the first answer to carry a non-empty KEY ("signal",
    "limit"); each --drop loses one answer;
  - --hold FILE: FILE exists and the answer carries a "signal" or "limit".
So the controller has written its answer, as when a connection drops after
it, and the agent sees no answer at all. Faults follow what the answers
carry, never the clock. LOG gets one line per sync answer: "drop" or
"pass", then the seqs of its signals and limits ("signal=3,4 limit=").
Listens on 127.0.0.1, an ephemeral port written to PORT_FILE.
"""
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse

upstream = urllib.parse.urlsplit(sys.argv[1])
port_file, log_path = sys.argv[2], sys.argv[3]
drops, hold = [], None
args = sys.argv[4:]
while args:
    if args[0] == "--drop" and len(args) > 1:
        drops.append(args[1])
    elif args[0] == "--hold" and len(args) > 1:
        hold = args[1]
    else:
        sys.exit("dropproxy: bad arguments: %s" % " ".join(args))
    args = args[2:]
lock = threading.Lock()


def seqs(answer, key):
    return [str(c.get("seq", "")) for c in answer.get(key) or []]


def verdict(body):
    """'drop' or 'pass' for a sync answer, and its log line's tail."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "pass", "unreadable"
    sig, lim = seqs(answer, "signal"), seqs(answer, "limit")
    what = "signal=%s limit=%s" % (",".join(sig), ",".join(lim))
    with lock:
        if hold and os.path.exists(hold) and (sig or lim):
            return "drop", what
        for i, key in enumerate(drops):
            if answer.get(key):
                del drops[i]
                return "drop", what
    return "pass", what


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        up = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            up.request(self.command, self.path, body=body, headers=headers)
            r = up.getresponse()
            data = r.read()
        except OSError:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        finally:
            up.close()
        if self.command == "POST" and self.path.startswith("/v1/agent/sync") and r.status == 200:
            v, what = verdict(data)
            with lock, open(log_path, "a") as log:
                log.write("%s %s\n" % (v, what))
            if v == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        self.send_response(r.status)
        for k, val in r.getheaders():
            if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                self.send_header(k, val)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(tmp, port_file)
server.serve_forever()
