#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), builds, and runs
# the unit and integration tests. Integration tests start and stop their own Tansu
# brokers through scripts/broker.sh and run the real `arbiter` binary.
# Extra arguments go to `swift test` (e.g. --filter PipelineIntegrationTests); without
# them the linear bandits are also cross-checked against MABWiser.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
echo "[test] building (debug) with tests" >&2
swift build --build-tests
echo "[test] running tests with librdkafka from $ARBITER_DEPS/lib" >&2
if [ "$#" -gt 0 ]; then
  swift test --skip-build "$@"
else
  # Unit tests in parallel; then the integration suites one after another: each starts
  # brokers and engines with deadlines, and on two cores they must not share the
  # machine with each other or with the sampler tests (four chains each).
  swift test --skip-build --skip IntegrationTests
  echo "[test] integration tests, one suite at a time" >&2
  swift test --skip-build --filter IntegrationTests --no-parallel
fi
if [ "$#" -eq 0 ]; then
  # Not a Swift test: LinUCB and linear Thompson sampling against MABWiser on one fixed
  # simulated data set (tools/crosscheck-linear.py; installs its own virtualenv).
  echo "[test] cross-checking the linear bandits against MABWiser" >&2
  python3 tools/crosscheck-linear.py --bench "$(swift build --show-bin-path)/arbiter-bench"
fi
