#!/usr/bin/env bash
# Storage benchmark: HOSTS simulated hosts × HOURS whole clock hours of 10 s
# reports, pushed through the backfill endpoint with old timestamps (so the
# hours are over), then sealed by the server's maintenance job
# (maintenance_interval_s = 1). Once /metrics shows lxmon_head_reports 0,
# bytes per sealed sample = lxmon_chunk_bytes / lxmon_chunk_samples. Also
# reports the whole store per sample: pages in use (raw and rollup chunks,
# series, indexes, metadata) and the file with its free pages.
# Writes $BENCH_OUT/storage.json.
#
# Knobs: HOSTS=50 HOURS=3 INTERVAL=10 SEAL_TIMEOUT=300
source "$(dirname "$0")/lib.sh"

HOSTS="${HOSTS:-50}"
HOURS="${HOURS:-3}"
INTERVAL="${INTERVAL:-10}"
SEAL_TIMEOUT="${SEAL_TIMEOUT:-300}"

build_release
new_workdir
data="$WORK/data" keys="$WORK/keys" config="$WORK/server.toml"
printf 'maintenance_interval_s = 1\n' >"$config"
create_keys "$data" "$HOSTS" "$keys"
start_server "$data" --config "$config" --durability process
log "server pid $SERVER_PID at $SERVER_URL; backfilling $HOSTS hosts x $HOURS h at ${INTERVAL}s"
summary="$("$BIN/lxmon-loadgen" --server "$SERVER_URL" --keys "$keys" --server-pid "$SERVER_PID" \
  --mode batch --hours "$HOURS" --interval "$INTERVAL" --concurrency 4)"
jq -c '{reports_ok, samples, errors, duration_s, samples_per_s}' <<<"$summary" >&2

sealed_at=$SECONDS
cpu_before="$(cpu_s "$SERVER_PID")"
if ! wait_for_metric "$SERVER_URL" lxmon_head_reports 0 "$SEAL_TIMEOUT"; then
  log "head not empty after ${SEAL_TIMEOUT}s: $(metric "$SERVER_URL" lxmon_head_reports) reports left"
fi
seal_s=$((SECONDS - sealed_at))
cpu_after="$(cpu_s "$SERVER_PID")"

chunk_bytes="$(metric "$SERVER_URL" lxmon_chunk_bytes)"
chunk_samples="$(metric "$SERVER_URL" lxmon_chunk_samples)"
head_reports="$(metric "$SERVER_URL" lxmon_head_reports)"
store_bytes="$(metric "$SERVER_URL" lxmon_store_size_bytes)"
series="$(metric "$SERVER_URL" lxmon_series)"
rss_kb="$(rss_kb "$SERVER_PID")"
stop_pid "$SERVER_PID"
# After a clean stop the WAL is checkpointed: the file size is the store.
file_bytes="$(du -cb "$data"/lxmon.sqlite* | tail -n1 | cut -f1)"
# Pages in use = page count - freelist (SQLite header: page size at byte 16,
# page count at 28, freelist count at 36, big-endian). Sealing deletes head
# rows, so the file holds free pages until SQLite reuses them.
be() { od -An -tu1 -j "$2" -N "$3" "$1" | awk '{ for (i = 1; i <= NF; i++) v = v * 256 + $i } END { print v }'; }
page_size="$(be "$data/lxmon.sqlite" 16 2)"; [ "$page_size" = 1 ] && page_size=65536
used_bytes=$(( ($(be "$data/lxmon.sqlite" 28 4) - $(be "$data/lxmon.sqlite" 36 4)) * page_size ))

jq -n --argjson s "$summary" --arg cb "$chunk_bytes" --arg cs "$chunk_samples" --arg hr "$head_reports" \
  --arg sb "$store_bytes" --arg fb "$file_bytes" --arg ub "$used_bytes" --arg series "$series" --arg seal_s "$seal_s" \
  --arg seal_cpu "$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.3f", b - a }')" \
  --arg rss "$rss_kb" --argjson machine "$(machine_json)" \
  --arg cmd "lxmon-server --config server.toml(maintenance_interval_s=1) --durability process; lxmon-loadgen --mode batch --hours $HOURS --interval $INTERVAL --keys KEYS($HOSTS)" \
  '{machine: $machine, command: $cmd, hosts: ($s.agents), hours: ($hours|tonumber),
    ingest: $s, series: ($series|tonumber), head_reports_left: ($hr|tonumber),
    chunk_bytes: ($cb|tonumber), chunk_samples: ($cs|tonumber),
    bytes_per_sample: (($cb|tonumber) / (($cs|tonumber) + 1e-9)),
    store_bytes_metric: ($sb|tonumber), store_file_bytes: ($fb|tonumber),
    store_file_bytes_per_sample: (($fb|tonumber) / (($cs|tonumber) + 1e-9)),
    store_used_bytes: ($ub|tonumber), store_used_bytes_per_sample: (($ub|tonumber) / (($cs|tonumber) + 1e-9)),
    seal_wait_s: ($seal_s|tonumber), seal_cpu_s: ($seal_cpu|tonumber), server_rss_kb: ($rss|tonumber)}' \
  --arg hours "$HOURS" >"$OUT_DIR/storage.json"
jq -c '{chunk_bytes, chunk_samples, bytes_per_sample, store_used_bytes_per_sample, store_file_bytes_per_sample, head_reports_left, seal_wait_s}' "$OUT_DIR/storage.json" >&2
log "wrote $OUT_DIR/storage.json"
