#!/usr/bin/env bash
# Installs every Debian bookworm package that beemesh's build, tests, fuzzers,
# benchmarks and demo need. Idempotent: packages already present are skipped.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  clang libclang-rt-14-dev clang-format
  # libraries (see docs/ARCHITECTURE.md for why each one)
  libopendht-dev libmsgpack-dev libjsoncpp-dev libssl-dev libgnutls28-dev nettle-dev libargon2-dev
  libasio-dev libflatbuffers-dev flatbuffers-compiler libsodium-dev libgfshare-dev
  libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libcli11-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # container runtimes
  podman runc catatonit busybox-static docker.io
  # the fleet of network-namespace machines (scripts/fleet.sh; nsenter is in util-linux)
  iproute2 iptables util-linux
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: these packages are missing: ${missing[*]}" >&2
  echo "install-deps: installing them needs root; run again as root (e.g. sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# docker.io's package enables a system service; beemesh's tests start their own dockerd.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled docker >/dev/null 2>&1; then
  systemctl disable --now docker docker.socket >/dev/null 2>&1 || true
fi
echo "install-deps: done"
