#!/usr/bin/env bash
# fleet-check.sh — a real fleet in containers: the manifests' coordinator and workers, run
# with podman from the project image, migrate between two Dovecot containers, exactly.
#
#   deploy/podman/fleet-check.sh [fs] [s3]     (default: both variants)
#
# On a podman network of its own (its own /24, removed at the end): Dovecot A (seeded with
# build/tests/seed_maildir into a volume before it starts) and B, from a small image (the
# Debian 12 base + dovecot-imapd, configured by tests/fixtures/dovecot.sh --foreground);
# a coordinator container and `parallelism` worker containers from the project image
# (deploy/container/build.sh --binaries), mutual TLS with gen-certs.sh's certificates, the
# config a read-only file. Per variant:
#   fs  overlays shared-fs, shared-fs-import: the data on a shared podman volume at /data
#   s3  overlays s3, s3-import: the S3 test server (tests/s3/s3_server.sh: s3rver behind the
#       SigV4-verifying proxy) on the host, reached at the network's gateway address
# export (a worker container is SIGKILLed mid-export: the coordinator requeues its
# accounts after the lease, --lease-timeout 6s), import, validate (the import's coordinator
# with --mode validate, no state); `migratectl status` from a container on the network
# sees both workers with the operator's certificate and is refused with the workers'
# (PERMISSION_DENIED: the roles of gen-certs.sh's certificates); then every folder of B
# holds the same multiset of (Message-ID, flags, INTERNALDATE, size) as A
# (tests/bench/bench_helper.py snapshot/compare --strict).
#
# The containers are `podman run`s of what the rendered overlays say (kube2podman.py:
# command, arguments, environment, security context, Secret/projected/PVC/emptyDir
# volumes, limits), not `podman kube play`, which in podman 4.3 ignores Jobs and Services,
# drops gRPC probes and mishandles Secret volumes. Not exercised here: probes (and so the
# --health-listen ports), NetworkPolicies (podman's CNI network has none), the Job
# controller (restartPolicy, backoffLimit, completions: each worker index is started
# once), the ServiceAccount, requests (only limits map to podman). The Service is a host
# name (--add-host migrator-coordinator, since this network has no DNS plugin) on a fixed
# address. Those are covered offline by deploy_k8s_render/deploy_k8s_policy.
#
# Prints the duration of each phase. Everything it creates (containers, volumes, the
# network, the S3 server) is removed on exit, also on failure; leftovers of a killed run
# are removed by the next one. Work files: $MIGRATOR_BINARY_DIR/deploy/fleet.
# Exit 77 (skip) only when podman cannot run here (not root: no podman or no routable
# container network) or kubectl (kustomize) is missing.
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN_DIR=${MIGRATOR_BINARY_DIR:-$ROOT/build}
W=$BIN_DIR/deploy/fleet
PY=/usr/bin/python3
K2P=$HERE/kube2podman.py
IMAGE=localhost/imapsync-bulk-migrator:fleet
DOVECOT_IMAGE=localhost/imapsync-bulk-migrator-dovecot:test
LABEL_KEY=imapsync-bulk-migrator.fleet-check
RUN=migfleet-$$
NET=$RUN
ACCOUNTS=6
LEASE=6s
JOB_TIMEOUT=300
A_CPUS=${FLEET_A_CPUS:-0.1}
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(fs s3)
for v in "${VARIANTS[@]}"; do
  case $v in fs|s3) ;; -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$PROG: unknown variant $v (fs, s3)" >&2; exit 2 ;; esac
done

T0=$(date +%s%N)
T_PHASE=$T0
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
phase() {  # phase NAME: the time since the last phase
  printf '%s: [%6.1f s] %-44s %6.1f s\n' "$PROG" "$(ms "$T0" | awk '{print $1/1000}')" "$1" \
    "$(ms "$T_PHASE" | awk '{print $1/1000}')"
  T_PHASE=$(date +%s%N)
}
log() { echo "$PROG: $*"; }
die() {
  echo "$PROG: FAIL: $*" >&2
  diagnostics >&2 || true
  exit 1
}
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }

# The last lines of every container of this run (their logs are also saved under $W/logs).
diagnostics() {
  local c
  for c in $(podman ps -a --filter "label=$LABEL_KEY=$RUN" --format '{{.Names}}' 2>/dev/null); do
    echo "----- $c ($(podman inspect -f '{{.State.Status}} exit {{.State.ExitCode}}' "$c" 2>/dev/null))"
    podman logs "$c" 2>&1 | tail -15
  done
}

# Containers, volumes and the network of run $1 (a label value).
remove_run() {
  local run=$1 ids
  ids=$(podman ps -aq --filter "label=$LABEL_KEY=$run" 2>/dev/null || true)
  [ -z "$ids" ] || podman rm -f -t 0 $ids >/dev/null 2>&1 || true
  ids=$(podman volume ls -q --filter "label=$LABEL_KEY=$run" 2>/dev/null || true)
  [ -z "$ids" ] || podman volume rm -f $ids >/dev/null 2>&1 || true
  podman network rm -f "$run" >/dev/null 2>&1 || true
}
S3_DIR=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$S3_DIR" ] && "$ROOT/tests/s3/s3_server.sh" stop "$S3_DIR" --rm >/dev/null 2>&1 || true
  local t
  t=$(date +%s%N)
  remove_run "$RUN"
  # The certificates' keys and the configs' passwords do not outlive the run.
  rm -rf "$W/secrets" "$W/volumes"
  log "cleaned up (containers, volumes, network $NET) in $(ms "$t" | awk '{print $1/1000}') s"
  exit "$rc"
}

# ---- preconditions
[ "$(id -u)" -eq 0 ] ||
  skip "needs root: Dovecot's master runs as root in its container and the test reaches the containers' addresses from the host (rootless podman networks are not routable)"
command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1 ||
  skip "kubectl with kustomize is not installed (the overlays are rendered with it)"
# apt_install PKG...: Debian packages this script needs (it runs as root).
apt_install() {
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}
command -v jq >/dev/null 2>&1 || apt_install jq
"$PY" -c 'import yaml' 2>/dev/null || apt_install python3-yaml
for b in bin/coordinator bin/worker bin/migratectl tests/seed_maildir; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b is not built"
done
# shellcheck source=../container/podman-env.sh
. "$ROOT/deploy/container/podman-env.sh"
podman_env_setup "$W"
mkdir -p "$W"
rm -rf "$W/logs" "$W/rendered" "$W/snap" "$W/secrets" "$W/volumes"
mkdir -p "$W/logs" "$W/rendered" "$W/snap"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of runs that were killed before their cleanup (their pid is gone).
for run in $( { podman ps -a --format "{{index .Labels \"$LABEL_KEY\"}}" 2>/dev/null
                podman volume ls --format "{{index .Labels \"$LABEL_KEY\"}}" 2>/dev/null
                podman network ls --format '{{.Name}}' 2>/dev/null | grep '^migfleet-' ; } | sort -u); do
  pid=${run#migfleet-}
  [[ $pid =~ ^[0-9]+$ ]] || continue
  [ "$pid" != $$ ] && ! kill -0 "$pid" 2>/dev/null || continue
  log "removing the leftovers of $run"
  remove_run "$run"
done
phase "preconditions"

# ---- images
BASE=$(podman_base_image "$W") || die "no base image"
podman_project_image "$IMAGE" "$BASE" "$BIN_DIR" "$W/logs/image-build.log"
phase "project image $IMAGE"
ctx=$(mktemp -d "${TMPDIR:-/tmp}/migfleet-dovecot.XXXXXX")
cp "$HERE/dovecot.Containerfile" "$ROOT/tests/fixtures/dovecot.sh" "$ctx/"
podman build --pull=never --build-arg "BASE=$BASE" -f "$ctx/dovecot.Containerfile" \
  -t "$DOVECOT_IMAGE" "$ctx" >"$W/logs/dovecot-image-build.log" 2>&1 ||
  { rm -rf "$ctx"; tail -20 "$W/logs/dovecot-image-build.log" >&2; die "the Dovecot image does not build"; }
rm -rf "$ctx"
phase "Dovecot image $DOVECOT_IMAGE"

# ---- the network: a /24 of our own, fixed addresses
SUBNET=
for _ in 1 2 3 4 5 6 7 8; do
  x=$((16 + RANDOM % 230))
  if podman network create --label "$LABEL_KEY=$RUN" --subnet "10.213.$x.0/24" "$NET" \
      >/dev/null 2>"$W/logs/network.err"; then SUBNET=10.213.$x; break; fi
done
[ -n "$SUBNET" ] || { cat "$W/logs/network.err" >&2; die "podman network create failed"; }
GW=$SUBNET.1
IP_A=$SUBNET.10
IP_B=$SUBNET.11
IP_COORD=$SUBNET.20
COORD=$RUN-coordinator
# The Service's name, the coordinator container's name and the Dovecots, for everyone.
set_netargs() {
  NETARGS=(--network "$NET" --label "$LABEL_KEY=$RUN"
           --add-host "migrator-coordinator:$IP_COORD" --add-host "$COORD:$IP_COORD"
           --add-host "dovecot-a:$IP_A" --add-host "dovecot-b:$IP_B")
}
set_netargs
phase "network $NET ($SUBNET.0/24)"

# ---- certificates and Secrets (directories of key files, as kubectl would create them)
S=$W/secrets
"$ROOT/deploy/k8s/gen-certs.sh" --out "$S/certs" --namespace migrator --name "$COORD" >"$W/logs/gen-certs.out" 2>&1 ||
  { cat "$W/logs/gen-certs.out" >&2; die "gen-certs.sh failed"; }
for who in coordinator worker operator; do
  mkdir -p "$S/migrator-$who-tls"
  cp "$S/certs/$who.crt" "$S/migrator-$who-tls/tls.crt"
  cp "$S/certs/$who.key" "$S/migrator-$who-tls/tls.key"
  cp "$S/certs/ca.crt" "$S/migrator-$who-tls/ca.crt"
done
write_config() {  # write_config SECRET HOST: config.json for user1..N on HOST:143
  mkdir -p "$S/$1"
  {
    printf '{"server": {"host": "%s", "port": 143, "ssl": false},\n "accounts": [\n' "$2"
    for i in $(seq 1 "$ACCOUNTS"); do
      printf '  {"email": "user%s@example.com", "password": "pass%s"}%s\n' "$i" "$i" \
        "$([ "$i" -lt "$ACCOUNTS" ] && echo ,)"
    done
    printf ' ]}\n'
  } >"$S/$1/config.json"
}
write_config migrator-config dovecot-a
write_config migrator-import-config dovecot-b
mkdir -p "$S/migrator-s3"
printf S3RVER >"$S/migrator-s3/AWS_ACCESS_KEY_ID"
printf S3RVER >"$S/migrator-s3/AWS_SECRET_ACCESS_KEY"
SECRET_ARGS=()
for d in "$S"/migrator-*; do SECRET_ARGS+=(--secret "${d##*/}=$d"); done
# The operator's migratectl: the operator certificate, mounted like a worker's.
OPERATOR=(--user 10001:10001 --read-only --cap-drop ALL --security-opt no-new-privileges
          --volume "$S/migrator-operator-tls:/etc/migrator/tls:ro" "$IMAGE" migratectl)
OPERATOR_TLS=(--tls-ca /etc/migrator/tls/ca.crt --tls-cert /etc/migrator/tls/tls.crt
              --tls-key /etc/migrator/tls/tls.key)
# migratectl with the workers' certificate (refused: the role is not an operator's).
mkdir -p "$S/worker-ctl-tls" && cp "$S"/migrator-worker-tls/* "$S/worker-ctl-tls/"
WORKER_CTL=(--user 10001:10001 --read-only --cap-drop ALL --security-opt no-new-privileges
            --volume "$S/worker-ctl-tls:/etc/migrator/tls:ro" "$IMAGE" migratectl)
chmod 0755 "$S" "$S"/migrator-* "$S/worker-ctl-tls"
for d in migrator-operator-tls worker-ctl-tls; do chgrp 10001 "$S/$d"/* && chmod 0440 "$S/$d"/*; done
phase "certificates (gen-certs.sh) and secrets"

# ---- Dovecot A (seeded before it starts) and B
volume() {  # volume NAME [OWNER]: a podman volume of this run; prints its mount point
  podman volume create --label "$LABEL_KEY=$RUN" "$RUN-$1" >/dev/null || die "podman volume create $1"
  local mp
  mp=$(podman volume inspect -f '{{.Mountpoint}}' "$RUN-$1")
  [ -z "${2:-}" ] || chown "$2" "$mp"
  echo "$mp"
}
start_dovecot() {  # start_dovecot a|b IP VOLUME [podman run flags]
  podman run -d --name "$RUN-dovecot-$1" --hostname "dovecot-$1" --ip "$2" "${NETARGS[@]}" "${@:4}" \
    --volume "$RUN-$3:/srv/dovecot/mail" "$DOVECOT_IMAGE" --users "$ACCOUNTS" \
    --cert-host "dovecot-$1" >/dev/null || die "Dovecot $1 did not start"
}
wait_imap() {  # wait_imap NAME IP
  local i
  for i in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/$2/143" && IFS= read -r -t 2 -u 3 l && [[ $l == '* OK'* ]]) 2>/dev/null; then
      return 0
    fi
    [ "$(podman inspect -f '{{.State.Running}}' "$RUN-dovecot-$1")" = true ] || break
    sleep 0.1
  done
  die "Dovecot $1 does not greet on $2:143"
}
MAIL_A=$(volume mail-a)
mkdir -p "$W/seed-a"
printf 'MAIL_ROOT=%s\nSEPARATOR=/\n' "$MAIL_A" >"$W/seed-a/env"
seed() { "$BIN_DIR/tests/seed_maildir" seed "$W/seed-a" "$@" >/dev/null || die "seed_maildir $*"; }
for i in $(seq 1 "$ACCOUNTS"); do
  u=user$i@example.com
  seed "$u" INBOX 200 --seed "$i" --random-flags --min-size 2000 --max-size 16000
  seed "$u" Sent 60 --seed $((i + 100)) --flags '\Seen'
  seed "$u" "Projects/2024/Q1" 60 --seed $((i + 200)) --random-flags
  seed "$u" "Réunions/日本語" 10 --seed $((i + 300)) --flags '\Seen,$Forwarded,Projet-X'
  seed "$u" Archive 1 --seed $((i + 400)) --min-size 1000000 --max-size 2000000
done
# A slow source (a CPU quota) makes the export last long enough to kill a worker in it.
start_dovecot a "$IP_A" mail-a --cpus "$A_CPUS"
volume mail-b >/dev/null
start_dovecot b "$IP_B" mail-b
wait_imap a "$IP_A"
wait_imap b "$IP_B"
phase "Dovecot A (seeded: $ACCOUNTS accounts) and B"
snapshot() {  # snapshot a|b IP PREFIX: one JSON per account
  local i
  for i in $(seq 1 "$ACCOUNTS"); do
    "$PY" "$ROOT/tests/bench/bench_helper.py" snapshot --host "$2" --port 143 \
      --user "user$i@example.com" --password "pass$i" --out "$W/snap/$3-$i.json" \
      >>"$W/logs/snapshots.log" 2>&1 &
  done
  wait_all "snapshot of $1"
}
wait_all() {  # waits for every background job; fails naming $1 if one failed
  local pid bad=0
  for pid in $(jobs -p); do wait "$pid" || bad=1; done
  [ "$bad" = 0 ] || { tail -5 "$W/logs/"*.log >&2; die "$1 failed"; }
}
snapshot a "$IP_A" a
log "A: $(grep -c '^snapshot' "$W/logs/snapshots.log") accounts, $(awk '{m += $5} END {print m}' "$W/logs/snapshots.log") messages"
phase "snapshot of A (the reference)"

# ---- the overlays, rendered
for o in shared-fs shared-fs-import s3 s3-import; do
  kubectl kustomize "$ROOT/deploy/k8s/overlays/$o" >"$W/rendered/$o.yaml" 2>"$W/logs/render-$o.err" ||
    { cat "$W/logs/render-$o.err" >&2; die "overlay $o does not render"; }
done
PARALLELISM=$("$PY" "$K2P" "$W/rendered/shared-fs.yaml" migrator-worker --parallelism)
phase "overlays rendered (workers: $PARALLELISM)"

# watch_and_kill LABEL: while the job runs, `migratectl watch` in a container; once every
# worker is connected, `migratectl status` lists them; then a worker that runs accounts is
# SIGKILLed (its id in KILLED).
watch_and_kill() {
  local label=$1 line i connected killed= done_msgs
  # The operator's view, from a container on the network: every update as a JSON line.
  # Started again while the coordinator does not listen yet (exit 3: unreachable).
  local watch=$W/logs/$label-watch.jsonl
  : >"$watch"
  (
    for _ in $(seq 1 50); do
      wrc=0
      podman run --rm --name "$RUN-watch" "${NETARGS[@]}" "${OPERATOR[@]}" watch --json \
        --interval 200ms --coordinator migrator-coordinator:7000 "${OPERATOR_TLS[@]}" \
        >>"$watch" 2>>"$W/logs/$label-watch.err" || wrc=$?
      [ "$wrc" = 3 ] && [ "$(podman inspect -f '{{.State.Running}}' "$COORD" 2>/dev/null)" = true ] || break
      sleep 0.2
    done
  ) &
  WATCH_PID=$!
  {
    # Both workers connected: `migratectl status` (the operator's command) lists them.
    connected=0
    for i in $(seq 1 300); do
      line=$(tail -n 1 "$watch" 2>/dev/null || true)
      connected=$(jq -r '.status.workers_connected // 0' <<<"$line" 2>/dev/null || true)
      [[ $connected =~ ^[0-9]+$ ]] || connected=0
      [ "$connected" -ge "$PARALLELISM" ] && break
      [ "$(podman inspect -f '{{.State.Running}}' "$COORD")" = true ] || break
      sleep 0.1
    done
    [ "$connected" -ge "$PARALLELISM" ] || die "$label: the workers did not all connect (watch: ${line:-nothing})"
    podman run --rm "${NETARGS[@]}" "${OPERATOR[@]}" status --coordinator "$COORD:7000" \
      "${OPERATOR_TLS[@]}" >"$W/logs/$label-status.txt" 2>&1 ||
      { cat "$W/logs/$label-status.txt" >&2; die "$label: migratectl status failed"; }
    for ((i = 0; i < PARALLELISM; i++)); do
      grep -q "worker-$i" "$W/logs/$label-status.txt" ||
        { cat "$W/logs/$label-status.txt" >&2; die "$label: migratectl status does not list worker-$i"; }
    done
    log "$label: migratectl status (from the network, operator certificate, coordinator $COORD:7000):"
    sed 's/^/    /' "$W/logs/$label-status.txt"
    # The workers' certificate may not read the status (it may only take tasks).
    local rc=0
    podman run --rm "${NETARGS[@]}" "${WORKER_CTL[@]}" status --coordinator "$COORD:7000" \
      "${OPERATOR_TLS[@]}" >"$W/logs/$label-status-worker.txt" 2>&1 || rc=$?
    [ "$rc" = 3 ] && grep -q "PERMISSION_DENIED" "$W/logs/$label-status-worker.txt" ||
      { cat "$W/logs/$label-status-worker.txt" >&2; die "$label: migratectl with the workers' certificate: exit $rc, not refused"; }
    log "$label: migratectl status with the workers' certificate: refused (PERMISSION_DENIED)"
    # SIGKILL a worker while it runs accounts that have moved some messages.
    for i in $(seq 1 300); do
      line=$(tail -n 1 "$watch" 2>/dev/null || true)
      killed=$(jq -r 'select(.status.finished | not) | .status.workers[]
                      | select(.running > 0 and .connected) | .worker_id' <<<"$line" 2>/dev/null |
               tail -1 || true)
      done_msgs=$(jq -r '.status.messages.done // 0' <<<"$line" 2>/dev/null || true)
      if [ -n "$killed" ] && [[ $done_msgs =~ ^[1-9][0-9]*$ ]]; then break; fi
      killed=
      [ "$(podman inspect -f '{{.State.Running}}' "$COORD")" = true ] || break
      sleep 0.05
    done
    [ -n "$killed" ] || die "$label: the job ended before a worker could be killed (corpus too small?)"
    podman kill --signal KILL "$RUN-$killed" >/dev/null || die "podman kill $RUN-$killed failed"
    KILLED=$killed
    log "$label: killed $killed (SIGKILL) at $(jq -c '{done: .status.messages.done, total: .status.messages.total, running: [.status.workers[] | {(.worker_id): .running}] | add}' <<<"$line")"
  }
}

# ---- one Job of the fleet
# run_job OVERLAY LABEL KILL [kube2podman edits of the coordinator...]: the coordinator and
# the workers of OVERLAY; KILL=1: SIGKILL a worker mid-job. Fails unless the coordinator
# exits 0 and every worker not killed exits 0.
run_job() {
  local overlay=$1 label=$2 kill=$3
  shift 3
  local rendered=$W/rendered/$overlay.yaml i line
  local -a common=(--image "$IMAGE" --volume-dir "$W/volumes" "${SECRET_ARGS[@]}" "${CLAIM_ARGS[@]}")
  local -a args
  mapfile -d '' args < <("$PY" "$K2P" "$rendered" migrator-coordinator "${common[@]}" \
    --extra-arg=--lease-timeout --extra-arg="$LEASE" "$@") || die "kube2podman: $overlay coordinator"
  podman run -d --name "$COORD" --hostname migrator-coordinator --ip "$IP_COORD" "${NETARGS[@]}" \
    "${args[@]}" >/dev/null || die "$label: the coordinator container did not start"
  local t_start
  t_start=$(date +%s%N)
  # The workers start together, so that both register before the first finishes.
  for ((i = 0; i < PARALLELISM; i++)); do
    mapfile -d '' args < <("$PY" "$K2P" "$rendered" migrator-worker "${common[@]}" --index "$i" \
      "${S3_ENV[@]}") || die "kube2podman: $overlay worker $i"
    podman run -d --name "$RUN-worker-$i" --hostname "worker-$i" --ip "$SUBNET.$((21 + i))" \
      "${NETARGS[@]}" "${args[@]}" >"$W/logs/$label-worker-$i.id" 2>&1 &
  done
  wait_all "$label: starting the workers"
  local killed=
  KILLED= WATCH_PID=
  if [ "$kill" = 1 ]; then watch_and_kill "$label"; killed=$KILLED; fi
  local rc done_msgs
  rc=$(timeout "$JOB_TIMEOUT" podman wait "$COORD" 2>/dev/null) || die "$label: the coordinator did not finish in $JOB_TIMEOUT s"
  local took
  took=$(ms "$t_start")
  podman logs "$COORD" >"$W/logs/$label-coordinator.log" 2>&1 || true
  [ "$rc" = 0 ] || { tail -40 "$W/logs/$label-coordinator.log" >&2; die "$label: the coordinator exited $rc"; }
  # Every worker that registered exits when the coordinator has no more work. One that
  # never did (a short job, over before its first connection attempt got through) keeps
  # retrying for --retry-for: it is killed (SIGKILL: the worker installs no SIGTERM handler,
  # and a container's main process ignores signals it does not handle).
  for ((i = 0; i < PARALLELISM; i++)); do
    local w=$RUN-worker-$i wrc=
    for _ in $(seq 1 30); do
      [ "$(podman inspect -f '{{.State.Running}}' "$w")" = true ] || break
      podman logs "$w" 2>&1 | grep -q "registered with coordinator" || break
      sleep 0.2
    done
    if [ "$(podman inspect -f '{{.State.Running}}' "$w")" = true ] &&
       ! podman logs "$w" 2>&1 | grep -q "registered with coordinator"; then
      podman kill --signal KILL "$w" >/dev/null 2>&1 || true
      log "$label: worker-$i never registered (the job was over first): killed"
      podman logs "$w" >"$W/logs/$label-worker-$i.log" 2>&1 || true
      continue
    fi
    wrc=$(timeout 60 podman wait "$w" 2>/dev/null) || die "$label: worker-$i did not exit after the job"
    podman logs "$w" >"$W/logs/$label-worker-$i.log" 2>&1 || true
    if [ "worker-$i" = "$killed" ]; then
      [ "$wrc" = 137 ] || die "$label: the killed worker-$i exited $wrc, not 137"
    else
      [ "$wrc" = 0 ] || { tail -20 "$W/logs/$label-worker-$i.log" >&2; die "$label: worker-$i exited $wrc"; }
    fi
  done
  if [ -n "$WATCH_PID" ]; then  # watch ends with the job; not later than 5 s after it
    for i in $(seq 1 50); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$WATCH_PID" 2>/dev/null && podman rm -f -t 0 "$RUN-watch" >/dev/null 2>&1
    wait "$WATCH_PID" 2>/dev/null || true
  fi
  # The summary: the coordinator's last lines.
  grep -E 'succeeded|failed' "$W/logs/$label-coordinator.log" | tail -3 | sed 's/^/    /'
  if [ -n "$killed" ]; then
    # The killed worker's accounts went back to the queue and were finished by another.
    local report
    report=$(ls -t "$STATE"/logs/*.report.json 2>/dev/null | head -1)
    [ -n "$report" ] || die "$label: no JSON report in the state volume"
    jq -e '.fleet.leases_expired >= 1 and ([.accounts[] | select(.attempts >= 2)] | length) >= 1' \
      "$report" >/dev/null ||
      die "$label: no lease expired / no account retried after the kill: $(jq -c .fleet "$report")"
    log "$label: requeued after the kill: $(jq -c '{fleet, retried: [.accounts[] | select(.attempts >= 2) | {(.email): .worker_id}] | add}' "$report")"
  fi
  podman rm -f -t 0 "$COORD" $(for ((i = 0; i < PARALLELISM; i++)); do echo "$RUN-worker-$i"; done) >/dev/null
  log "$label: coordinator exit 0 in $(awk "BEGIN {print $took / 1000}") s"
}

compare_b() {  # compare_b LABEL: B equals A, per account and folder
  snapshot b "$IP_B" "b-$1"
  local i
  for i in $(seq 1 "$ACCOUNTS"); do
    "$PY" "$ROOT/tests/bench/bench_helper.py" compare --a "$W/snap/a-$i.json" --b "$W/snap/b-$1-$i.json" \
      --strict --label "user$i" >>"$W/logs/$1-compare.log" 2>&1 ||
      { tail -20 "$W/logs/$1-compare.log" >&2; die "$1: B differs from A for user$i@example.com"; }
  done
  log "$1: B == A: every folder of every account, same (Message-ID, flags, INTERNALDATE, size) multiset"
}

fresh_b() {  # B empty again (a new volume) for the next variant
  podman rm -f -t 0 "$RUN-dovecot-b" >/dev/null
  # At a new address: the host's ARP entry for the old one names the old container's MAC
  # for a while, and connections from the host (snapshots) would stall on it.
  IP_B=$SUBNET.12
  set_netargs
  podman volume rm -f "$RUN-mail-b" >/dev/null
  volume mail-b >/dev/null
  start_dovecot b "$IP_B" mail-b
  wait_imap b "$IP_B"
}

variant() {
  local v=$1 export_overlay import_overlay
  # The coordinator's state PVC (export and import state files, logs and reports).
  STATE=$(volume "state-$v" 10001:10001)
  CLAIM_ARGS=(--claim "migrator-coordinator-state=$RUN-state-$v")
  S3_ENV=()
  local -a edits=()
  if [ "$v" = fs ]; then
    export_overlay=shared-fs import_overlay=shared-fs-import
    volume data 10001:10001 >/dev/null
    CLAIM_ARGS+=(--claim "migrator-data=$RUN-data")
  else
    export_overlay=s3 import_overlay=s3-import
    # Its objects in memory when /dev/shm is a tmpfs: removing thousands of small files
    # from this machine's disk can take half a minute.
    if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
      S3_DIR=$(mktemp -d /dev/shm/migfleet-s3.XXXXXX)
    else
      S3_DIR=$W/s3
      rm -rf "$S3_DIR"
    fi
    local env_out t_s3
    t_s3=$(date +%s%N)
    env_out=$("$ROOT/tests/s3/s3_server.sh" start "$S3_DIR" --bucket fleet --listen "$GW" --owner-pid $$ 2>"$W/logs/s3-start.err") || {
      local rc=$?
      cat "$W/logs/s3-start.err" >&2
      [ "$rc" = 77 ] && die "the S3 test server cannot be installed here (npm)"
      die "the S3 test server did not start"
    }
    local endpoint
    endpoint=$(sed -n 's/^ENDPOINT=//p' <<<"$env_out")
    # What the operator puts in s3-settings.env for an S3-compatible endpoint.
    S3_ENV=(--set-env "AWS_ENDPOINT_URL=$endpoint" --set-env S3_FORCE_PATH_STYLE=true)
    edits=(--replace-arg s3://my-bucket/exported=s3://fleet/exported)
    phase "S3 test server on the gateway ($endpoint; start $(ms "$t_s3") ms)"
  fi
  run_job "$export_overlay" "$v-export" 1 "${edits[@]}"
  phase "$v: export (one worker killed mid-export)"
  run_job "$import_overlay" "$v-import" 0 "${edits[@]}"
  phase "$v: import"
  run_job "$import_overlay" "$v-validate" 0 "${edits[@]}" --replace-arg import=validate \
    --replace-arg /state/import.state.sqlite=none
  phase "$v: validate"
  compare_b "$v"
  phase "$v: B compared with A"
  if [ "$v" = s3 ]; then
    "$ROOT/tests/s3/s3_server.sh" stop "$S3_DIR" --rm >/dev/null 2>&1 || true
    S3_DIR=
  fi
}

first=1
for v in "${VARIANTS[@]}"; do
  if [ "$first" = 0 ]; then fresh_b; phase "Dovecot B emptied"; fi
  first=0
  variant "$v"
done
log "ok: ${VARIANTS[*]} in $(ms "$T0" | awk '{print $1/1000}') s"
