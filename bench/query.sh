#!/usr/bin/env bash
# Query latency benchmark: the dashboard's host-page query (the 18 chart
# metrics of web/src/pages/server/charts.ts, about 20-25 series of one host)
# at 1 h, 24 h, 7 d, 30 d and 1 y, against a store holding a month of history.
#
# The store (all through the server's own HTTP paths, 60 s reports):
#   - QUERY_HOSTS hosts registered (1000);
#   - MONTH_HOSTS of them (2) with HISTORY_DAYS (30) whole days of reports,
#     WEEK_HOSTS (8) with WEEK_DAYS (7) days, the rest RECENT_HOURS (1) hour,
#     backfilled through POST /api/agent/metrics/batch (loadgen --mode batch);
#   - sealed by the server's maintenance job (restarted with
#     maintenance_interval_s = 1) into raw hourly chunks and the 5 min / 1 h
#     rollups until /metrics shows lxmon_head_reports 0; then the current hour
#     up to now is added for the month and week hosts as unsealed head rows,
#     as live agents leave it.
# Why a subset: building 60 s reports costs ~0.3 ms each in the load
# generator, and sealing a backfilled month cost about 80-110 s of server
# CPU per host before commit f81c632 (each sealed hour re-encoded the host's
# 30-day 1 h rollup chunk; bench/NOTES.md); 1000 hosts × 30 days would take
# hours.
# Raw retention is raised to HISTORY_DAYS + 1 days ([retention] raw_days),
# since the server refuses reports older than its raw retention. Tier choice
# does not change: the dashboard's steps for 7 d and longer are >= 5 min, so
# those ranges are answered from rollups with either retention.
#
# Then the server is restarted (maintenance every 60 s, the default) and
# bench/query_latency.py times QUERIES requests per range, each for a random
# host (1 h, 24 h, 7 d: month and week hosts; 30 d, 1 y: month hosts), with
# the dashboard's step for a 1000 px chart, one at a time over one
# keep-alive connection from this machine.
#
# Writes $BENCH_OUT/query.json.
# Knobs: QUERY_HOSTS=1000 MONTH_HOSTS=2 HISTORY_DAYS=30 WEEK_HOSTS=8 WEEK_DAYS=7
# HISTORY_INTERVAL=60 RECENT_HOURS=1 QUERIES=50 SEAL_TIMEOUT=900
# QUERY_PHASE=all (build: only build the store, in QUERY_STORE=DIR, kept;
# measure: only time the queries against the store QUERY_STORE holds; the
# reports since the build are added first, so the current hour is whole).
# bench/run builds the store (niced) while bench/checks.sh runs, and times
# the queries later, alone.
source "$(dirname "$0")/lib.sh"

QUERY_HOSTS="${QUERY_HOSTS:-1000}"
MONTH_HOSTS="${MONTH_HOSTS:-2}"
HISTORY_DAYS="${HISTORY_DAYS:-30}"
WEEK_HOSTS="${WEEK_HOSTS:-8}"
WEEK_DAYS="${WEEK_DAYS:-7}"
HISTORY_INTERVAL="${HISTORY_INTERVAL:-60}"
RECENT_HOURS="${RECENT_HOURS:-1}"
QUERIES="${QUERIES:-50}"
SEAL_TIMEOUT="${SEAL_TIMEOUT:-900}"
[ $((MONTH_HOSTS + WEEK_HOSTS)) -le "$QUERY_HOSTS" ] && [ "$MONTH_HOSTS" -ge 1 ] \
  || { echo "need 1 <= MONTH_HOSTS and MONTH_HOSTS + WEEK_HOSTS <= QUERY_HOSTS" >&2; exit 1; }

QUERY_PHASE="${QUERY_PHASE:-all}"
case "$QUERY_PHASE" in
  all) ;;
  build | measure) [ -n "${QUERY_STORE:-}" ] || { echo "QUERY_PHASE=$QUERY_PHASE needs QUERY_STORE=DIR" >&2; exit 2; } ;;
  *) echo "QUERY_PHASE must be all, build or measure" >&2; exit 2 ;;
esac

build_release
new_workdir
STORE="${QUERY_STORE:-$WORK/store}"
mkdir -p "$STORE"
data="$STORE/data" keys="$STORE/keys"
cfg() { # MAINTENANCE_INTERVAL_S FILE
  printf 'maintenance_interval_s = %d\n[retention]\nraw_days = %d\n' "$1" "$((HISTORY_DAYS + 1))" >"$2"
}
loadgen() { "$BIN/lxmon-loadgen" --server "$SERVER_URL" --server-pid "$SERVER_PID" --mode batch \
  --interval "$HISTORY_INTERVAL" --concurrency 4 "$@"; }
brief() { jq -c '{reports_ok, samples, errors, prepare_s, duration_s, samples_per_s}' <<<"$1" >&2; }
empty='{"reports_ok":0,"samples":0,"errors":0,"prepare_s":0,"duration_s":0}'

# build_store: the store in $STORE/data, its figures in $STORE/build.json.
build_store() {
  rm -rf "$data" "$STORE/build.json"
  cfg 86400 "$STORE/ingest.toml"; cfg 1 "$STORE/seal.toml"
  create_keys "$data" "$QUERY_HOSTS" "$keys"
  head -n "$MONTH_HOSTS" "$keys" >"$STORE/keys.month"
  head -n "$((MONTH_HOSTS + WEEK_HOSTS))" "$keys" | tail -n +"$((MONTH_HOSTS + 1))" >"$STORE/keys.week"
  tail -n +"$((MONTH_HOSTS + WEEK_HOSTS + 1))" "$keys" >"$STORE/keys.recent"
  cat "$STORE/keys.month" "$STORE/keys.week" >"$STORE/keys.queried"

  local build_started=$SECONDS
  # Ingest with maintenance out of the way: a seal pass holds the store's
  # metadata connection, so logins would wait behind it.
  start_server "$data" --config "$STORE/ingest.toml" --durability process
  local token
  token="$(curl -fsS -X POST -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-admin"}' "$SERVER_URL/api/auth/login" | jq -r .token)"
  host_ids() { curl -fsS -H "authorization: Bearer $token" "$SERVER_URL/api/servers" | jq -r '.[].id' | sort -n; }

  log "month: $MONTH_HOSTS hosts x $HISTORY_DAYS d at ${HISTORY_INTERVAL}s (server $SERVER_URL)"
  local month week recent current
  month="$(loadgen --keys "$STORE/keys.month" --hours "$((HISTORY_DAYS * 24))")"; brief "$month"
  host_ids >"$STORE/month.ids"
  week="$empty"
  if [ -s "$STORE/keys.week" ]; then
    log "week: $WEEK_HOSTS hosts x $WEEK_DAYS d"
    week="$(loadgen --keys "$STORE/keys.week" --hours "$((WEEK_DAYS * 24))")"; brief "$week"
  fi
  # 1 h, 24 h and 7 d are asked of every host with at least a week.
  host_ids >"$STORE/week.ids"
  recent="$empty"
  if [ -s "$STORE/keys.recent" ]; then
    log "recent: $((QUERY_HOSTS - MONTH_HOSTS - WEEK_HOSTS)) hosts x $RECENT_HOURS h"
    recent="$(loadgen --keys "$STORE/keys.recent" --hours "$RECENT_HOURS")"; brief "$recent"
  fi
  stop_pid "$SERVER_PID"
  local ingest_s=$((SECONDS - build_started))

  local seal_started=$SECONDS seal_cpu_before seal_s seal_cpu
  start_server "$data" --config "$STORE/seal.toml" --durability process
  seal_cpu_before="$(cpu_s "$SERVER_PID")"
  if ! wait_for_metric "$SERVER_URL" lxmon_head_reports 0 "$SEAL_TIMEOUT"; then
    log "head not empty after ${SEAL_TIMEOUT}s: $(metric "$SERVER_URL" lxmon_head_reports) reports left"
  fi
  seal_s=$((SECONDS - seal_started))
  seal_cpu="$(awk -v a="$seal_cpu_before" -v b="$(cpu_s "$SERVER_PID")" 'BEGIN { printf "%.1f", b - a }')"
  # The current hour so far, unsealed, as live agents would have left it.
  local into_hour=$(( ($(date +%s) % 3600) / HISTORY_INTERVAL ))
  current="$empty"
  if [ "$into_hour" -gt 0 ]; then
    current="$(loadgen --keys "$STORE/keys.queried" --reports "$((into_hour * (MONTH_HOSTS + WEEK_HOSTS)))")"
  fi
  local chunk_samples chunk_bytes head_reports series store_bytes build_s
  chunk_samples="$(metric "$SERVER_URL" lxmon_chunk_samples)"
  chunk_bytes="$(metric "$SERVER_URL" lxmon_chunk_bytes)"
  head_reports="$(metric "$SERVER_URL" lxmon_head_reports)"
  series="$(metric "$SERVER_URL" lxmon_series)"
  stop_pid "$SERVER_PID"
  build_s=$((SECONDS - build_started))
  store_bytes="$(du -cb "$data"/lxmon.sqlite* | tail -n1 | cut -f1)"
  log "store built in ${build_s}s (ingest ${ingest_s}s, seal ${seal_s}s, ${seal_cpu} CPU-s): $chunk_samples sealed samples, $((store_bytes / 1048576)) MiB"
  jq -n --argjson month "$month" --argjson week "$week" --argjson recent "$recent" --argjson current "$current" \
    --arg hosts "$QUERY_HOSTS" --arg mh "$MONTH_HOSTS" --arg days "$HISTORY_DAYS" --arg wh "$WEEK_HOSTS" --arg wd "$WEEK_DAYS" --arg iv "$HISTORY_INTERVAL" \
    --arg rh "$RECENT_HOURS" --arg build_s "$build_s" --arg ingest_s "$ingest_s" --arg seal_s "$seal_s" \
    --arg seal_cpu "$seal_cpu" --arg cs "$chunk_samples" --arg cb "$chunk_bytes" --arg hr "$head_reports" \
    --arg series "$series" --arg sb "$store_bytes" --arg ended "$(date +%s)" \
    --arg nice "$(nice)" --arg concurrent "${QUERY_BUILD_CONCURRENT:-}" \
    '{hosts: ($hosts|tonumber), month_hosts: ($mh|tonumber),
      history_days: ($days|tonumber), week_hosts: ($wh|tonumber), week_days: ($wd|tonumber),
      interval_s: ($iv|tonumber), recent_hours: ($rh|tonumber),
      build: {seconds: ($build_s|tonumber), ingest_s: ($ingest_s|tonumber), seal_wait_s: ($seal_s|tonumber),
              seal_cpu_s: ($seal_cpu|tonumber), month: $month, week: $week, recent: $recent, current_hour: $current,
              sealed_samples: ($cs|tonumber), chunk_bytes: ($cb|tonumber), head_reports: ($hr|tonumber),
              series: ($series|tonumber), store_file_bytes: ($sb|tonumber), ended_at_s: ($ended|tonumber),
              nice: ($nice|tonumber), concurrent_with: $concurrent}}' >"$STORE/build.json.tmp"
  mv "$STORE/build.json.tmp" "$STORE/build.json"
}

# measure_queries: query.json from $STORE.
measure_queries() {
  [ -s "$STORE/build.json" ] || { echo "no store built in $STORE (QUERY_PHASE=build first)" >&2; exit 1; }
  cfg 60 "$STORE/query.toml"
  start_server "$data" --config "$STORE/query.toml" --durability process
  # Reports since the build ended, so the queried hosts' data reaches now.
  local topup="$empty" missed
  missed=$(( ($(date +%s) - $(jq .build.ended_at_s "$STORE/build.json")) / HISTORY_INTERVAL ))
  if [ "$missed" -gt 0 ]; then
    log "adding the $missed reports per queried host since the store was built"
    topup="$(loadgen --keys "$STORE/keys.queried" --reports "$((missed * (MONTH_HOSTS + WEEK_HOSTS)))")"
  fi
  local load_before latency rss_kb_after
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "querying: $QUERIES per range (load $load_before)"
  latency="$(python3 "$BENCH_DIR/query_latency.py" "$SERVER_URL" bench-admin "$STORE/week.ids" "$STORE/month.ids" "$QUERIES")"
  rss_kb_after="$(rss_kb "$SERVER_PID")"
  stop_pid "$SERVER_PID"

  jq --argjson lat "$latency" --argjson topup "$topup" --argjson machine "$(machine_json)" --arg rss "$rss_kb_after" \
    --arg load_before "$load_before" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg cmd "lxmon-server --config (raw_days=$((HISTORY_DAYS + 1))) --durability process; lxmon-loadgen --mode batch --interval $HISTORY_INTERVAL --concurrency 4 --hours H --keys KEYS: H=$((HISTORY_DAYS * 24)) for $MONTH_HOSTS, $((WEEK_DAYS * 24)) for $WEEK_HOSTS, $RECENT_HOURS for $((QUERY_HOSTS - MONTH_HOSTS - WEEK_HOSTS)) hosts; restart with maintenance_interval_s=1 until lxmon_head_reports 0; current hour added; restart (maintenance_interval_s=60); python3 bench/query_latency.py URL PASSWORD WEEK_IDS MONTH_IDS $QUERIES" \
    '{machine: $machine, command: $cmd} + . + {build: (.build + {topup_before_queries: $topup}),
      load_before: $load_before, load_after: $load_after, server_rss_kb_after: ($rss|tonumber),
      queries: $lat}' "$STORE/build.json" >"$OUT_DIR/query.json"
  jq -c '.queries.ranges | to_entries[] | {range: .key, p50: .value.p50_ms, p95: .value.p95_ms, tier: .value.tier, step: .value.step_s, series: .value.series_mean, points: .value.points_mean}' "$OUT_DIR/query.json" >&2
  log "wrote $OUT_DIR/query.json"
}

if [ "$QUERY_PHASE" != measure ]; then build_store; fi
if [ "$QUERY_PHASE" != build ]; then measure_queries; fi
