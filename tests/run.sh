#!/usr/bin/env bash
# The whole suite: lint, unit tests, then the integration tests on the real stack, once per
# profile (embedded SQLite, then PostgreSQL). Each integration run starts and stops its stack.
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
for profile in ${PROFILES:-sqlite postgres}; do
  echo "==> chaos subset (every fault kind once), profile $profile"
  PROFILE=$profile CHAOS_SIZE=subset $py -m pytest tests/chaos -q
done
echo "==> all tests passed in $((SECONDS - start))s"
