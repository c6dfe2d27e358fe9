#!/usr/bin/env python3
"""The official MLPerf LoadGen (PyPI mlcommons-loadgen, module mlperf_loadgen) against an Open
Inference Protocol v2 server, for bench/loadgen.ts to compare with Scanflow's LoadGen on the same
SUT with the same settings. Prints one JSON line: the fields of mlperf_log_summary.txt that the
benchmark compares, and the CPU time this process used.

  PYTHONPATH=$(scripts/provision-loadgen --print-path) python3 bench/loadgen_official.py \
      --scenario server --qps 640 --duration-ms 16000 --latency-ns 100000000 \
      --url http://127.0.0.1:8090 --model m --bodies /tmp/bodies.json --outdir /tmp/lg

The SUT callback hands each query to a pool of threads, each with its own keep-alive HTTP
connection (LoadGen's issue thread must not block); a sample completes when its response is read.
With --null there is no server: the issue callback completes every sample at once, so a sample's
latency (scheduled -> completed) is LoadGen's issue delay plus one Python callback: the figure set
beside Scanflow's null SUT for the generator-overhead comparison.
"""
import argparse
import http.client
import json
import os
import queue
import re
import resource
import threading
import time
import urllib.parse

import mlperf_loadgen as lg


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", choices=["server", "offline", "singlestream"], default="server")
    p.add_argument("--qps", type=float, default=100)
    p.add_argument("--duration-ms", type=int, default=10000)
    p.add_argument("--min-queries", type=int, default=100)
    p.add_argument("--latency-ns", type=int, default=100_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--null", action="store_true", help="no server: complete every sample in the issue callback")
    p.add_argument("--url")
    p.add_argument("--model")
    p.add_argument("--bodies", help="JSON list of encoded samples (comma-joined pixel strings)")
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--batch", type=int, default=32, help="samples per request for Offline")
    p.add_argument("--outdir", required=True)
    return p.parse_args()


def main():
    a = parse_args()
    if not a.null and not (a.url and a.model and a.bodies):
        raise SystemExit("loadgen_official.py: --url, --model and --bodies are required unless --null")
    if a.null:
        encoded = [""] * 1024
        url = urllib.parse.urlparse("http://unused:1")
    else:
        with open(a.bodies) as f:
            encoded = json.load(f)
        url = urllib.parse.urlparse(a.url)
    path = f"{url.path.rstrip('/')}/v2/models/{urllib.parse.quote(a.model or '')}/infer"

    def body(indices):
        data = ",".join(encoded[i] for i in indices)
        return (
            '{"inputs":[{"name":"images","shape":[%d,784],"datatype":"FP32","data":[%s]}],"outputs":[{"name":"label"}]}'
            % (len(indices), data)
        ).encode()

    work = queue.Queue()
    failures = [0]

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        while True:
            item = work.get()
            if item is None:
                return
            samples = item
            ok = True
            try:
                conn.request("POST", path, body([s.index for s in samples]), {"content-type": "application/json"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except Exception:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            if not ok:
                failures[0] += len(samples)
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(0 if a.null else a.threads)]
    for t in threads:
        t.start()

    def issue(query_samples):
        if a.null:
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in query_samples])
        elif a.scenario == "offline":
            for k in range(0, len(query_samples), a.batch):
                work.put(query_samples[k : k + a.batch])
        else:
            for s in query_samples:
                work.put([s])

    def flush():
        pass

    settings = lg.TestSettings()
    settings.scenario = {
        "server": lg.TestScenario.Server,
        "offline": lg.TestScenario.Offline,
        "singlestream": lg.TestScenario.SingleStream,
    }[a.scenario]
    settings.mode = lg.TestMode.PerformanceOnly
    settings.server_target_qps = a.qps
    settings.offline_expected_qps = a.qps
    settings.server_target_latency_ns = a.latency_ns
    settings.min_duration_ms = a.duration_ms
    settings.min_query_count = a.min_queries
    settings.schedule_rng_seed = a.seed
    settings.sample_index_rng_seed = a.seed
    settings.qsl_rng_seed = a.seed

    os.makedirs(a.outdir, exist_ok=True)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = a.outdir
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = False

    n = len(encoded)
    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(n, n, lambda _: None, lambda _: None)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.time()
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    wall = time.time() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in threads:
        work.put(None)
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)

    with open(os.path.join(a.outdir, "mlperf_log_summary.txt")) as f:
        text = f.read()

    def field(label):
        m = re.search(re.escape(label) + r"\s*:\s*([0-9.eE+-]+|VALID|INVALID)", text)
        return None if m is None else (m.group(1) if m.group(1) in ("VALID", "INVALID") else float(m.group(1)))

    # The reasons an INVALID run prints under "Recommendations:" (bullets up to the next section).
    reasons = []
    m = re.search(r"Recommendations:\n((?: \*.*\n(?:   .*\n)*)+)", text)
    if m:
        reasons = [r.strip().replace("\n   ", " ") for r in m.group(1).split(" * ") if r.strip()]

    detail = {}
    with open(os.path.join(a.outdir, "mlperf_log_detail.txt")) as f:
        for line in f:
            if line.startswith(":::MLLOG"):
                try:
                    rec = json.loads(line[len(":::MLLOG") :])
                    detail[rec["key"]] = rec["value"]
                except Exception:
                    pass
    print(
        json.dumps(
            {
                "generator": "official",
                "result": field("Result is"),
                "completedSamplesPerSecond": detail.get("result_completed_samples_per_sec"),
                "scheduledSamplesPerSecond": detail.get("result_scheduled_samples_per_sec"),
                "samplesPerSecond": detail.get("result_samples_per_second"),
                "queries": detail.get("result_query_count"),
                "p50Ns": detail.get("result_50.00_percentile_latency_ns"),
                "p99Ns": detail.get("result_99.00_percentile_latency_ns"),
                "overLatency": detail.get("result_overlatency_query_count"),
                "failed": failures[0],
                "reasons": [" ".join(r.split()) for r in reasons],
                "cpuSeconds": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
                "wallSeconds": wall,
            }
        )
    )


if __name__ == "__main__":
    main()
