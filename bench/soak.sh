#!/usr/bin/env bash
# 10,000 agents and soak: lxmon-server (fresh data dir, durability
# SOAK_DURABILITY) with SOAK_AGENTS simulated agents in live mode, each
# reporting every SOAK_INTERVAL s with ±10 % jitter at its own phase, for
# SOAK_DURATION s. The load generator measures samples/s, request latency
# and errors, and the server's CPU and peak RSS over the timed phase; this
# script also samples the server's RSS and CPU every SOAK_SAMPLE_S s and fits
# a line to the RSS after the first SOAK_WARMUP s of the timed phase (the
# first interval creates every host's series) to give the slope in MB/min.
# Writes $BENCH_OUT/soak.json (the RSS samples included).
#
# Knobs: SOAK_AGENTS=10000 SOAK_INTERVAL=10 SOAK_DURATION=600 SOAK_SAMPLE_S=5
# SOAK_WARMUP=30 SOAK_DURABILITY=power SOAK_STORE=DIR (its data dir and keys:
# made there when missing; SOAK_PHASE=prepare only makes them, which
# bench/run does while bench/checks.sh runs: 10,000 keys take ~20 s)
source "$(dirname "$0")/lib.sh"

SOAK_AGENTS="${SOAK_AGENTS:-10000}"
SOAK_INTERVAL="${SOAK_INTERVAL:-10}"
SOAK_DURATION="${SOAK_DURATION:-600}"
SOAK_PHASE="${SOAK_PHASE:-all}"
SOAK_SAMPLE_S="${SOAK_SAMPLE_S:-5}"
SOAK_WARMUP="${SOAK_WARMUP:-30}"
SOAK_DURABILITY="${SOAK_DURABILITY:-power}"

build_release
new_workdir
store="${SOAK_STORE:-$WORK/store}"
data="$store/data" keys="$store/keys" samples="$WORK/rss.tsv"
if [ "$(cat "$store/agents" 2>/dev/null)" != "$SOAK_AGENTS" ] || [ "$(cat "$store/used" 2>/dev/null)" = 1 ]; then
  rm -rf "$data" "$data".* "$keys" "$store/agents" "$store/used"; mkdir -p "$store"
  t0=$SECONDS
  create_keys "$data" "$SOAK_AGENTS" "$keys"
  echo "$SOAK_AGENTS" >"$store/agents"
  log "$SOAK_AGENTS keys in $((SECONDS - t0)) s"
fi
[ "$SOAK_PHASE" = prepare ] && exit 0
echo 1 >"$store/used"  # a fresh store for every run
# One connection per request in flight, up to a few thousand at 10,000 agents
# (for the load generator and the server alike).
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((SOAK_AGENTS + 1024)) ]; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "open files limit $(ulimit -n) (hard $(ulimit -Hn))"
fi
SERVER_LOG_LEVEL=warn start_server "$data" --durability "$SOAK_DURABILITY"

# RSS (MB) and CPU seconds of the server every SOAK_SAMPLE_S s, with the time.
(
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    printf '%s\t%s\t%s\n' "$(date +%s.%N)" "$(rss_kb "$SERVER_PID" 2>/dev/null || echo 0)" "$(cpu_s "$SERVER_PID" 2>/dev/null || echo 0)"
    sleep "$SOAK_SAMPLE_S"
  done
) >"$samples" &
STARTED_PIDS+=("$!")
sampler_pid=$!

# The first interval on its own: every host's first report creates its
# ~100 series (a million rows at 10,000 agents), a burst a fleet meets once,
# when it is enrolled. The soak then measures the steady state that follows.
log "first interval: $SOAK_AGENTS agents @ ${SOAK_INTERVAL}s, every host's first report (load $(cut -d' ' -f1-3 /proc/loadavg))"
first="$("$BIN/lxmon-loadgen" --server "$SERVER_URL" --keys "$keys" --server-pid "$SERVER_PID" --mode live \
  --interval "$SOAK_INTERVAL" --duration "$SOAK_INTERVAL" --concurrency 64)"
jq -c '{first_interval: {reports_ok, errors, p50: .latency_ms.p50, p99: .latency_ms.p99}}' <<<"$first" >&2
log "live: $SOAK_AGENTS agents @ ${SOAK_INTERVAL}s for ${SOAK_DURATION}s (server $SERVER_URL, load $(cut -d' ' -f1-3 /proc/loadavg))"
cmd=("$BIN/lxmon-loadgen" --server "$SERVER_URL" --keys "$keys" --server-pid "$SERVER_PID" --mode live
  --interval "$SOAK_INTERVAL" --duration "$SOAK_DURATION" --concurrency 64)
summary="$("${cmd[@]}")"
ended="$(date +%s.%N)"
side="$(curl -fsS "$SERVER_URL/metrics" | awk '
  /^lxmon_ingest_duration_seconds_sum / { sum = $2 }
  /^lxmon_ingest_duration_seconds_count / { n = $2 }
  /^lxmon_samples_ingested_total / { samples = $2 }
  /^lxmon_reports_ingested_total / { reports = $2 }
  END { printf "{\"reports_ingested\": %d, \"samples_ingested\": %d, \"ingest_mean_ms\": %.3f}\n", reports, samples, (n ? sum / n * 1000 : 0) }')"
stop_pid "$sampler_pid"
stop_pid "$SERVER_PID"

# The timed phase is the last duration_s before the load generator ended;
# samples before it are key lookup and registration of the agents.
duration="$(jq -r .duration_s <<<"$summary")"
fit="$(awk -v end="$ended" -v dur="$duration" -v warm="$SOAK_WARMUP" '
  { t = $1; mb = $2 / 1024
    if (t < end - dur || t > end) next
    n_all++; if (n_all == 1) { first = mb }; last = mb; if (mb > peak) peak = mb
    if (t < end - dur + warm) next
    x = (t - (end - dur)) / 60; n++; sx += x; sy += mb; sxx += x * x; sxy += x * mb }
  END {
    slope = (n > 1 && n * sxx - sx * sx > 0) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
    printf "{\"samples\": %d, \"fitted_samples\": %d, \"rss_mb_first\": %.1f, \"rss_mb_last\": %.1f, \"rss_mb_peak\": %.1f, \"slope_mb_per_min\": %.3f}\n", n_all, n, first, last, peak, slope }' "$samples")"
series="$(awk -v end="$ended" -v dur="$duration" '$1 >= end - dur && $1 <= end { printf "%s[%.1f, %.1f, %.2f]", (n++ ? ", " : ""), $1 - (end - dur), $2 / 1024, $3 }' "$samples")"

jq -n --argjson s "$summary" --argjson first "$first" --argjson side "$side" --argjson fit "$fit" --argjson rss "[$series]" \
  --argjson machine "$(machine_json)" --arg durability "$SOAK_DURABILITY" --arg warm "$SOAK_WARMUP" \
  --arg every "$SOAK_SAMPLE_S" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg concurrent "${SOAK_CONCURRENT:-}" \
  --arg cmd "lxmon-server --durability $SOAK_DURABILITY; lxmon-loadgen --mode live --keys KEYS($SOAK_AGENTS) --interval $SOAK_INTERVAL --duration $SOAK_INTERVAL --concurrency 64 --server-pid PID (first interval); the same with --duration $SOAK_DURATION (the soak); RSS every ${SOAK_SAMPLE_S}s" \
  '{machine: $machine, command: $cmd, durability: $durability, loadavg_after: $load, concurrent_with: $concurrent, first_interval: $first, summary: $s,
    server_metrics: $side, rss: ($fit + {every_s: ($every|tonumber), warmup_s: ($warm|tonumber),
    points_t_s_rss_mb_cpu_s: $rss})}' >"$OUT_DIR/soak.json"
jq -c '{agents: .summary.agents, samples_per_s: .summary.samples_per_s, p50: .summary.latency_ms.p50,
        p99: .summary.latency_ms.p99, errors: .summary.errors, cores: .summary.server.cores_busy,
        rss_peak: .summary.server.rss_mb_max, slope: .rss.slope_mb_per_min}' "$OUT_DIR/soak.json" >&2
log "wrote $OUT_DIR/soak.json"
