#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rebuild the seed corpora of tests/fuzz/corpus from the repository's own
examples: the C string literals of the unit tests that exercise each parser,
the JSON blocks of docs/api.md, and the first rows of the shared traces.
Run by hand when the examples change (the corpora are committed; the fuzzers
add what they find to a copy, never to these directories). Files are named by
the hash of their content, as libFuzzer names them, so a rerun adds nothing
twice; hand-written seeds (regression inputs included) are kept."""
import hashlib, json, os, re, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")

def c_strings(path):
    """Each run of adjacent C string literals in path, concatenated and unescaped."""
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    lit = r'"(?:[^"\\\n]|\\.)*"'
    for m in re.finditer(r'(%s(?:\s*%s)*)' % (lit, lit), text):
        parts = re.findall(lit, m.group(1))
        raw = "".join(p[1:-1] for p in parts)
        try:
            yield raw.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError):
            continue

def md_json_blocks(path):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    for m in re.finditer(r"```json\n(.*?)```", text, re.S):
        yield m.group(1).encode()

def add(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def main():
    dev = ["dev-p000-r000-n00", "dev-p000-r000-n01", "dev-p000-r001-n00"]
    # Job requests: the request tests' bodies and the example in docs/api.md.
    for s in c_strings("tests/unit/ctld/test_request.c"):
        if s.lstrip().startswith(b"{"):
            add("job_request", s)
    for b in md_json_blocks("docs/api.md"):
        if b'"command"' in b and b'"launch"' not in b:
            add("job_request", b)
    # Agent protocol bodies: the docs' examples with the dev facility's node names.
    for b in md_json_blocks("docs/api.md"):
        if b'"agent"' in b or b'"agent_id"' in b and b'"running"' in b:
            add("agent_proto", re.sub(rb"narvik-\.\.\.-n0(\d)", lambda m: dev[int(m.group(1))].encode(), b).replace(b'"..."', b'"%s"' % dev[2].encode()))
    add("agent_proto", json.dumps({"agent": "a", "nodes": dev}).encode())
    add("agent_proto", json.dumps({"agent_id": "a", "seq": 3, "full": False,
                                   "running": [{"job": 1, "run": 1, "node": dev[0]}],
                                   "exits": [{"job": 2, "run": 1, "node": dev[1], "exit_code": 127,
                                              "signal": 0, "timeout": False, "cpu_s": 0,
                                              "max_rss_kb": 0, "start_time": 1.5, "end_time": 2.5,
                                              "reason": "exec /no/such: No such file"}]}).encode())
    # Controller answers, as the agent decodes them.
    for s in c_strings("tests/unit/agent/test_proto.c"):
        if s.lstrip().startswith(b"{"):
            add("agent_answer", s)
    for b in md_json_blocks("docs/api.md"):
        if b'"launch"' in b:
            add("agent_answer", b)
    add("agent_answer", b'{"agent_id": "host1-1234", "sync_interval_ms": 200, "node_timeout_ms": 5000}')
    add("agent_answer", b'{"nodes": [{"name": "dev-p000-r000-n00"}, {"name": "dev-p000-r000-n01"}]}')
    add("agent_answer", b'{"error": {"status": 400, "code": "invalid_field", "message": "gpus: 0"}}')
    # Facility and tenants files: the model tests' examples, good and bad.
    for s in c_strings("tests/unit/core/test_model.c"):
        if b"[site" in s or b"racks" in s or b"pue" in s:
            add("facility", s)
        if b"[tier" in s or b"[tenant" in s:
            add("tenants", s)
    # Traces: the test's rows and the head of each shared trace.
    for s in c_strings("tests/unit/sim/test_workload.c"):
        if s.startswith(b"job_id,"):
            add("trace", s)
    traces = os.path.join(ROOT, "..", "shared", "traces")
    for p in ("/work/shared/traces", traces):
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                if f.endswith(".csv"):
                    with open(os.path.join(p, f), "rb") as fh:
                        add("trace", b"".join(fh.readline() for _ in range(30)))
            break
    # Request targets ("METHOD TARGET").
    for t in [b"GET /v1/jobs", b"GET /v1/jobs/42", b"DELETE /v1/jobs/099", b"GET /v1/jobs/1%32",
              b"POST /v1/agent/sync", b"GET /v1/jobs?state=RUNNING,pending&tenant=uk&limit=10",
              b"GET /v1/n%C3%B8des", b"GET /v1/jobs/%zz", b"GET /v1/%00", b"PUT /healthz",
              b"GET /v1/jobs/18446744073709551616", b"GET /metrics"]:
        add("http_target", t)

if __name__ == "__main__":
    sys.exit(main())
