"""Schedule adherence of the server's health-check runner. Standard library only.

    python3 checks_sched.py URL ADMIN_PASSWORD SERVER_PID PORTS_FILE

Settings from the environment: CHECKS (1000), HANGING (100), TCP (300; the
rest are HTTP), CHECK_INTERVAL (60 s), CHECK_CYCLES (2), HANG_TIMEOUT (10 s),
GAP_TOLERANCE_MS (1000).

Creates the checks through the API (HTTP and TCP ones against answering
local targets, the hanging ones as HTTP checks against a listener that never
answers), waits until every check has started its first run, then measures a
window of CHECK_CYCLES whole intervals:

- from the server's /metrics: runs finished versus expected, the schedule
  lag histogram (p50/p99 interpolated within buckets) and its max, runs in
  flight, probe slots free, runs skipped;
- from /proc: the server's CPU seconds, RSS and thread count;
- from GET /api/checks/{id}/results of every check: the runs in the window
  and the gaps between consecutive runs (expected: the interval).

Prints one JSON object.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse

CLK_TCK = os.sysconf("SC_CLK_TCK")


def env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Api:
    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.token = None

    def call(self, method: str, path: str, body=None):
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                                  headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # A dropped keep-alive connection: reconnect and retry.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        if response.getheader("content-type", "").startswith("application/json"):
            return response.status, json.loads(data) if data else None
        return response.status, data.decode()


def parse_metrics(text: str) -> dict:
    figures = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            figures[name] = float(value)
    return figures


LAG = "lxmon_check_schedule_lag_seconds"
LANES = ("fast", "slow")


def lag_buckets(figures: dict, lanes=LANES) -> list:
    """[(upper bound, cumulative count)] summed over `lanes`, +Inf last."""
    out = {}
    for lane in lanes:
        prefix = LAG + f'_bucket{{lane="{lane}",le="'
        for name, count in figures.items():
            if name.startswith(prefix):
                bound = name[len(prefix):].split('"')[0]
                bound = float("inf") if bound == "+Inf" else float(bound)
                out[bound] = out.get(bound, 0.0) + count
    return sorted(out.items())


def lag_count(figures: dict, lanes=LANES) -> float:
    return sum(figures.get(LAG + f'_count{{lane="{lane}"}}', 0.0) for lane in lanes)


def lag_sum(figures: dict, lanes=LANES) -> float:
    return sum(figures.get(LAG + f'_sum{{lane="{lane}"}}', 0.0) for lane in lanes)


def quantile(q: float, before: list, after: list):
    """Prometheus-style histogram_quantile over the window's increase."""
    buckets = [(b, c1 - c0) for (b, c1), (_, c0) in zip(after, before)]
    total = buckets[-1][1]
    if total == 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower  # beyond the last bound: report that bound
            return lower + (bound - lower) * (rank - below) / max(cumulative - below, 1e-9)
        lower, below = bound, cumulative
    return lower


def window_max(before: list, after: list):
    """The upper bound of the highest bucket that gained a run in the window."""
    top, below = None, 0.0
    for (bound, c1), (_, c0) in zip(after, before):
        if c1 - c0 > below:
            top = bound
        below = c1 - c0
    return top if top != float("inf") else f"> {after[-2][0]}"


def proc(pid: int) -> dict:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.split()[0] if value.split() else ""
    return {
        "cpu_s": (int(fields[11]) + int(fields[12])) / CLK_TCK,
        "rss_mb": int(status["VmRSS"]) / 1024,
        "threads": int(status["Threads"]),
    }


def pct(values: list, p: float):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    url, password, pid, ports_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    checks, hanging, tcp = env("CHECKS", 1000), env("HANGING", 100), env("TCP", 300)
    interval, cycles = env("CHECK_INTERVAL", 60), env("CHECK_CYCLES", 2)
    hang_timeout, tolerance_ms = env("HANG_TIMEOUT", 10), env("GAP_TOLERANCE_MS", 1000)
    with open(ports_file) as f:
        ports = json.load(f)
    api = Api(url)
    status, login = api.call("POST", "/api/auth/login", {"username": "admin", "password": password})
    assert status == 200, login
    api.token = login["token"]

    # Interleaved kinds, so each kind is spread over ids (and start offsets).
    kinds = {}
    created_at = time.time()
    for i in range(checks):
        # Exactly `hanging` hanging and `tcp` TCP checks, each evenly spaced.
        j = i - i * hanging // checks  # index among the non-hanging checks
        if (i + 1) * hanging // checks > i * hanging // checks:
            kind = "hang"
        elif (j + 1) * tcp // (checks - hanging) > j * tcp // (checks - hanging):
            kind = "tcp"
        else:
            kind = "http"
        if kind == "tcp":
            spec, timeout = {"type": "tcp", "host": "127.0.0.1", "port": ports["tcp"]}, 5
        elif kind == "http":
            spec, timeout = {"type": "http", "url": f"http://127.0.0.1:{ports['http']}/health"}, 5
        else:
            spec, timeout = {"type": "http", "url": f"http://127.0.0.1:{ports['hang']}/"}, hang_timeout
        status, body = api.call("POST", "/api/checks", {
            "name": f"bench {kind} {i}", "spec": spec, "interval_s": interval,
            "timeout_s": timeout, "retries": 0,
        })
        assert status == 201, body
        kinds[body["id"]] = kind
    create_s = time.time() - created_at
    counts = {k: list(kinds.values()).count(k) for k in ("http", "tcp", "hang")}

    # Every check has started its first run (runs start within 10 s of
    # creation): the window starts in the steady state.
    deadline = time.time() + interval + 60
    while time.time() < deadline:
        figures = parse_metrics(api.call("GET", "/metrics")[1])
        if lag_count(figures) >= checks:
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"not every check started a run: {lag_count(figures)}")
    time.sleep(1)

    p0, m0, t0 = proc(pid), parse_metrics(api.call("GET", "/metrics")[1]), time.time()
    samples = []
    while time.time() < t0 + cycles * interval:
        time.sleep(min(2.0, max(0.0, t0 + cycles * interval - time.time())))
        m = parse_metrics(api.call("GET", "/metrics")[1])
        samples.append({**proc(pid), "in_flight": m["lxmon_check_runs_in_flight"],
                        "slots_free": m.get("lxmon_check_probe_slots_free")})
    p1, m1, t1 = proc(pid), parse_metrics(api.call("GET", "/metrics")[1]), time.time()

    # Every check's runs from its creation to the window's end, once the runs
    # started in the window have all been stored (hanging ones time out).
    time.sleep(hang_timeout + 2)
    gaps = {"http": [], "tcp": [], "hang": []}
    in_window = {"http": [], "tcp": [], "hang": []}
    down = {"http": 0, "tcp": 0, "hang": 0}
    for cid, kind in kinds.items():
        status, series = api.call("GET", f"/api/checks/{cid}/results?from={int(created_at * 1000) - 1000}"
                                  f"&to={int(t1 * 1000)}")
        assert status == 200, series
        ts = series["timestamps"]
        gaps[kind] += [b - a for a, b in zip(ts, ts[1:])]
        in_window[kind].append(sum(1 for t in ts if t0 * 1000 <= t < t1 * 1000))
        down[kind] += sum(1 for t, up in zip(ts, series["up"]) if t0 * 1000 <= t < t1 * 1000 and not up)

    def gap_summary(values: list) -> dict:
        dev = [abs(g - interval * 1000) for g in values]
        return {
            "gaps": len(values),
            "min_ms": min(values, default=None), "max_ms": max(values, default=None),
            "abs_deviation_ms": {"p50": pct(dev, 50), "p99": pct(dev, 99), "max": max(dev, default=None)},
            "outside_tolerance": sum(1 for d in dev if d > tolerance_ms),
        }

    def lag_summary(lanes) -> dict:
        b0, b1 = lag_buckets(m0, lanes), lag_buckets(m1, lanes)
        n = lag_count(m1, lanes) - lag_count(m0, lanes)
        return {
            "runs": int(n),
            "p50": quantile(0.50, b0, b1),
            "p99": quantile(0.99, b0, b1),
            "mean": (lag_sum(m1, lanes) - lag_sum(m0, lanes)) / n if n else None,
            "max_bucket_in_window": window_max(b0, b1),
            "within_1s_fraction": ((dict(b1)[1.0] - dict(b0)[1.0]) / n) if n else None,
        }

    window = t1 - t0
    runs = m1["lxmon_check_runs_total"] - m0["lxmon_check_runs_total"]
    lag_n = lag_count(m1) - lag_count(m0)
    all_gaps = gaps["http"] + gaps["tcp"] + gaps["hang"]
    all_in_window = in_window["http"] + in_window["tcp"] + in_window["hang"]
    cpu = p1["cpu_s"] - p0["cpu_s"]
    print(json.dumps({
        "checks": counts,
        "interval_s": interval,
        "cycles": cycles,
        "hang_timeout_s": hang_timeout,
        "create_s": round(create_s, 1),
        "window_s": round(window, 1),
        "runs": {
            "finished": int(runs),
            "expected": checks * cycles,
            "down": int(m1["lxmon_check_runs_down_total"] - m0["lxmon_check_runs_down_total"]),
            "down_expected": counts["hang"] * cycles,
            "skipped": int(m1["lxmon_check_runs_skipped_total"]),
            "started_in_window": int(lag_n),
        },
        "lag_s": {
            **lag_summary(LANES),
            "max_since_start": m1["lxmon_check_schedule_lag_max_seconds"],
            "fast_lane": lag_summary(("fast",)),
            "slow_lane": lag_summary(("slow",)),
        },
        "results": {
            "checks_with_exactly_cycles_runs_in_window": sum(1 for n in all_in_window if n == cycles),
            "runs_in_window": sum(all_in_window),
            "runs_in_window_min_per_check": min(all_in_window),
            "down_in_window": down,
            "gaps_all": gap_summary(all_gaps),
            "gaps_http": gap_summary(gaps["http"]),
            "gaps_tcp": gap_summary(gaps["tcp"]),
            "gaps_hang": gap_summary(gaps["hang"]),
            "tolerance_ms": tolerance_ms,
        },
        "server": {
            "cpu_s": round(cpu, 2),
            "cores_busy": round(cpu / window, 3),
            "cpu_ms_per_run": round(cpu * 1000 / runs, 3) if runs else None,
            "rss_mb_max": round(max(s["rss_mb"] for s in samples + [p1]), 1),
            "rss_mb_end": round(p1["rss_mb"], 1),
            "threads_max": max(s["threads"] for s in samples + [p1]),
            "in_flight_max_sampled": max(s["in_flight"] for s in samples),
            "slots_free_min_sampled": min((s["slots_free"] for s in samples if s["slots_free"] is not None),
                                          default=None),
        },
    }))


if __name__ == "__main__":
    main()
