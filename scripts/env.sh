# Sourced by the scripts: paths to the project-local tools and the librdkafka runtime.
ARBITER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ARBITER_ROOT
export ARBITER_DEPS="$ARBITER_ROOT/.deps"
export ARBITER_TANSU="$ARBITER_DEPS/bin/tansu"
export LD_LIBRARY_PATH="$ARBITER_DEPS/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
