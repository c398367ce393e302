#!/usr/bin/env python3
"""Times the dashboard's host-page query against a running lxmon-server.

    query_latency.py URL PASSWORD WEEK_IDS MONTH_IDS QUERIES [SEED] > query-latency.json

For each range (1 h, 24 h, 7 d, 30 d, 1 y) it sends QUERIES requests of
GET /api/servers/{id}/metrics?names=<the host page's chart metrics>&from=&to=&step=
for hosts drawn at random from the id files (one id per line): up to 7 d
from WEEK_IDS (hosts with at least 7 days of history), 30 d and 1 y from
MONTH_IDS (hosts with a month of history). The step is the one
the dashboard asks for (web/src/lib/step.ts chooseStep: the smallest round step
giving at most one point per pixel of a 1000 px chart, and no finer than the
host's interval). One keep-alive connection, requests one at a time; each
latency is from sending the request to the last byte of the body (the JSON is
parsed afterwards, outside the timing). Ranges take turns, query by query, so
load on the machine affects them alike.
"""

import http.client
import json
import random
import sys
import time
from urllib.parse import urlparse

# web/src/pages/server/charts.ts CHART_METRICS (the host page's main query).
CHART_METRICS = [
    "cpu.usage_percent", "cpu.user_percent", "cpu.system_percent", "cpu.iowait_percent",
    "cpu.steal_percent", "load.1m", "load.5m", "load.15m", "mem.used_bytes",
    "mem.cached_bytes", "mem.buffers_bytes", "mem.total_bytes", "swap.used_bytes",
    "fs.used_percent", "disk.read_bytes_per_sec", "disk.write_bytes_per_sec",
    "net.rx_bytes_per_sec", "net.tx_bytes_per_sec",
]
NICE_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
                21600, 43200, 86400, 172800, 604800]
RANGES = [("1h", 3600), ("24h", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400), ("1y", 365 * 86400)]
WIDTH_PX = 1000


def choose_step(range_s, width, min_step_s):
    wanted = max(-(-range_s // width), min_step_s, 1)
    return next((s for s in NICE_STEPS_S if s >= wanted), wanted)


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    i = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return round(sorted_ms[i], 2)


def main():
    url, password, week_file, month_file = sys.argv[1:5]
    queries = int(sys.argv[5])
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    week_ids = [int(l) for l in open(week_file) if l.strip()]
    month_ids = [int(l) for l in open(month_file) if l.strip()]
    host_ids = month_ids + week_ids
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def call(method, path, body=None, token=None):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        t0 = time.perf_counter()
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data, (time.perf_counter() - t0) * 1000

    status, data, _ = call("POST", "/api/auth/login", {"username": "admin", "password": password})
    assert status == 200, data
    token = json.loads(data)["token"]
    status, data, _ = call("GET", "/api/servers", token=token)
    intervals = {h["id"]: (h.get("interval_s") or 10) for h in json.loads(data)}

    rng = random.Random(seed)
    names = ",".join(CHART_METRICS)
    results = {k: {"ms": [], "series": [], "points": [], "bytes": [], "tier": set(), "step_s": set()} for k, _ in RANGES}
    errors = 0
    for _ in range(queries):
        for key, range_s in RANGES:
            host = rng.choice(month_ids if range_s > 7 * 86400 else week_ids)
            step = choose_step(range_s, WIDTH_PX, intervals.get(host, 10))
            to = int(time.time() * 1000)
            path = f"/api/servers/{host}/metrics?names={names}&from={to - range_s * 1000}&to={to}&step={step}"
            status, data, ms = call("GET", path, token=token)
            r = results[key]
            if status != 200:
                errors += 1
                print(f"{key} host {host}: {status} {data[:200]!r}", file=sys.stderr)
                continue
            body = json.loads(data)
            r["ms"].append(ms)
            r["series"].append(len(body["series"]))
            r["points"].append(sum(sum(v is not None for v in s["values"]) for s in body["series"]))
            r["bytes"].append(len(data))
            r["tier"].add(body.get("tier"))
            r["step_s"].add(body.get("step_s"))
    out = {"queries_per_range": queries, "week_hosts": len(week_ids), "month_hosts": len(month_ids), "width_px": WIDTH_PX, "errors": errors,
           "metrics": len(CHART_METRICS), "ranges": {}}
    for key, range_s in RANGES:
        r = results[key]
        ms = sorted(r["ms"])
        n = max(1, len(ms))
        out["ranges"][key] = {
            "range_s": range_s,
            "hosts_from": "month" if range_s > 7 * 86400 else "week",
            "requested_step_s": choose_step(range_s, WIDTH_PX, intervals.get(host_ids[0], 10)),
            "n": len(ms),
            "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "p99_ms": pct(ms, 99),
            "max_ms": round(ms[-1], 2) if ms else 0.0,
            "mean_ms": round(sum(ms) / n, 2),
            "tier": sorted(t for t in r["tier"] if t),
            "step_s": sorted(s for s in r["step_s"] if s is not None),
            "series_mean": round(sum(r["series"]) / n, 1),
            "points_mean": round(sum(r["points"]) / n),
            "body_bytes_mean": round(sum(r["bytes"]) / n),
        }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
