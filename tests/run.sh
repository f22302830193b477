#!/usr/bin/env bash
# The whole suite: lint, unit tests, the integration tests on the real stack once per profile
# (embedded SQLite, then PostgreSQL), a short k6 bench run (loadtests/bench, BENCH_SIZE=subset:
# fails on errors or orders not completed, never on latency), then a chaos subset per profile
# (one fault of each kind, tests/chaos; `make chaos` runs the whole matrix). Each run starts and
# stops its own stack.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"
py=.venv/bin/python
start=$SECONDS
echo "==> lint (ruff)"
$py -m ruff check .
echo "==> unit tests"
$py -m pytest tests/unit -q
for profile in ${PROFILES:-sqlite postgres}; do
  echo "==> integration tests, profile $profile"
  PROFILE=$profile $py -m pytest tests/integration -q
done
echo "==> bench subset (k6: a short constant arrival rate on its own stack), profile sqlite"
PROFILE=sqlite BENCH_SIZE=subset $py -m loadtests.bench
for profile in ${PROFILES:-sqlite postgres}; do
  echo "==> chaos subset (every fault kind once), profile $profile"
  PROFILE=$profile CHAOS_SIZE=subset $py -m pytest tests/chaos -q
done
echo "==> all tests passed in $((SECONDS - start))s"
