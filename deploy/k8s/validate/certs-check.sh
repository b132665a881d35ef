#!/usr/bin/env bash
# certs-check.sh — gen-certs.sh's certificates work with the real binaries.
#
# Makes a CA and the fleet's certificates with gen-certs.sh, checks their names, uses and
# roles (URI SANs) with openssl, then starts a coordinator on a loopback port with the
# coordinator certificate (mutual TLS): migratectl reads its status with the operator's
# certificate with --tls-server-name migrator-coordinator (the Service name, as through
# `kubectl port-forward`) or migrator-coordinator.migrator.svc; the roles are enforced (the
# worker's certificate may not read the status, the operator's may not register as a
# worker: PERMISSION_DENIED); a certificate from another CA and a wrong server name are
# refused.
# Environment: MIGRATOR_BINARY_DIR (build tree with bin/coordinator, bin/migratectl and
# bin/worker).
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
K8S=$(cd "$HERE/.." && pwd)
BIN_DIR=${MIGRATOR_BINARY_DIR:-$K8S/../../build}
BIN=$BIN_DIR/bin
W=$BIN_DIR/deploy/certs-check
COORD_PID=

die() { echo "$PROG: FAIL: $*" >&2; [ -f "$W/coordinator.err" ] && tail -20 "$W/coordinator.err" >&2; exit 1; }
cleanup() {
  if [ -n "$COORD_PID" ] && kill -0 "$COORD_PID" 2>/dev/null; then
    kill "$COORD_PID" 2>/dev/null || true
    wait "$COORD_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

for b in coordinator migratectl worker; do [ -x "$BIN/$b" ] || die "$BIN/$b is not built"; done
rm -rf "$W"
mkdir -p "$W"

"$K8S/gen-certs.sh" --out "$W/certs" --namespace migrator --name coord.example --name 10.0.0.7 >"$W/gen-certs.out"
"$K8S/gen-certs.sh" --out "$W/other" --namespace migrator >/dev/null
C=$W/certs
grep -q "create secret generic migrator-coordinator-tls --type=kubernetes.io/tls" "$W/gen-certs.out" ||
  die "gen-certs.sh printed no kubectl command for migrator-coordinator-tls"
grep -q "create secret generic migrator-worker-tls --type=kubernetes.io/tls" "$W/gen-certs.out" ||
  die "gen-certs.sh printed no kubectl command for migrator-worker-tls"
san=$(openssl x509 -in "$C/coordinator.crt" -noout -ext subjectAltName)
for name in DNS:migrator-coordinator DNS:migrator-coordinator.migrator.svc \
            DNS:migrator-coordinator.migrator.svc.cluster.local DNS:coord.example "IP Address:10.0.0.7"; do
  grep -q "$name\(,\|$\)" <<<"$san" || die "coordinator certificate lacks $name: $san"
done
openssl x509 -in "$C/coordinator.crt" -noout -ext extendedKeyUsage | grep -q "Server Authentication" ||
  die "coordinator certificate is not for serverAuth"
for who in worker operator; do
  openssl x509 -in "$C/$who.crt" -noout -ext extendedKeyUsage | grep -q "Client Authentication" ||
    die "$who certificate is not for clientAuth"
done
for who in worker operator; do
  openssl x509 -in "$C/$who.crt" -noout -ext subjectAltName | grep -qx "    URI:urn:imapsync-migrator:role:$who" ||
    die "$who certificate does not carry the role URI urn:imapsync-migrator:role:$who"
done
openssl verify -CAfile "$C/ca.crt" "$C/coordinator.crt" "$C/worker.crt" "$C/operator.crt" >/dev/null ||
  die "a certificate does not chain to the CA"
for k in "$C"/*.key; do
  [ "$(stat -c %a "$k")" = 600 ] || die "$k is not mode 0600"
done
echo "$PROG: certificates: names, uses, roles, chain and key modes ok"

umask 077
cat >"$W/config.json" <<'JSON'
{"server": {"host": "127.0.0.1", "port": 1, "ssl": false},
 "accounts": [{"email": "a@example.com", "password": "not-used"}]}
JSON
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# No workers: the job waits for them, so the coordinator serves until it is stopped.
"$BIN/coordinator" --mode export --workers 0 --listen "127.0.0.1:$PORT" \
  --tls-cert "$C/coordinator.crt" --tls-key "$C/coordinator.key" --tls-ca "$C/ca.crt" \
  --config "$W/config.json" --output-dir "$W/out" --log-dir "$W/logs" --state none \
  >"$W/coordinator.out" 2>"$W/coordinator.err" &
COORD_PID=$!

ctl() {  # ctl CERT_DIR WHO [extra flags]: migratectl status with WHO's client certificate
  local dir=$1 who=$2
  shift 2
  "$BIN/migratectl" status --coordinator "127.0.0.1:$PORT" --timeout 3s \
    --tls-ca "$C/ca.crt" --tls-cert "$dir/$who.crt" --tls-key "$dir/$who.key" "$@"
}
up=0
for _ in $(seq 1 100); do
  kill -0 "$COORD_PID" 2>/dev/null || die "the coordinator exited"
  if ctl "$C" operator --tls-server-name migrator-coordinator >"$W/status.out" 2>&1; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || { cat "$W/status.out" >&2; die "migratectl with the operator certificate was refused"; }
echo "$PROG: migratectl with the operator certificate: ok"
ctl "$C" operator --tls-server-name migrator-coordinator.migrator.svc >/dev/null 2>&1 ||
  die "migratectl with the name migrator-coordinator.migrator.svc was refused"
echo "$PROG: migratectl with the name migrator-coordinator.migrator.svc: ok"

# The roles: the worker's certificate may not read the status, the operator's may not
# register as a worker (it would receive account passwords).
rc=0
ctl "$C" worker --tls-server-name migrator-coordinator >"$W/status-worker.out" 2>&1 || rc=$?
[ "$rc" = 3 ] || die "migratectl with the worker certificate: exit $rc, expected 3 (refused)"
grep -q "PERMISSION_DENIED.*urn:imapsync-migrator:role:operator" "$W/status-worker.out" ||
  { cat "$W/status-worker.out" >&2; die "migratectl with the worker certificate: not a clear refusal"; }
echo "$PROG: migratectl with the worker certificate: refused (PERMISSION_DENIED)"
rc=0
"$BIN/worker" --coordinator "127.0.0.1:$PORT" --id as-operator --retry-for 3s \
  --tls-server-name migrator-coordinator --tls-ca "$C/ca.crt" \
  --tls-cert "$C/operator.crt" --tls-key "$C/operator.key" >"$W/worker-operator.out" 2>&1 || rc=$?
[ "$rc" = 3 ] || die "a worker with the operator certificate: exit $rc, expected 3 (refused)"
grep -q "PERMISSION_DENIED.*urn:imapsync-migrator:role:worker" "$W/worker-operator.out" ||
  { cat "$W/worker-operator.out" >&2; die "a worker with the operator certificate: not a clear refusal"; }
echo "$PROG: a worker with the operator certificate: refused (PERMISSION_DENIED)"

rc=0
ctl "$W/other" operator --tls-server-name migrator-coordinator >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || die "a client certificate from another CA: migratectl exited $rc, expected 3 (refused)"
echo "$PROG: a client certificate from another CA: refused"
rc=0
ctl "$C" operator --tls-server-name not-the-coordinator >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || die "a wrong server name: migratectl exited $rc, expected 3"
echo "$PROG: a wrong server name: refused"
echo "$PROG: ok"
