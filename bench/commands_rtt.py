"""Times remote commands end to end: POST /api/servers/{id}/command until
GET /api/commands/{id}/status says the result is stored. Standard library only.

    python3 commands_rtt.py http://127.0.0.1:PORT ADMIN_PASSWORD RUNS
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

FINAL = {"succeeded", "failed", "timed_out", "rejected", "expired", "cancelled"}


def main() -> None:
    url, password, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)

    def call(method: str, path: str, body=None, token=None):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    status, login = call("POST", "/api/auth/login", {"username": "admin", "password": password})
    assert status == 200, login
    token = login["token"]
    host = None
    deadline = time.time() + 60
    while time.time() < deadline:
        _, hosts = call("GET", "/api/servers", token=token)
        ready = [h for h in hosts if h.get("actions")]
        if ready:
            host = ready[0]["id"]
            break
        time.sleep(0.2)
    assert host is not None, "the agent never registered its action"
    # The agent's long-poll must be waiting before timing starts.
    time.sleep(1.5)

    times_ms, statuses = [], {}
    started = time.time()
    for _ in range(runs):
        t0 = time.perf_counter()
        status, command = call("POST", f"/api/servers/{host}/command", {"action": "true", "args": {}}, token)
        assert status == 201, command
        while True:
            _, state = call("GET", f"/api/commands/{command['id']}/status", token=token)
            if state["status"] in FINAL:
                break
            time.sleep(0.001)
        times_ms.append((time.perf_counter() - t0) * 1000)
        statuses[state["status"]] = statuses.get(state["status"], 0) + 1
    times_ms.sort()

    def pct(p: float) -> float:
        return round(times_ms[min(len(times_ms) - 1, int(p / 100 * len(times_ms)))], 1)

    print(json.dumps({
        "runs": runs,
        "statuses": statuses,
        "round_trip_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(times_ms[-1], 1),
                          "mean": round(statistics.mean(times_ms), 1)},
        "wall_s": round(time.time() - started, 1),
        "method": "sequential POST, then GET status every 1 ms until final",
    }))


if __name__ == "__main__":
    main()
