#!/usr/bin/env bash
# Peer comparisons (issue 7), measured in this run on this machine against
# the Debian 12 packages prometheus-node-exporter (1.5), prometheus (2.42) and
# victoria-metrics (1.79); installs them with apt-get when missing. Every
# peer runs from this script on loopback, on a free port, with its own data
# directory under a temporary work dir, and is stopped by its PID.
#
#  The agent footprint against node_exporter is bench/footprint.sh.
#
#  The same data in each store: `lxmon-loadgen generate` (PEER_HOSTS
#      simulated hosts × PEER_HOURS h at 10 s), converted by peers.py to
#      lxmon backfill batches, Prometheus text with timestamps for
#      VictoriaMetrics' /api/v1/import/prometheus, and remote-write requests
#      for Prometheus' /api/v1/write. Per store: CPU-s of the store process
#      per million samples (from the upload until the process is idle again,
#      so background merges are in), then the CPU to bring it to its final
#      on-disk form (lxmon: sealing, after a restart with
#      maintenance_interval_s = 1; VictoriaMetrics: /internal/force_merge;
#      Prometheus: the admin snapshot, which writes the head as a block the
#      way head compaction does), bytes per sample on disk, and the p50 of
#      QUERY_RUNS range queries of one host's 20 series over 1 h at 10 s
#      (all three stores up, taking turns in each round).
# Writes $BENCH_OUT/peers.json.
#
# Knobs: PEER_HOSTS=50 PEER_HOURS=1 QUERY_RUNS=50 PEERS_INSTALL=1 (0: fail
# instead of apt-get) PEERS_DATA=DIR (the converted data: made there when
# missing, kept; bench/run makes it while bench/checks.sh runs, with
#   PEERS_PHASE=prepare PEERS_DATA=DIR bash bench/peers.sh
# which only generates and converts, and needs no peer; PEERS_PHASE=install
# only installs the peers, which bench/run does while it builds).
source "$(dirname "$0")/lib.sh"

PEER_HOSTS="${PEER_HOSTS:-50}"
PEER_HOURS="${PEER_HOURS:-1}"
QUERY_RUNS="${QUERY_RUNS:-50}"
PEERS_PHASE="${PEERS_PHASE:-all}"
PY="$BENCH_DIR/peers.py"

# prepare_data DIR: lxmon-loadgen generate, then peers.py convert into
# DIR/bodies (DIR/convert.json: the counts), unless DIR holds this size.
prepare_data() {
  local dir="$1" want="$PEER_HOSTS hosts x $PEER_HOURS h"
  if [ -s "$dir/convert.json" ] && [ "$(cat "$dir/size" 2>/dev/null)" = "$want" ]; then
    log "data: $dir holds $want already"
    return 0
  fi
  rm -rf "$dir/bodies" "$dir/convert.json"
  mkdir -p "$dir"
  log "data: lxmon-loadgen generate --agents $PEER_HOSTS --reports $((PEER_HOURS * 360)) --interval 10, then peers.py convert"
  "$BIN/lxmon-loadgen" generate --agents "$PEER_HOSTS" --reports $((PEER_HOURS * 360)) --interval 10 --seed 1 >"$dir/gen.ndjson"
  python3 "$PY" convert "$dir/gen.ndjson" "$dir/bodies" >"$dir/convert.json.tmp"
  rm -f "$dir/gen.ndjson"
  echo "$want" >"$dir/size"
  mv "$dir/convert.json.tmp" "$dir/convert.json"
}

if [ "$PEERS_PHASE" = install ]; then
  ensure_peers
  exit 0
fi
build_release
if [ "$PEERS_PHASE" = prepare ]; then
  [ -n "${PEERS_DATA:-}" ] || { echo "PEERS_PHASE=prepare needs PEERS_DATA=DIR" >&2; exit 2; }
  prepare_data "$PEERS_DATA"
  exit 0
fi
ensure_peers
versions="$(jq -n --arg ne "$(peer_version prometheus-node-exporter)" --arg p "$(peer_version prometheus)" --arg vm "$(peer_version victoria-metrics)" \
  '{node_exporter: $ne, prometheus: $p, victoria_metrics: $vm}')"
log "peers: $(jq -c . <<<"$versions")"
new_workdir
DATA="${PEERS_DATA:-$WORK/data}"
prepare_data "$DATA"

# --- the same data in each store ---------------------------------------------------
conv="$(cat "$DATA/convert.json")"
meta="$DATA/bodies/meta.json"
samples="$(jq .samples "$meta")"
log "data: $samples samples, $(jq .series "$meta") series"

# measure_upload KIND URL PID [KEYS]: sets UPLOAD (peers.py's JSON) and
# INGEST_CPU (CPU-s of PID from before the upload until it is idle again).
measure_upload() {
  local c0 c1
  c0="$(cpu_s "$3")"
  UPLOAD="$(python3 "$PY" upload "$1" "$2" "$DATA/bodies/$1" ${4:+"$4"})"
  wait_cpu_idle "$3" 60 || log "$1: still busy 60 s after the upload"
  c1="$(cpu_s "$3")"
  INGEST_CPU="$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')"
  jq -c --arg cpu "$INGEST_CPU" '. + {cpu_s: ($cpu|tonumber)}' <<<"$UPLOAD" >&2
  [ "$(jq .errors <<<"$UPLOAD")" = 0 ] || { echo "$1: upload errors" >&2; exit 1; }
}

# lxmon: default maintenance interval (60 s, first pass at start) while the
# upload is timed, then a restart with maintenance_interval_s = 1 to seal.
lx="$WORK/lxmon"
create_keys "$lx" "$PEER_HOSTS" "$WORK/lxmon.keys"
SERVER_LOG_LEVEL=warn start_server "$lx" --durability process
python3 "$PY" register "$SERVER_URL" "$DATA/bodies/lxmon" "$WORK/lxmon.keys" >/dev/null
sleep 1
measure_upload lxmon "$SERVER_URL" "$SERVER_PID" "$WORK/lxmon.keys"
lx_upload="$UPLOAD" lx_cpu="$INGEST_CPU"
lx_samples="$(metric "$SERVER_URL" lxmon_samples_ingested_total)"
stop_pid "$SERVER_PID"
printf 'maintenance_interval_s = 1\n' >"$WORK/lxmon.toml"
SERVER_LOG_LEVEL=warn start_server "$lx" --config "$WORK/lxmon.toml" --durability process
c0="$(cpu_s "$SERVER_PID")"
wait_for_metric "$SERVER_URL" lxmon_head_reports 0 300 || log "lxmon: head not sealed after 300 s"
lx_seal_cpu="$(awk -v a="$c0" -v b="$(cpu_s "$SERVER_PID")" 'BEGIN { printf "%.3f", b - a }')"
lx_chunk_bytes="$(metric "$SERVER_URL" lxmon_chunk_bytes)" lx_chunk_samples="$(metric "$SERVER_URL" lxmon_chunk_samples)"
LX_PID=$SERVER_PID LX_URL=$SERVER_URL  # up until the queries are done
log "lxmon: ingest $lx_cpu CPU-s, seal $lx_seal_cpu CPU-s, $lx_chunk_bytes chunk bytes"

# VictoriaMetrics.
vm_port="$(free_port)" vmd="$WORK/victoria-metrics"
"$VICTORIA" -storageDataPath="$vmd" -httpListenAddr="127.0.0.1:$vm_port" -retentionPeriod=1y -loggerLevel=WARN \
  >"$WORK/vm.log" 2>&1 &
VM_PID=$!
STARTED_PIDS+=("$VM_PID")
VM_URL="http://127.0.0.1:$vm_port"
wait_http "$VM_URL/health" 60 "$VM_PID"
sleep 1
measure_upload vm "$VM_URL" "$VM_PID"
vm_upload="$UPLOAD" vm_cpu="$INGEST_CPU"
c0="$(cpu_s "$VM_PID")"
curl -fsS "$VM_URL/internal/force_flush" >/dev/null
curl -fsS "$VM_URL/internal/force_merge" >/dev/null
for _ in $(seq 1 120); do  # merges in flight, then CPU idle
  [ "$(curl -fsS "$VM_URL/metrics" | awk '/^vm_active_merges/ { n += $2 } END { print n + 0 }')" = 0 ] && break
  sleep 1
done
wait_cpu_idle "$VM_PID" 120 || log "vm: still busy 120 s after force_merge"
vm_merge_cpu="$(awk -v a="$c0" -v b="$(cpu_s "$VM_PID")" 'BEGIN { printf "%.3f", b - a }')"
vm_samples="$(curl -fsS "$VM_URL/metrics" | awk '/^vm_rows\{type="storage\// { n += $2 } END { print n }')"
log "vm: ingest $vm_cpu CPU-s, merge $vm_merge_cpu CPU-s, $vm_samples rows"

# Prometheus (no scrape targets: remote write only).
prom_port="$(free_port)" pd="$WORK/prometheus"
printf 'global:\n  scrape_interval: 1m\n' >"$WORK/prometheus.yml"
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$pd" --web.listen-address="127.0.0.1:$prom_port" \
  --web.enable-remote-write-receiver --web.enable-admin-api --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
STARTED_PIDS+=("$PROM_PID")
PROM_URL="http://127.0.0.1:$prom_port"
wait_http "$PROM_URL/-/ready" 60 "$PROM_PID"
sleep 1
measure_upload prom "$PROM_URL" "$PROM_PID"
prom_upload="$UPLOAD" prom_cpu="$INGEST_CPU"
prom_samples="$(curl -fsS "$PROM_URL/metrics" | awk '/^prometheus_tsdb_head_samples_appended_total\{type="float"\}/ { print $2 }')"
c0="$(cpu_s "$PROM_PID")"
snap="$(curl -fsS -XPOST "$PROM_URL/api/v1/admin/tsdb/snapshot" | jq -r .data.name)"
prom_snap_cpu="$(awk -v a="$c0" -v b="$(cpu_s "$PROM_PID")" 'BEGIN { printf "%.3f", b - a }')"

# Queries: the three stores take turns in each round (the machine's other
# load then falls on all of them alike); lxmon answers from sealed chunks,
# VictoriaMetrics from merged parts, Prometheus from its in-memory head.
log "queries: $QUERY_RUNS rounds"
queries="$(python3 "$PY" query "$meta" "$QUERY_RUNS" bench-admin lxmon="$LX_URL" vm="$VM_URL" prom="$PROM_URL")"
lx_query="$(jq -c .lxmon <<<"$queries")" vm_query="$(jq -c .vm <<<"$queries")" prom_query="$(jq -c .prom <<<"$queries")"
stop_pid "$PROM_PID"
stop_pid "$LX_PID"
lx_used="$(sqlite_used_bytes "$lx/lxmon.sqlite")"
lx_file="$(du -cb "$lx"/lxmon.sqlite* | tail -n1 | cut -f1)"
kill -INT "$VM_PID"; wait "$VM_PID" 2>/dev/null || true; forget_pid "$VM_PID"  # graceful: flushes everything to disk
vm_data="$(du -sb "$vmd/data" | cut -f1)" vm_index="$(du -sb "$vmd/indexdb" | cut -f1)"
block="$(find "$pd/snapshots/$snap" -mindepth 1 -maxdepth 1 -type d | head -n1)"
prom_block_samples="$(jq .stats.numSamples "$block/meta.json")"
prom_chunks="$(du -sb "$block/chunks" | cut -f1)" prom_block="$(du -sb "$block" | cut -f1)"
prom_wal="$(du -sb "$pd/wal" | cut -f1)"
log "prometheus: ingest $prom_cpu CPU-s, snapshot $prom_snap_cpu CPU-s, block $prom_block B ($prom_block_samples samples)"
log "queries p50 ms: lxmon $(jq .p50_ms <<<"$lx_query"), vm $(jq .p50_ms <<<"$vm_query"), prometheus $(jq .p50_ms <<<"$prom_query")"

n() { printf '%s' "${1:-0}"; }
jq -n --argjson machine "$(machine_json)" --argjson versions "$versions" \
  --argjson conv "$conv" --arg hosts "$PEER_HOSTS" --arg hours "$PEER_HOURS" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --argjson lxu "$lx_upload" --arg lxc "$lx_cpu" --arg lxs "$(n "$lx_samples")" --arg lxseal "$lx_seal_cpu" \
  --arg lxcb "$(n "$lx_chunk_bytes")" --arg lxcs "$(n "$lx_chunk_samples")" --arg lxused "$lx_used" --arg lxfile "$lx_file" \
  --argjson lxq "$lx_query" \
  --argjson vmu "$vm_upload" --arg vmc "$vm_cpu" --arg vms "$(n "$vm_samples")" --arg vmm "$vm_merge_cpu" \
  --arg vmd "$vm_data" --arg vmi "$vm_index" --argjson vmq "$vm_query" \
  --argjson pu "$prom_upload" --arg pc "$prom_cpu" --arg ps "$(n "$prom_samples")" --arg psnap "$prom_snap_cpu" \
  --arg pbs "$(n "$prom_block_samples")" --arg pch "$prom_chunks" --arg pbl "$prom_block" --arg pwal "$prom_wal" --argjson pq "$prom_query" \
  --arg cmd "peers.sh: PEER_HOSTS=$PEER_HOSTS PEER_HOURS=$PEER_HOURS QUERY_RUNS=$QUERY_RUNS" \
  --arg vm_cmd "victoria-metrics -storageDataPath=DIR -httpListenAddr=127.0.0.1:PORT -retentionPeriod=1y; POST /api/v1/import/prometheus (gzip, one request per host); /internal/force_flush; /internal/force_merge; query_range ...&nocache=1" \
  --arg prom_cmd "prometheus --config.file=(no scrape targets) --storage.tsdb.path=DIR --web.enable-remote-write-receiver --web.enable-admin-api; POST /api/v1/write (36 reports of one host per request); POST /api/v1/admin/tsdb/snapshot" \
  --arg lx_cmd "lxmon-server --durability process; POST /api/agent/metrics/batch (gzip NDJSON, one request per host-hour); restart with maintenance_interval_s = 1 until lxmon_head_reports = 0" \
  'def num: tonumber; def per_m(cpu; s): (cpu|num) * 1e6 / ((s|num) + 1e-9);
  {machine: $machine, versions: $versions, command: $cmd, loadavg_after: $load,
   data: ($conv + {hosts: ($hosts|num), hours: ($hours|num)}),
   lxmon: {command: $lx_cmd, upload: $lxu, samples: ($lxs|num), ingest_cpu_s: ($lxc|num),
     ingest_cpu_s_per_million: per_m($lxc; $lxs), final_cpu_s: ($lxseal|num), final_cpu_s_per_million: per_m($lxseal; $lxs),
     chunk_bytes: ($lxcb|num), chunk_samples: ($lxcs|num), data_bytes_per_sample: (($lxcb|num) / (($lxcs|num) + 1e-9)),
     store_used_bytes: ($lxused|num), store_file_bytes: ($lxfile|num), store_bytes_per_sample: (($lxused|num) / (($lxcs|num) + 1e-9)),
     query: $lxq},
   victoria_metrics: {command: $vm_cmd, upload: $vmu, samples: ($vms|num), ingest_cpu_s: ($vmc|num),
     ingest_cpu_s_per_million: per_m($vmc; $vms), final_cpu_s: ($vmm|num), final_cpu_s_per_million: per_m($vmm; $vms),
     data_bytes: ($vmd|num), indexdb_bytes: ($vmi|num), data_bytes_per_sample: (($vmd|num) / (($vms|num) + 1e-9)),
     store_bytes_per_sample: ((($vmd|num) + ($vmi|num)) / (($vms|num) + 1e-9)), query: $vmq},
   prometheus: {command: $prom_cmd, upload: $pu, samples: ($ps|num), ingest_cpu_s: ($pc|num),
     ingest_cpu_s_per_million: per_m($pc; $ps), final_cpu_s: ($psnap|num), final_cpu_s_per_million: per_m($psnap; $ps),
     block_samples: ($pbs|num), chunks_bytes: ($pch|num), block_bytes: ($pbl|num), wal_bytes: ($pwal|num),
     data_bytes_per_sample: (($pch|num) / (($pbs|num) + 1e-9)), store_bytes_per_sample: (($pbl|num) / (($pbs|num) + 1e-9)),
     query: $pq}}' >"$OUT_DIR/peers.json"
jq -c '{samples: .data.samples, ingest_cpu_per_M: [.lxmon.ingest_cpu_s_per_million, .victoria_metrics.ingest_cpu_s_per_million, .prometheus.ingest_cpu_s_per_million],
  bytes_per_sample: [.lxmon.data_bytes_per_sample, .victoria_metrics.data_bytes_per_sample, .prometheus.data_bytes_per_sample],
  query_p50_ms: [.lxmon.query.p50_ms, .victoria_metrics.query.p50_ms, .prometheus.query.p50_ms]}' "$OUT_DIR/peers.json" >&2
log "wrote $OUT_DIR/peers.json"
