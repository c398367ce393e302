"""Times alerts end to end: a probe host's report that breaches a threshold
rule → the webhook notification arriving at a local receiver. Standard
library only; the receiver and the probe run in this one process (two
threads) so both read the same monotonic clock.

    python3 alerts_latency.py URL ADMIN_PASSWORD PROBE_KEY BREACHES PERIOD_S AGENTS

1. A webhook receiver (http.server on 127.0.0.1) notes time.monotonic_ns()
   when each request's body has been read, and answers 200.
2. As admin: a webhook channel to it, made the default route.
3. The probe (its own agent key) posts one report with bench.probe_value = 0,
   so the metric is known, then the rule `bench.probe_value > 100` (for_s 0,
   repeat 900 s). With AGENTS > 0 it first waits until that many reports are
   stored (the load generator's agents) and adds a rule
   `cpu.usage_percent > 100` over every host, so every report of the
   background hosts goes through the alert engine too (it never breaches).
4. One warm-up breach/clear, then BREACHES cycles, each PERIOD_S apart:
   breach (value 1000 + k), clear (value k / 1000). Each value is unique, so
   each notification is matched to its report by the alert's value. The
   probe waits for the firing notification before clearing (a clear before
   the group is sent would cancel the message), up to 10 s.
5. Latency = receiver time − time just before the probe sent the report.
   Also: the probe's HTTP round trip for the breaching report (ingest), the
   resolve latency, and the server's own histogram
   lxmon_alert_notification_latency_seconds over the measured cycles.

Prints one JSON object.
"""
import http.client
import http.server
import json
import statistics
import sys
import threading
import time
import urllib.parse

RULE_METRIC = "bench.probe_value"
THRESHOLD = 100
WAIT_S = 10.0


class Receiver:
    def __init__(self) -> None:
        self.got = []  # (monotonic_ns, parsed body)
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                at = time.monotonic_ns()
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                with receiver.cond:
                    receiver.got.append((at, parsed))
                    receiver.cond.notify_all()
                answer = b'{"ok":true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, status: str, value: float, timeout: float):
        """The receive time of the first notification with this status whose
        alert carries `value`, or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, body in self.got:
                    if body and body.get("status") == status and any(
                        abs((a.get("value") or 0) - value) < 1e-9 for a in body.get("alerts", [])
                    ):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


class Client:
    """One keep-alive connection; `token` is a session or an agent key."""

    def __init__(self, url: str, token=None) -> None:
        p = urllib.parse.urlparse(url)
        self.host, self.port, self.token = p.hostname, p.port, token
        self.conn = None

    def call(self, method: str, path: str, body=None):
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body) if body is not None else None
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if r.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            try:
                return r.status, json.loads(data) if data else None
            except ValueError:
                return r.status, data.decode(errors="replace")


def metrics_text(url: str) -> str:
    status, text = Client(url).call("GET", "/metrics")
    assert status == 200, text
    return text if isinstance(text, str) else json.dumps(text)


def histogram(text: str, name: str) -> dict:
    out = {"buckets": {}, "sum": 0.0, "count": 0}
    for line in text.splitlines():
        if line.startswith(name + "_bucket{le=\""):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out["buckets"][le] = int(float(line.split()[-1]))
        elif line.startswith(name + "_sum "):
            out["sum"] = float(line.split()[-1])
        elif line.startswith(name + "_count "):
            out["count"] = int(float(line.split()[-1]))
    return out


def counter(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def summary(ms: list) -> dict:
    if not ms:
        return {"n": 0}
    s = sorted(ms)

    def pct(p: float) -> float:
        return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 1)

    return {"n": len(s), "p50": pct(50), "p90": pct(90), "p95": pct(95), "p99": pct(99),
            "max": round(s[-1], 1), "min": round(s[0], 1), "mean": round(statistics.mean(s), 1)}


def main() -> None:
    url, password, probe_key = sys.argv[1], sys.argv[2], sys.argv[3]
    breaches, period, agents = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])

    receiver = Receiver()
    admin = Client(url)
    status, login = admin.call("POST", "/api/auth/login", {"username": "admin", "password": password})
    assert status == 200, login
    admin.token = login["token"]
    status, channel = admin.call("POST", "/api/channels", {
        "name": "bench-hook", "config": {"kind": "webhook", "url": receiver.url, "secret": "bench-secret"}})
    assert status == 201, channel
    status, body = admin.call("PUT", "/api/alert-routing", {"routes": [], "default_channels": [channel["id"]]})
    assert status == 200, body

    probe = Client(url, probe_key)
    seq = [0]

    def report(value: float):
        seq[0] += 1
        t0 = time.monotonic_ns()
        status, body = probe.call("POST", "/api/agent/metrics", {
            "v": 1, "host": {"hostname": "bench-alert-probe"}, "ts": int(time.time() * 1000),
            "interval_s": 1, "seq": seq[0], "metrics": [{"n": RULE_METRIC, "v": value}]})
        t1 = time.monotonic_ns()
        assert 200 <= status < 300, (status, body)
        return t0, t1

    report(0)

    background_rule = None
    if agents > 0:
        deadline = time.monotonic() + 120
        while counter(metrics_text(url), "lxmon_reports_ingested_total") < agents + 1:
            assert time.monotonic() < deadline, "the load generator's agents did not report"
            time.sleep(0.5)
        status, body = admin.call("POST", "/api/alert-rules", {
            "name": "bench background cpu", "severity": "warning", "for_s": 0,
            "condition": {"type": "threshold", "metric": "cpu.usage_percent", "op": ">", "value": 100}})
        assert status == 201, body
        background_rule = "cpu.usage_percent > 100 (every host, never breaches)"
    status, body = admin.call("POST", "/api/alert-rules", {
        "name": "bench probe", "severity": "critical", "for_s": 0, "repeat_interval_s": 900,
        "condition": {"type": "threshold", "metric": RULE_METRIC, "op": ">", "value": THRESHOLD}})
    assert status == 201, body

    # Warm-up: until the rule is live in the engine (its reload is
    # asynchronous), breach and clear again.
    deadline = time.monotonic() + 30
    while True:
        report(999)
        if receiver.wait_for("firing", 999, 2.0) is not None:
            break
        report(0)
        assert time.monotonic() < deadline, "the rule never fired"
        time.sleep(0.5)
    report(0.5)
    assert receiver.wait_for("resolved", 0.5, WAIT_S) is not None, "no resolve message"
    before = metrics_text(url)

    fire_ms, resolve_ms, ingest_ms, misses = [], [], [], {"firing": 0, "resolved": 0}
    started = time.monotonic()
    slot = time.monotonic()
    for k in range(breaches):
        for phase in ("firing", "resolved"):
            slot += period
            time.sleep(max(0.0, slot - time.monotonic()))
            value = 1000 + k if phase == "firing" else k / 1000
            t0, t1 = report(value)
            at = receiver.wait_for(phase, value, WAIT_S)
            if at is None:
                misses[phase] += 1
                continue
            (fire_ms if phase == "firing" else resolve_ms).append((at - t0) / 1e6)
            if phase == "firing":
                ingest_ms.append((t1 - t0) / 1e6)
            if time.monotonic() > slot + period:
                slot = time.monotonic()  # a late one: keep the spacing, not the schedule
    wall = time.monotonic() - started
    time.sleep(0.5)
    after = metrics_text(url)

    h0 = histogram(before, "lxmon_alert_notification_latency_seconds")
    h1 = histogram(after, "lxmon_alert_notification_latency_seconds")
    n = h1["count"] - h0["count"]
    buckets = {le: h1["buckets"].get(le, 0) - h0["buckets"].get(le, 0) for le in h1["buckets"]}
    print(json.dumps({
        "breaches": breaches,
        "period_s": period,
        "background_agents": agents,
        "background_rule": background_rule,
        "latency_ms": summary(fire_ms),
        "resolve_latency_ms": summary(resolve_ms),
        "probe_ingest_rtt_ms": summary(ingest_ms),
        "misses": misses,
        "notifications_received": len(receiver.got),
        "server_histogram": {
            "count": n,
            "mean_ms": round((h1["sum"] - h0["sum"]) / n * 1000, 1) if n else None,
            "share_le_s": {le: round(c / n, 3) for le, c in buckets.items()} if n else {},
        },
        "notifications_failed": counter(after, "lxmon_notifications_failed_total"),
        "wall_s": round(wall, 1),
        "method": "probe POST /api/agent/metrics (breach) → webhook request body read by the receiver, "
                  "same process, time.monotonic_ns",
    }))


if __name__ == "__main__":
    main()
