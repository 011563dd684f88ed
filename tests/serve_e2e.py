#!/usr/bin/python3
"""End-to-end checks of `onestone serve` against a running server (run by tests/test_serve.c).

usage: serve_e2e.py ONESTONE_BIN MODEL_DIR REPO_DIR SCRATCH_DIR

Standard library only. Every server listens on an ephemeral port (--port 0, read from its first stdout
line), so parallel ctest runs do not collide. Exits 1 after printing every failed check.
"""
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

BIN, MODEL, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[4]
TOKEN = "s3cret-token-for-tests"
TASKS = ["ner", "relation", "sentiment", "topics", "score"]
MARKED = "the <e1>cat</e1> sat on the <e2>mat</e2> ."
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


class Server:
    """One `onestone serve` process; stderr goes to a file, checked for sanitizer reports at the end."""

    def __init__(self, *args):
        self.err_path = os.path.join(SCRATCH, "serve_e2e_%d.err" % time.monotonic_ns())
        self.err = open(self.err_path, "w")
        full_env = {k: v for k, v in os.environ.items() if k != "ONESTONE_SERVE_TOKEN"}
        self.proc = subprocess.Popen([BIN, "serve", MODEL, "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=self.err, env=full_env)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().decode() if ready else ""
        if "listening on http://127.0.0.1:" not in line:
            self.stop()
            raise RuntimeError("server did not start: %r; stderr: %s" % (line, self.stderr()))
        self.port = int(line.split("127.0.0.1:")[1].split()[0])

    def request(self, method, path, body=None, token=TOKEN, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data

    def predict(self, body, **kw):
        status, headers, data = self.request("POST", "/v1/predict", body, **kw)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        return status, parsed

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.err.close()
        return rc


def check_clean_exit(srv, name):
    rc = srv.stop()
    err = srv.stderr()
    check(rc == 0, "%s: server exit status %d, stderr: %s" % (name, rc, err[-2000:]))
    check("Sanitizer" not in err and "runtime error" not in err, "%s: sanitizer report:\n%s" % (name, err[-4000:]))
    return err


def test_startup_refusals():
    no_env = {k: v for k, v in os.environ.items() if k != "ONESTONE_SERVE_TOKEN"}
    r = subprocess.run([BIN, "serve", MODEL, "--port", "0"], capture_output=True, env=no_env, timeout=60)
    check(r.returncode == 2 and b"--no-auth" in r.stderr, "no access control: exit %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([BIN, "serve", MODEL, "--token-file", os.path.join(SCRATCH, "no_such_token")],
                       capture_output=True, env=no_env, timeout=60)
    check(r.returncode == 4 and b"no_such_token" in r.stderr, "missing token file: %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([BIN, "serve", MODEL, "--token-env", "ONESTONE_TEST_UNSET_VAR"], capture_output=True,
                       env=no_env, timeout=60)
    check(r.returncode == 2 and b"ONESTONE_TEST_UNSET_VAR" in r.stderr, "unset token variable: %r" % r.stderr)
    r = subprocess.run([BIN, "serve", MODEL, "--no-auth", "--token-env", "X"], capture_output=True, env=no_env,
                       timeout=60)
    check(r.returncode == 2, "--no-auth with a token must be refused: %d" % r.returncode)
    r = subprocess.run([BIN, "serve", os.path.join(SCRATCH, "no_such_model"), "--no-auth", "--port", "0"],
                       capture_output=True, env=no_env, timeout=60)
    check(r.returncode == 4 and b"no_such_model" in r.stderr, "missing model: %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([BIN, "serve", MODEL, "--no-auth", "--max-batch", "0"], capture_output=True, timeout=60)
    check(r.returncode == 2 and b"--max-batch" in r.stderr, "bad --max-batch: %r" % r.stderr)


def test_main_server():
    token_file = os.path.join(SCRATCH, "serve_e2e_token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    srv = Server("--token-file", token_file, "--max-body-bytes", "4096", "--max-text-bytes", "300",
                 "--max-queue", "64", "--max-wait-ms", "20")
    try:
        # Health and the page need no token.
        status, _, data = srv.request("GET", "/healthz", token=None)
        check(status == 200 and json.loads(data) == {"status": "ok"}, "healthz: %d %r" % (status, data))
        status, headers, data = srv.request("GET", "/", token=None)
        check(status == 200 and headers.get("Content-Type", "").startswith("text/html") and b"<html" in data
              and b"/v1/predict" in data, "GET / serves the page: %d" % status)

        # Access control.
        status, body = srv.predict({"text": "the cat"}, token=None)
        check(status == 401 and "token" in body["error"], "no token: %d %r" % (status, body))
        status, body = srv.predict({"text": "the cat"}, token="wrong")
        check(status == 401, "wrong token: %d" % status)
        status, body = srv.predict({"text": "the cat"}, token=TOKEN + "x")
        check(status == 401, "token with a suffix: %d" % status)
        status, body = srv.predict({"text": "the cat"}, token=TOKEN[:-1])
        check(status == 401, "token prefix: %d" % status)
        status, _, _ = srv.request("GET", "/metrics", token=None)
        check(status == 401, "metrics need the token: %d" % status)
        status, _, _ = srv.request("GET", "/v1/model", token="nope")
        check(status == 401, "model metadata needs the token: %d" % status)

        # Good requests: every task from one text; a batch; a task subset.
        status, body = srv.predict({"text": MARKED})
        check(status == 200 and set(body["prediction"]) == set(TASKS), "one text, every task: %d %r" % (status, body))
        if status == 200:
            p = body["prediction"]
            check(p["relation"] is not None and p["relation"]["label"] in ("Cause-Effect(e1,e2)", "Other"),
                  "relation of a marked text: %r" % p["relation"])
            check(all(w["label"] == "B-PER" for w in p["ner"]["words"]) and len(p["ner"]["words"]) == 11,
                  "ner words: %r" % p["ner"])
            check(0.5 <= p["sentiment"]["score"] <= 1 and set(p["topics"]["scores"]) == {"animals", "places", "food"},
                  "sentiment/topics: %r" % p)
            check(isinstance(p["score"]["value"], float), "regression value: %r" % p["score"])
        status, body = srv.predict({"texts": ["the cat sat", "a dog ran ."], "tasks": ["sentiment", "ner"]})
        check(status == 200 and len(body["predictions"]) == 2
              and all(set(p) == {"sentiment", "ner"} for p in body["predictions"]), "task subset: %r" % body)
        status, body = srv.predict({"text": "the cat sat"})
        check(status == 200 and body["prediction"]["relation"] is None, "unmarked text: relation null: %r" % body)
        # Same answer as the command line's `onestone predict` for the same text.
        cli = subprocess.run([BIN, "predict", MODEL], input=(MARKED + "\n").encode(), capture_output=True, timeout=60)
        status, body = srv.predict({"text": MARKED})
        check(cli.returncode == 0 and json.loads(cli.stdout) == body["prediction"], "matches onestone predict")
        status, _, data = srv.request("GET", "/v1/model")
        model = json.loads(data) if status == 200 else {}
        check([t["name"] for t in model.get("tasks", [])] == TASKS and model["tasks"][1]["level"] == "entity_pair",
              "model metadata: %r" % model)

        # Malformed requests: 400 with a message naming the problem.
        for raw, needle in [(b"{not json", "malformed JSON"), (b"", "malformed JSON"), (b"[1, 2]", "object"),
                            (b'{"texts": "x"}', "texts"), (b'{"text": 5}', "text"), (b'{"texts": []}', "texts"),
                            (b'{"texts": ["a", 3]}', "texts\"[1]"), (b'{"text": "a", "texts": ["b"]}', "exactly one"),
                            (b'{"txt": "a"}', "unknown field"), (b'{"text": "a", "tasks": ["nope"]}', "nope"),
                            (b'{"text": "a", "tasks": "ner"}', "tasks"), (b'{"text": "a\\u0000b"}', "malformed"),
                            (b'{"text": "a", "text": "b"}', "malformed")]:
            status, body = srv.predict(raw)
            check(status == 400 and body and needle in body.get("error", ""), "bad body %r: %d %r" % (raw, status, body))
        status, _, _ = srv.request("GET", "/v1/predict")
        check(status == 405, "GET /v1/predict: %d" % status)
        status, _, _ = srv.request("GET", "/nope")
        check(status == 404, "unknown path: %d" % status)

        # Limits: the body (declared length, and chunked without one) and one text.
        status, body = srv.predict({"text": "cat " * 2000})
        check(status == 413 and "body" in body["error"], "oversize body: %d %r" % (status, body))
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        chunks = (b'{"text": "' + b"cat " * 500 + b'"' if i == 0 else b" " * 1000 for i in range(8))
        conn.request("POST", "/v1/predict", body=chunks, headers={"Authorization": "Bearer " + TOKEN},
                     encode_chunked=True)
        resp = conn.getresponse()
        check(resp.status == 413, "oversize chunked body: %d" % resp.status)
        resp.read()
        conn.close()
        status, body = srv.predict({"text": "cat " * 100})
        check(status == 413 and "text" in body["error"] and "300" in body["error"], "text too long: %r" % body)
        status, body = srv.predict({"texts": ["a"] * 65})
        check(status == 413 and "limit" in body["error"], "more texts than the queue holds: %d %r" % (status, body))

        # Concurrent clients: each gets its own text's answer, the same as asked alone (up to float rounding of
        # padded batches), and requests share encoder passes.
        texts = ["the cat sat on the mat .", "a dog ran", "cats , dogs and the mat", "the mat", MARKED,
                 "dog", "the cat and the dog sat on a mat .", "a mat , a cat"]
        alone = {t: srv.predict({"text": t})[1]["prediction"] for t in texts}
        results, errors = [], []

        def client(k):
            for r in range(6):
                t = texts[(k + r) % len(texts)]
                try:
                    status, body = srv.predict({"text": t})
                    results.append((t, status, body))
                except Exception as e:  # noqa: BLE001 - any client failure is a test failure
                    errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        check(not errors and len(results) == 96, "concurrent clients: %d answers, errors %r" % (len(results), errors))
        for t, status, body in results:
            ok = status == 200
            if ok:
                got, want = body["prediction"], alone[t]
                ok = got["sentiment"]["label"] == want["sentiment"]["label"] and \
                    abs(got["sentiment"]["score"] - want["sentiment"]["score"]) < 1e-4 and \
                    [w["word"] for w in got["ner"]["words"]] == [w["word"] for w in want["ner"]["words"]] and \
                    abs(got["score"]["value"] - want["score"]["value"]) < 1e-4
            if not check(ok, "concurrent answer for %r: %d %r" % (t, status, body)):
                break

        # Metrics: Prometheus text with the counters, histograms and gauges, consistent with what was sent.
        status, headers, data = srv.request("GET", "/metrics")
        text = data.decode()
        check(status == 200 and headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
              "metrics: %d %r" % (status, headers))
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        check(values.get('onestone_http_requests_total{endpoint="/v1/predict",code="401"}') == 4,
              "401s counted: %r" % values.get('onestone_http_requests_total{endpoint="/v1/predict",code="401"}'))
        check(values.get('onestone_http_requests_total{endpoint="/v1/predict",code="413"}') == 4, "413s counted")
        check(values.get("onestone_http_errors_total", 0) >= 4 + 4 + 13 + 3, "errors counted")
        n_predict = values.get("onestone_request_duration_seconds_count", 0)
        check(n_predict == values.get('onestone_request_duration_seconds_bucket{le="+Inf"}'), "latency histogram")
        n_texts, n_passes = values.get("onestone_texts_total", 0), values.get("onestone_batch_size_count", 0)
        check(n_texts == 96 + len(texts) + 5, "texts counted: %r" % n_texts)
        check(0 < n_passes < n_texts, "dynamic batching: %r texts in %r encoder passes" % (n_texts, n_passes))
        check(values.get("onestone_tokens_total", 0) > n_texts and values.get("onestone_tokens_per_second", 0) > 0,
              "tokens and tokens/s")
        check("# TYPE onestone_request_duration_seconds histogram" in text and "onestone_queue_texts 0" in text,
              "metric types")
    finally:
        check_clean_exit(srv, "main server")


def test_full_queue():
    # The first request's 3 texts wait up to 2 s for a batch of 100 to fill; meanwhile the queue (4 texts)
    # has no room for 2 more: 429. The first request is then answered.
    srv = Server("--no-auth", "--max-queue", "4", "--max-batch", "100", "--max-wait-ms", "2000")
    try:
        first = {}
        th = threading.Thread(target=lambda: first.update(r=srv.predict({"texts": ["a", "b", "c"]}, token=None)))
        th.start()
        time.sleep(0.5)
        status, headers, data = srv.request("POST", "/v1/predict", {"texts": ["d", "e"]}, token=None)
        check(status == 429 and headers.get("Retry-After") == "1", "full queue: %d %r" % (status, data))
        status, body = srv.predict({"text": "f"}, token=None)
        check(status == 200, "one more text still fits: %d" % status)
        th.join()
        check(first["r"][0] == 200 and len(first["r"][1]["predictions"]) == 3, "queued request answered")
    finally:
        check_clean_exit(srv, "full-queue server")


def test_sigterm_finishes_in_flight():
    # Requests in the queue when SIGTERM arrives are answered before the server exits 0; new connections
    # are refused from then on.
    srv = Server("--no-auth", "--max-batch", "100", "--max-wait-ms", "1500")
    answers = []

    def client(t):
        answers.append(srv.predict({"text": t}, token=None))

    threads = [threading.Thread(target=client, args=(t,)) for t in ("the cat", "a dog", "the mat")]
    for th in threads:
        th.start()
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    refused = False
    try:
        srv.request("GET", "/healthz", token=None, timeout=5)
    except OSError:
        refused = True
    check(refused, "new connections are refused while draining")
    for th in threads:
        th.join()
    check(len(answers) == 3 and all(s == 200 and b["prediction"]["sentiment"] for s, b in answers),
          "in-flight requests answered after SIGTERM: %r" % answers)
    err = check_clean_exit(srv, "sigterm server")
    check("finishing 3 requests in flight" in err, "drain message: %r" % err)


def main():
    test_startup_refusals()
    test_main_server()
    test_full_queue()
    test_sigterm_finishes_in_flight()
    if failures:
        print("%d checks failed" % len(failures), file=sys.stderr)
        return 1
    print("serve_e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
