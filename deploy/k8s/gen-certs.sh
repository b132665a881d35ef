#!/usr/bin/env bash
# gen-certs.sh — a throwaway CA and the fleet's mutual TLS certificates, for tests and
# trials (in production let cert-manager or your PKI fill the same Secrets).
#
#   deploy/k8s/gen-certs.sh [--out DIR] [--namespace NS] [--name NAME]... [--days N]
#                           [--yaml FILE] [--apply]
#
#   --out DIR        where the files go (default ./migrator-certs); keys are mode 0600
#   --namespace NS   namespace of the Service (default: kubectl's current one, else default)
#   --name NAME      an extra DNS name (or IP address) for the coordinator certificate;
#                    repeatable. Always included: migrator-coordinator,
#                    migrator-coordinator.NS.svc, migrator-coordinator.NS.svc.cluster.local
#   --days N         validity (default 365)
#   --yaml FILE      also write the two Secrets as manifests to FILE
#   --apply          create or update the Secrets with kubectl (else print the commands)
#
# Makes ca.{crt,key}, coordinator.{crt,key} (serverAuth), worker.{crt,key} and
# operator.{crt,key} (clientAuth). Each client certificate carries its role as a URI SAN,
# which the coordinator checks: the worker's urn:imapsync-migrator:role:worker (it may
# register as a worker and receive tasks, passwords included), the operator's
# urn:imapsync-migrator:role:operator (it may read the status with migratectl; it stays
# with the operator). The Secrets, of type kubernetes.io/tls with tls.crt, tls.key and
# ca.crt (the keys cert-manager writes): migrator-coordinator-tls and migrator-worker-tls.
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
OUT=./migrator-certs
NS=
DAYS=365
YAML=
APPLY=0
EXTRA=()
SERVICE=migrator-coordinator

die() { echo "$PROG: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --namespace|-n) NS=$2; shift 2 ;;
    --name) EXTRA+=("$2"); shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --yaml) YAML=$2; shift 2 ;;
    --apply) APPLY=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
if [ -z "$NS" ]; then
  NS=$(kubectl config view --minify -o 'jsonpath={..namespace}' 2>/dev/null || true)
  NS=${NS:-default}
fi

mkdir -p "$OUT"
umask 077
cd "$OUT"

# ca, then leaf NAME PURPOSE [SAN]
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.crt -days "$DAYS" -subj "/CN=imapsync-bulk-migrator fleet CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

leaf() {
  local name=$1 usage=$2 san=${3:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days "$DAYS" -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

san="DNS:$SERVICE,DNS:$SERVICE.$NS.svc,DNS:$SERVICE.$NS.svc.cluster.local"
for n in "${EXTRA[@]}"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+=",IP:$n"; else san+=",DNS:$n"; fi
done
leaf coordinator serverAuth "$san"
leaf worker clientAuth URI:urn:imapsync-migrator:role:worker
leaf operator clientAuth URI:urn:imapsync-migrator:role:operator
rm -f ca.srl
chmod 600 ./*.key
chmod 644 ./*.crt
echo "$PROG: wrote $(pwd)/{ca,coordinator,worker,operator}.{crt,key}; coordinator names: $san" >&2

# The Secrets: kubernetes.io/tls with ca.crt.
secret_yaml() {
  local name=$1 who=$2
  cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $name
  namespace: $NS
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$who.crt")
  tls.key: $(base64 -w0 "$who.key")
  ca.crt: $(base64 -w0 ca.crt)
YAML
}
if [ -n "$YAML" ]; then
  case $YAML in /*) ;; *) YAML=$OLDPWD/$YAML ;; esac
  { secret_yaml migrator-coordinator-tls coordinator; echo "---"; secret_yaml migrator-worker-tls worker; } >"$YAML"
  echo "$PROG: wrote the Secrets to $YAML" >&2
fi

commands() {
  local dir
  dir=$(pwd)
  for pair in coordinator:migrator-coordinator-tls worker:migrator-worker-tls; do
    local who=${pair%%:*} name=${pair#*:}
    echo "kubectl -n $NS create secret generic $name --type=kubernetes.io/tls" \
      "--from-file=tls.crt=$dir/$who.crt --from-file=tls.key=$dir/$who.key" \
      "--from-file=ca.crt=$dir/ca.crt --dry-run=client -o yaml | kubectl apply -f -"
  done
}
if [ "$APPLY" = 1 ]; then
  commands | while read -r line; do echo "+ $line" >&2; bash -c "$line"; done
else
  echo "# create the Secrets:"
  commands
  echo "# migratectl (operator certificate), through kubectl -n $NS port-forward svc/$SERVICE 7000:7000:"
  echo "migratectl status --coordinator 127.0.0.1:7000 --tls-ca $(pwd)/ca.crt" \
    "--tls-cert $(pwd)/operator.crt --tls-key $(pwd)/operator.key --tls-server-name $SERVICE"
fi
