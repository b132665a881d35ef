#!/usr/bin/env bash
# check.sh — the deploy/k8s checks the test suite runs (ctest label deploy).
#
#   check.sh render   every overlay renders with `kubectl kustomize` and passes the
#                     offline schema validation (validate.mjs); so do the Secrets that
#                     gen-certs.sh writes and tools/state-reader.yaml; the broken-on-purpose objects of
#                     testdata/schema-broken.yaml are all rejected
#   check.sh policy   the project's policies (policy.mjs) hold on every overlay; the
#                     self-test catches each known violation; a namePrefix overlay that
#                     leaves the worker's --coordinator behind is rejected
#
# Environment: MIGRATOR_BINARY_DIR (build tree; the npm packages are installed into
# $MIGRATOR_BINARY_DIR/deploy/k8s-validate from package-lock.json, once per lock file).
# Exit 77 (skip) only when kubectl (>= 1.27, with kustomize 5) or node is not installed.
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
K8S=$(cd "$HERE/.." && pwd)
BIN_DIR=${MIGRATOR_BINARY_DIR:-$K8S/../../build}
WORK=$BIN_DIR/deploy/k8s-validate
OVERLAYS=(shared-fs s3 local shared-fs-import s3-import)
MODE=${1:-}

die() { echo "$PROG: FAIL: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }

command -v kubectl >/dev/null 2>&1 || skip "kubectl is not installed (Debian's kubernetes-client is too old for kustomize 5)"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "node/npm are not installed"
kubectl kustomize --help >/dev/null 2>&1 || skip "this kubectl has no kustomize"

# The validator's packages, exactly as locked.
mkdir -p "$WORK"
(
  flock 9
  stamp=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-16)
  if [ "$(cat "$WORK/.installed" 2>/dev/null)" != "$stamp" ]; then
    echo "$PROG: npm ci into $WORK" >&2
    cp "$HERE/package.json" "$HERE/package-lock.json" "$WORK/"
    rm -rf "$WORK/node_modules"
    (cd "$WORK" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1) ||
      { tail -20 "$WORK/npm-ci.log" >&2; die "npm ci failed"; }
    echo "$stamp" >"$WORK/.installed"
  fi
) 9>"$WORK/.lock" || exit $?
# The scripts run from beside their node_modules.
cp "$HERE/validate.mjs" "$HERE/policy.mjs" "$WORK/"

OUT=$WORK/rendered-$MODE
rm -rf "$OUT"
mkdir -p "$OUT"
render() {
  local overlay
  for overlay in "${OVERLAYS[@]}"; do
    kubectl kustomize "$K8S/overlays/$overlay" >"$OUT/$overlay.yaml" 2>"$OUT/$overlay.err" ||
      { cat "$OUT/$overlay.err" >&2; die "overlay $overlay does not render"; }
    echo "$PROG: rendered $overlay: $(grep -c '^kind:' "$OUT/$overlay.yaml") objects"
  done
}

case $MODE in
  render)
    render
    files=()
    for overlay in "${OVERLAYS[@]}"; do files+=("$OUT/$overlay.yaml"); done
    "$K8S/gen-certs.sh" --out "$OUT/certs" --namespace migrator --yaml "$OUT/tls-secrets.yaml" >/dev/null
    files+=("$OUT/tls-secrets.yaml" "$K8S/tools/state-reader.yaml")
    node "$WORK/validate.mjs" "${files[@]}" || die "schema validation failed"
    echo "$PROG: negative self-test: every object of testdata/schema-broken.yaml must be rejected"
    node "$WORK/validate.mjs" --expect-invalid "$HERE/testdata/schema-broken.yaml" ||
      die "the validator accepted a broken object"
    ;;
  policy)
    render
    files=()
    for overlay in "${OVERLAYS[@]}"; do files+=("$OUT/$overlay.yaml"); done
    node "$WORK/policy.mjs" "${files[@]}" || die "policy violations"
    node "$WORK/policy.mjs" --self-test "$OUT/shared-fs.yaml" || die "the policy self-test failed"
    kubectl kustomize "$HERE/testdata/name-prefix" >"$OUT/name-prefix.yaml" ||
      die "testdata/name-prefix does not render"
    if node "$WORK/policy.mjs" "$OUT/name-prefix.yaml" >"$OUT/name-prefix.log" 2>&1; then
      cat "$OUT/name-prefix.log" >&2
      die "a namePrefix that leaves --coordinator behind was accepted"
    fi
    grep -q "no Service named migrator-coordinator" "$OUT/name-prefix.log" ||
      { cat "$OUT/name-prefix.log" >&2; die "the namePrefix rendering failed for another reason"; }
    echo "$PROG: namePrefix without a --coordinator patch rejected as expected"
    ;;
  *) echo "usage: $PROG render|policy" >&2; exit 2 ;;
esac
echo "$PROG: $MODE: ok"
