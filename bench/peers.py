"""Helpers of bench/peers.sh and bench/footprint.sh (standard library only).

    peers.py convert NDJSON OUT_DIR
        One `lxmon-loadgen generate` output, as each store takes it, with the
        same samples (timestamps shifted so the data ends just before the
        current clock hour, so lxmon can seal it):
          OUT_DIR/lxmon/HOST-BATCH.ndjson.gz   backfill batches (gzip)
          OUT_DIR/vm/HOST.prom.gz              Prometheus text with ms timestamps
          OUT_DIR/prom/HOST-CHUNK.pb.snappy    remote-write WriteRequests
          OUT_DIR/meta.json                    counts, time range, query series
    peers.py upload KIND URL DIR [KEYS_FILE]
        Posts DIR's bodies (KIND lxmon, vm or prom) with 4 connections; a
        host's bodies always go in order on the same connection.
    peers.py register LXMON_URL DIR KEYS_FILE
        Registers the hosts of DIR's lxmon batches before the timed upload.
    peers.py footprint EXPORTER_URL EXPORTER_PID AGENT_PID LXMON_URL WARMUP END
        For bench/footprint.sh: scrapes node_exporter every second the way
        Prometheus does (its Accept header, gzip) while lxmon-agent reports
        every second, for END seconds; reads both processes' CPU over
        [WARMUP, END] and RSS from /proc (EXPORTER_URL and _PID "-": the
        agent alone).
    peers.py query META RUNS LXMON_PASSWORD KIND=URL...
        RUNS rounds of range queries of one host's 20 series over 1 h at
        10 s steps, the stores taking turns within each round.

Prints one JSON object on stdout.
"""
import gzip
import http.client
import json
import os
import statistics
import struct
import sys
import threading
import time
import urllib.parse

TCK = os.sysconf("SC_CLK_TCK")
HOUR_MS = 3_600_000
PROM_CHUNK = 36  # reports per remote-write request (6 min at 10 s)
LXMON_BATCH = 3000  # records per backfill batch (the server's bound)


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


# --- convert ---------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, payload):
    return bytes([field << 3 | 2]) + varint(len(payload)) + payload


def snappy_literal(data):
    """A valid snappy block made of literals only (no matches): Prometheus
    decodes it like any snappy body. Saves a dependency; the decode cost of
    a literal is a copy, a little below real snappy's."""
    out = bytearray(varint(len(data)))
    i = 0
    while i < len(data):
        n = min(65536, len(data) - i)
        if n - 1 < 60:
            out.append((n - 1) << 2)
        elif n - 1 < 256:
            out += bytes([60 << 2, n - 1])
        else:
            out += bytes([61 << 2]) + (n - 1).to_bytes(2, "little")
        out += data[i:i + n]
        i += n
    return bytes(out)


def prom_name(n):
    return n.replace(".", "_")


def esc(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_key(sample):
    return (sample["n"], tuple(sorted((sample.get("l") or {}).items())))


def convert(src, out):
    for d in ("lxmon", "vm", "prom"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    now = int(time.time() * 1000)
    end = now - now % HOUR_MS - 1000  # 1 s before the current hour
    meta = {"hosts": [], "samples": 0, "reports": 0, "series": 0}
    state = {"host": None, "reports": [], "shift": None}

    def flush():
        reports = state["reports"]
        if not reports:
            return
        h = len(meta["hosts"])
        hostname = reports[0]["host"]["hostname"]
        meta["hosts"].append(hostname)
        if state["shift"] is None:
            state["shift"] = end - reports[-1]["ts"]
        shift = state["shift"]
        for r in reports:
            r["ts"] += shift
        # lxmon: NDJSON backfill batches.
        for b in range(0, len(reports), LXMON_BATCH):
            body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in reports[b:b + LXMON_BATCH])
            with open(os.path.join(out, "lxmon", f"{h:05d}-{b // LXMON_BATCH:03d}.ndjson.gz"), "wb") as f:
                f.write(gzip.compress(body.encode(), 1))
        # Per series: label text / protobuf labels, built once per host.
        series = {}
        for r in reports:
            for s in r["metrics"]:
                k = series_key(s)
                if k not in series:
                    labels = dict(k[1])
                    labels["host"] = hostname
                    text = prom_name(k[0]) + "{" + ",".join(f'{n}="{esc(v)}"' for n, v in sorted(labels.items())) + "}"
                    pairs = sorted([("__name__", prom_name(k[0]))] + list(labels.items()))
                    pb = b"".join(ld(1, ld(1, n.encode()) + ld(2, v.encode())) for n, v in pairs)
                    series[k] = (text, pb)
        meta["series"] += len(series)
        # VictoriaMetrics: Prometheus text with millisecond timestamps.
        lines = []
        for r in reports:
            ts = r["ts"]
            for s in r["metrics"]:
                lines.append(f"{series[series_key(s)][0]} {s['v']!r} {ts}\n")
        with open(os.path.join(out, "vm", f"{h:05d}.prom.gz"), "wb") as f:
            f.write(gzip.compress("".join(lines).encode(), 1))
        # Prometheus: one WriteRequest per PROM_CHUNK reports.
        for c in range(0, len(reports), PROM_CHUNK):
            per = {}
            for r in reports[c:c + PROM_CHUNK]:
                ts = varint(r["ts"])
                for s in r["metrics"]:
                    per.setdefault(series_key(s), []).append(b"\x09" + struct.pack("<d", float(s["v"])) + b"\x10" + ts)
            body = b"".join(ld(1, series[k][1] + b"".join(ld(2, x) for x in xs)) for k, xs in per.items())
            with open(os.path.join(out, "prom", f"{h:05d}-{c // PROM_CHUNK:04d}.pb.snappy"), "wb") as f:
                f.write(snappy_literal(body))
        if h == 0:
            meta["query"] = pick_query(reports[-1], hostname)
            meta["first_ts"], meta["last_ts"] = reports[0]["ts"], reports[-1]["ts"]
        meta["reports"] += len(reports)
        meta["samples"] += sum(len(r["metrics"]) for r in reports)
        state["reports"] = []

    with open(src) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r["host"]["hostname"] != state["host"]:
                flush()
                state["host"] = r["host"]["hostname"]
            state["reports"].append(r)
    flush()
    meta["end_ms"] = end
    meta["query_from_ms"], meta["query_to_ms"] = end + 1000 - HOUR_MS, end + 1000
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps({k: v for k, v in meta.items() if k != "hosts"}))


# The dashboard's host view: per-core CPU, then the whole-host CPU, load and
# memory figures, in this order, until the host's series add up to 20.
QUERY_ORDER = ["cpu.core.usage_percent", "cpu.usage_percent", "cpu.user_percent", "cpu.system_percent",
               "cpu.iowait_percent", "cpu.steal_percent", "load.1m", "load.5m", "load.15m",
               "mem.used_percent", "mem.used_bytes", "mem.available_bytes", "mem.cached_bytes",
               "mem.buffers_bytes", "mem.free_bytes", "mem.total_bytes", "swap.used_bytes", "swap.total_bytes"]


def pick_query(report, hostname):
    """Metric names of one host that add up to exactly 20 series."""
    counts = {}
    for s in report["metrics"]:
        counts[s["n"]] = counts.get(s["n"], 0) + 1
    names, total = [], 0
    for n in QUERY_ORDER + sorted(counts, key=lambda n: (counts[n], n)):
        if n in counts and n not in names and total + counts[n] <= 20:
            names.append(n)
            total += counts[n]
    assert total == 20, counts
    return {"hostname": hostname, "names": names, "series": total}


# --- upload ----------------------------------------------------------------

def upload(kind, url, d, keys_file=None):
    files = sorted(os.listdir(d))
    keys = []
    if keys_file:
        keys = [l.strip() for l in open(keys_file) if l.strip() and " " not in l.strip()]
    by_host = {}
    for name in files:
        by_host.setdefault(int(name.split("-")[0].split(".")[0]), []).append(name)
    conns = 4
    work = [[] for _ in range(conns)]
    for h in sorted(by_host):
        work[h % conns].append(h)
    result = {"requests": 0, "errors": 0, "bytes": 0, "first_error": None}
    lock = threading.Lock()

    def worker(hosts):
        conn = connect(url)
        # Chunk-major: every host's first chunk, then every host's second...
        queue = []
        longest = max((len(by_host[h]) for h in hosts), default=0)
        for i in range(longest):
            queue += [(h, by_host[h][i]) for h in hosts if i < len(by_host[h])]
        for h, name in queue:
            with open(os.path.join(d, name), "rb") as f:
                body = f.read()
            if kind == "lxmon":
                path = "/api/agent/metrics/batch"
                headers = {"content-type": "application/x-ndjson", "content-encoding": "gzip",
                           "authorization": f"Bearer {keys[h]}"}
            elif kind == "vm":
                path = "/api/v1/import/prometheus"
                headers = {"content-type": "text/plain", "content-encoding": "gzip"}
            else:
                path = "/api/v1/write"
                headers = {"content-type": "application/x-protobuf", "content-encoding": "snappy",
                           "x-prometheus-remote-write-version": "0.1.0"}
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read()
            with lock:
                result["requests"] += 1
                result["bytes"] += len(body)
                if resp.status >= 300:
                    result["errors"] += 1
                    result["first_error"] = result["first_error"] or f"{resp.status} {text[:300]!r}"

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w,)) for w in work if w]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result))


def register(url, d, keys_file):
    """Registers each host's agent, as lxmon-agent does on start (and the
    loadgen before its runs), so the timed upload is ingest only."""
    keys = [l.strip() for l in open(keys_file) if l.strip() and " " not in l.strip()]
    conn = connect(url)
    n = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith("-000.ndjson.gz"):
            continue
        h = int(name.split("-")[0])
        with gzip.open(os.path.join(d, name), "rt") as f:
            r = json.loads(f.readline())
        info = r.get("info") or {}
        body = {"hostname": r["host"]["hostname"], "machine_id": r["host"]["machine_id"],
                "os": info.get("os", ""), "arch": info.get("arch", ""), "kernel": info.get("kernel", ""),
                "version": info.get("agent_version", ""), "labels": {}, "actions": []}
        conn.request("POST", "/api/agent/register", body=json.dumps(body),
                     headers={"content-type": "application/json", "authorization": f"Bearer {keys[h]}"})
        resp = conn.getresponse()
        text = resp.read()
        assert resp.status == 200, (resp.status, text[:300])
        n += 1
    print(json.dumps({"registered": n}))


# --- footprint -------------------------------------------------------------

# What Prometheus 2.42 sends when it scrapes.
PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
RSS_EVERY_S = 10


def lxmon_metrics(conn):
    """The unlabelled figures of lxmon-server's /metrics."""
    conn.request("GET", "/metrics")
    out = {}
    for line in conn.getresponse().read().decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            out[parts[0]] = float(parts[1])
    return out


def footprint(exporter_url, exporter_pid, agent_pid, lxmon_url, warmup, end_s):
    """lxmon-agent (reporting to LXMON_URL) and node_exporter (scraped every
    second; EXPORTER_URL "-": none) side by side for END_S seconds: CPU over
    [WARMUP, END_S], RSS at END_S, peak RSS in the window, RSS of both every
    RSS_EVERY_S s. The agent's samples and wire bytes come from the server's
    counters over the same window (the wire bytes only when the server
    counts them: lxmon_report_wire_bytes_total)."""
    with_exporter = exporter_url != "-"
    exporter_pid = int(exporter_pid) if with_exporter else None
    agent_pid, warmup, end_s = int(agent_pid), float(warmup), float(end_s)
    assert 0 <= warmup < end_s, (warmup, end_s)
    conn, server = (connect(exporter_url) if with_exporter else None), connect(lxmon_url)
    headers = {"accept": PROM_ACCEPT, "accept-encoding": "gzip", "user-agent": "Prometheus/2.42.0",
               "x-prometheus-scrape-timeout-seconds": "1"}
    start = time.monotonic()
    measure_at, end = start + warmup, start + end_s
    window = None
    scrapes = []  # (gzip bytes, text bytes, samples) in the window
    peak = {"exporter": 0, "agent": 0}
    rss_series = []  # [seconds since start, agent MB, exporter MB]
    tick = 0
    while True:
        now = time.monotonic()
        if window is None and now >= measure_at:
            window = {"t": now, "exporter_cpu": cpu_s(exporter_pid) if with_exporter else 0.0,
                      "agent_cpu": cpu_s(agent_pid), "server": lxmon_metrics(server)}
        if now >= end:
            break
        if tick % RSS_EVERY_S == 0:
            rss_series.append([round(now - start, 1), round(rss_kb(agent_pid) / 1024, 2),
                               round(rss_kb(exporter_pid) / 1024, 2) if with_exporter else None])
        if with_exporter:
            conn.request("GET", "/metrics", headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            text = gzip.decompress(raw) if resp.getheader("content-encoding") == "gzip" else raw
        if window is not None:
            if with_exporter:
                samples = sum(1 for l in text.split(b"\n") if l and not l.startswith(b"#"))
                scrapes.append((len(raw), len(text), samples, resp.getheader("content-type")))
                peak["exporter"] = max(peak["exporter"], rss_kb(exporter_pid))
            peak["agent"] = max(peak["agent"], rss_kb(agent_pid))
        tick += 1
        time.sleep(max(0.0, start + tick - time.monotonic()))
    elapsed = time.monotonic() - window["t"]
    agent_cpu = cpu_s(agent_pid) - window["agent_cpu"]
    agent_rss_end = rss_kb(agent_pid)
    rss_series.append([round(time.monotonic() - start, 1), round(agent_rss_end / 1024, 2),
                       round(rss_kb(exporter_pid) / 1024, 2) if with_exporter else None])
    m0, m1 = window["server"], lxmon_metrics(server)

    def delta(name):
        return m1[name] - m0[name] if name in m0 and name in m1 else None

    reports, samples = delta("lxmon_reports_ingested_total"), delta("lxmon_samples_ingested_total")
    wire_bytes, wire_samples = delta("lxmon_report_wire_bytes_total"), delta("lxmon_report_wire_samples_total")
    after_warmup = [r for r in rss_series if r[0] >= warmup]
    out = {
        "warmup_s": warmup, "duration_s": end_s, "window_s": round(elapsed, 1), "rss_every_s": RSS_EVERY_S,
        "rss_t_s_agent_mb_exporter_mb": rss_series,
        "lxmon_agent": {
            "reports": reports, "cpu_s": round(agent_cpu, 3),
            "cpu_ms_per_collection": agent_cpu * 1000 / max(reports or 0, 1),
            "rss_mb_end": agent_rss_end / 1024, "rss_mb_peak": peak["agent"] / 1024,
            "rss_mb_after_warmup": after_warmup[0][1] if after_warmup else None,
            "samples_per_report": samples / reports if reports else None,
            # What the agent really sent in the window, as the server counted it.
            "live_wire": None if not wire_samples else {
                "bytes": wire_bytes, "samples": wire_samples,
                "bytes_per_sample": wire_bytes / wire_samples,
                "bytes_per_report": wire_bytes / reports if reports else None,
                "delta_reports": delta("lxmon_reports_delta_total"),
            },
        },
        "node_exporter": None,
    }
    if with_exporter:
        exporter_cpu = cpu_s(exporter_pid) - window["exporter_cpu"]
        n = len(scrapes)
        ne = out["node_exporter"] = {
            "scrapes": n, "content_type": scrapes[-1][3],
            "cpu_s": round(exporter_cpu, 3), "cpu_ms_per_scrape": exporter_cpu * 1000 / n,
            "rss_mb_end": rss_kb(exporter_pid) / 1024, "rss_mb_peak": peak["exporter"] / 1024,
            "rss_mb_after_warmup": after_warmup[0][2] if after_warmup else None,
            "samples_per_scrape": sum(s[2] for s in scrapes) / n,
            "gzip_bytes_per_scrape": sum(s[0] for s in scrapes) / n,
            "text_bytes_per_scrape": sum(s[1] for s in scrapes) / n,
        }
        ne["gzip_bytes_per_sample"] = ne["gzip_bytes_per_scrape"] / ne["samples_per_scrape"]
        ne["text_bytes_per_sample"] = ne["text_bytes_per_scrape"] / ne["samples_per_scrape"]
    print(json.dumps(out))


# --- query -----------------------------------------------------------------

def make_query(kind, url, meta, password=None):
    """One store's range query of one host's 20 series: a function that runs
    it and returns (series, points)."""
    q = meta["query"]
    frm, to = meta["query_from_ms"], meta["query_to_ms"]
    conn = connect(url)

    def get(path, headers=None):
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, (resp.status, body[:300])
        return json.loads(body)

    if kind == "lxmon":
        conn.request("POST", "/api/auth/login", body=json.dumps({"username": "admin", "password": password}),
                     headers={"content-type": "application/json"})
        resp = conn.getresponse()
        token = json.loads(resp.read())["token"]
        auth = {"authorization": f"Bearer {token}"}
        host = [h["id"] for h in get("/api/servers", auth) if h["hostname"] == q["hostname"]][0]
        path = f"/api/servers/{host}/metrics?" + urllib.parse.urlencode(
            {"names": ",".join(q["names"]), "from": frm, "to": to, "step": 10})

        def one():
            r = get(path, auth)
            return len(r["series"]), sum(sum(1 for v in s["values"] if v is not None) for s in r["series"])
    else:
        sel = '{host="%s",__name__=~"%s"}' % (q["hostname"], "|".join(prom_name(n) for n in q["names"]))
        params = {"query": sel, "start": frm / 1000, "end": to / 1000, "step": "10s"}
        if kind == "vm":
            params["nocache"] = "1"  # VictoriaMetrics caches range results; measure the store instead
        path = "/api/v1/query_range?" + urllib.parse.urlencode(params)

        def one():
            r = get(path)["data"]["result"]
            return len(r), sum(len(s["values"]) for s in r)
    return one


def query(meta_file, runs, password, *stores):
    """RUNS rounds; each round queries every store once, in turn, so that the
    machine's other load falls on all of them alike. STORES: KIND=URL."""
    meta = json.load(open(meta_file))
    ones, times, shape = {}, {}, {}
    for arg in stores:
        kind, url = arg.split("=", 1)
        ones[kind] = make_query(kind, url, meta, password)
        shape[kind] = ones[kind]()  # warm-up, and the check that all 20 series came back
        times[kind] = []
    for _ in range(4):
        for one in ones.values():
            one()
    for _ in range(int(runs)):
        for kind, one in ones.items():
            t = time.perf_counter()
            one()
            times[kind].append((time.perf_counter() - t) * 1000)
    out = {}
    for kind, ts in times.items():
        ts.sort()
        out[kind] = {"runs": len(ts), "series": shape[kind][0], "points": shape[kind][1],
                     "p50_ms": round(statistics.median(ts), 3), "p90_ms": round(ts[int(len(ts) * 0.9) - 1], 3),
                     "mean_ms": round(statistics.fmean(ts), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"convert": convert, "upload": upload, "register": register, "footprint": footprint, "query": query}[cmd](*args)
