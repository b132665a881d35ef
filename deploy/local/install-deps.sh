#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the demo need (as root).
# Skips apt entirely when every package is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ccache pkg-config
  libgrpc++-dev libre2-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev nlohmann-json3-dev libssl-dev zlib1g-dev libcurl4-openssl-dev libsqlite3-dev
  # the S3 store reads the server's XML replies with expat
  libexpat1-dev
  libgtest-dev libgmock-dev
  # --metrics-listen: prometheus-cpp's registry and text format, civetweb serves them;
  # its tests scrape with promtool and a real Prometheus and load the page in Chromium
  # (about 20 s to install all four on a fresh machine)
  prometheus-cpp-dev libcivetweb-dev prometheus chromium
  dovecot-imapd openssl
  # the console test runs the coordinator in a real terminal
  tmux
  # netns_tls_test and hosts_bench put workers in network namespaces (ip netns, veth)
  iproute2
  clang libclang-rt-14-dev clang-format
  # deploy checks: the container image is built and run with podman (runc) on a
  # debootstrap-made base; kubectl (with kustomize) and node come with the machine
  podman runc debootstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages and not root; run as root or install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The dovecot package may start a system instance; our tests run their own.
systemctl disable --now dovecot >/dev/null 2>&1 || true
