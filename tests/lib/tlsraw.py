#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tlsraw.py - HTTP/1.1 over TLS to nordlysd, with the TLS records cut as
the test asks, to check the controller's receive buffer under GnuTLS
(src/ctld/tlsconn.c): bytes read past one record must be served, never
lost or left waiting.

  tlsraw.py --port P --ca CA.pem --token T MODE

MODE:
  pipeline  two requests in one TLS record, then two more as two records
            written back to back: four whole answers, in order
  bytewise  a job submission sent one byte per TLS record: 201
  bigbody   a job whose env holds 100,000 bytes (several full records),
            then the same job read back: the value arrived whole

Prints one line per answer; exit 0 when every answer is as expected,
1 otherwise (naming what differed).
"""
import argparse
import json
import socket
import ssl
import sys


def connect(args):
    ctx = ssl.create_default_context(cafile=args.ca)
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=60)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def request(args, method, path, body=None):
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {args.token}\r\n")
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


class Reader:
    """Whole HTTP/1.1 answers (Content-Length framed) from one connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("tlsraw: the controller closed the connection early")
        self.buf += chunk

    def answer(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, json.loads(body) if body else None


def fail(why):
    print(f"tlsraw: {why}", file=sys.stderr)
    sys.exit(1)


def expect(got, status, what):
    print(f"{what}: {got[0]}")
    if got[0] != status:
        fail(f"{what}: status {got[0]}, want {status}: {got[1]}")
    return got[1]


def pipeline(args):
    s = connect(args)
    r = Reader(s)
    health = request(args, "GET", "/v1/health")
    nodes = request(args, "GET", "/v1/nodes")
    s.sendall(health + nodes)  # one record, two requests
    expect(r.answer(), 200, "pipelined health")
    got = expect(r.answer(), 200, "pipelined nodes")
    if "nodes" not in got:
        fail(f"pipelined nodes: not a node list: {got}")
    s.sendall(nodes)  # two records, back to back
    s.sendall(health)
    expect(r.answer(), 200, "back-to-back nodes")
    got = expect(r.answer(), 200, "back-to-back health")
    if got.get("status") != "ok":
        fail(f"back-to-back health: {got}")
    s.close()


def bytewise(args):
    s = connect(args)
    r = Reader(s)
    req = request(args, "POST", "/v1/jobs", {"name": "bytewise", "gpus": 1,
                                             "command": ["true"]})
    for i in range(len(req)):
        s.sendall(req[i:i + 1])
    got = expect(r.answer(), 201, f"{len(req)} one-byte records")
    if got.get("job", {}).get("name") != "bytewise":
        fail(f"bytewise: not the job sent: {got}")
    s.close()


def bigbody(args):
    s = connect(args)
    r = Reader(s)
    big = "".join(chr(ord("a") + i % 26) for i in range(100000))
    s.sendall(request(args, "POST", "/v1/jobs", {"name": "bigbody", "gpus": 1,
                                                 "command": ["true"], "env": {"BIG": big}}))
    job = expect(r.answer(), 201, "100 KB body")["job"]["id"]
    s.sendall(request(args, "GET", f"/v1/jobs/{job}"))
    got = expect(r.answer(), 200, "read back")
    if got["job"].get("env", {}).get("BIG") != big:
        fail("bigbody: the env value read back differs from the one sent")
    s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("mode", choices=["pipeline", "bytewise", "bigbody"])
    args = p.parse_args()
    {"pipeline": pipeline, "bytewise": bytewise, "bigbody": bigbody}[args.mode](args)


if __name__ == "__main__":
    main()
