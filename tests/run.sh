#!/usr/bin/env bash
# The whole suite: lint, unit tests and the stack-independent contract tests (consumer pacts,
# published documents and their drift, the deliberate break, each topic's message versions
# against the earlier ones with jsoncompat, the public API against the released one with
# oasdiff: docs/compatibility.md), the Kubernetes check (tests/k8s:
# deploy/k8s rendered by helm, every manifest dry-run by a real kube-apiserver on random loopback
# ports; no stack, no stack port), the images (make images: built with buildah, or reused, and
# each run with podman: tests/images), the integration tests and the
# stack-dependent contract tests (provider verification, captured messages) on the real stack
# once per profile (embedded SQLite, then PostgreSQL) followed by the second-language check of
# the messages that run captured, a REPLICAS=2 subset (tests/replicas: the work shared by the
# instances, one instance killed and restarted), a rolling-upgrade subset (tests/upgrade:
# order-service onto the new saga version and the gateway restarted under load, 0 failed
# requests), the operator console's browser tests
# (tests/browser: Playwright and Debian's Chromium, profile sqlite, on a stack of their own), a
# short k6 bench run (loadtests/bench, BENCH_SIZE=subset: fails on errors, orders not completed
# or a state store not purged, never on latency), then a chaos subset (one fault of each kind,
# tests/chaos; `make chaos` runs the whole matrix): on sqlite, then on one PostgreSQL stack with
# REPLICAS=2 and KAFKA_BROKERS=3 for the replica, broker and database faults, then the Kubernetes subset (a
# single-node cluster, tests/k8s_node and tests/k8s_e2e/test_platform.py; `make k8s-e2e` runs
# the whole e2e). Each run starts and stops its own stack.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"
py=.venv/bin/python
start=$SECONDS
echo "==> lint (ruff, mypy)"
$py -m ruff check .
$py -m mypy
echo "==> unit tests, the saga replay gate (tests/replay), contract tests without the stack (consumer pacts, documents, drift, message and API compatibility)"
$py -m pytest tests/unit tests/replay tests/contracts --ignore=tests/contracts/stack -q
# The consumer tests rewrite contracts/pacts: what they wrote must be what is committed.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --exit-code --stat -- contracts/pacts; then
  echo "contracts/pacts differ from the committed pacts: commit what the consumer tests wrote" >&2
  exit 1
fi
echo "==> Kubernetes: helm lint, the chart against the repository's files, kube-apiserver dry run"
$py -m pytest tests/k8s -q
echo "==> images: built without Docker (or reused: rebuilt only when their inputs change), each run once with podman"
bash deploy/setup/images.sh
$py -m pytest tests/images -q
first_profile=${PROFILES:-sqlite postgres}
first_profile=${first_profile%% *}
for profile in ${PROFILES:-sqlite postgres}; do
  echo "==> integration tests and provider verification, profile $profile"
  # Tests marked profile_independent (sidecars, Kafka, resiliency: no database) run on the first
  # profile only; `PROFILE=postgres pytest tests/integration` still runs them all.
  only_once=()
  [ "$profile" = "$first_profile" ] || only_once=(-m "not profile_independent")
  PROFILE=$profile $py -m pytest tests/integration tests/contracts/stack -q "${only_once[@]}"
  echo "==> second-language check (TypeScript, ajv) of the messages captured, profile $profile"
  bash tests/contracts/ts/run.sh
done
if [[ " ${PROFILES:-sqlite postgres} " == *" postgres "* ]]; then
  # `make replicas` runs tests/replicas whole (with the availability and rejoin tests, long);
  # here test_replicas.py but the order-service kill.
  echo "==> replicas subset (REPLICAS=2, profile postgres, its own stack): work shared per instance, an inventory-service instance killed and restarted"
  $py -m pytest tests/replicas/test_replicas.py -q \
    --deselect "tests/replicas/test_replicas.py::test_losing_an_instance_loses_no_order_and_it_rejoins[order-service]"
fi
echo "==> rolling-upgrade subset (profile sqlite, its own stack; make upgrade runs it whole): orders flowing, payment-service paused, order-service restarted onto saga v2, the gateway restarted beside itself"
upgrade_start=$SECONDS
PROFILE=sqlite UPGRADE_SIZE=subset $py -m pytest tests/upgrade -q
echo "    rolling-upgrade subset took $((SECONDS - upgrade_start))s"
echo "==> browser tests of the console (Playwright, Chromium headless), profile sqlite"
browser_start=$SECONDS
PROFILE=sqlite $py -m pytest tests/browser -q
echo "    browser tests took $((SECONDS - browser_start))s (stack start and stop included)"
echo "==> bench subset (k6: a short constant arrival rate on its own stack), profile sqlite"
PROFILE=sqlite BENCH_SIZE=subset $py -m loadtests.bench
with_postgres=no
[[ " ${PROFILES:-sqlite postgres} " == *" postgres "* ]] && with_postgres=yes
for profile in ${PROFILES:-sqlite postgres}; do
  # Each network kind runs once, on the Kafka proxy here or the PostgreSQL proxy on the
  # REPLICAS=2 stack below (tests/chaos/faults.py SUBSET_NETWORK); the single Kafka's faults
  # and the breaker run here, on sqlite.
  [ "$profile" = postgres ] && continue
  echo "==> chaos subset (every fault kind once), profile $profile"
  PROFILE=$profile CHAOS_SIZE=subset $py -m pytest tests/chaos -q
done
if [ "$with_postgres" = yes ]; then
  # One stack for both shapes new in issue 22: each replica fault kind once (tests/chaos/
  # replica_faults.py), the three-broker faults (a broker killed, one paused, a rolling
  # restart) and PostgreSQL's network faults; `make chaos` runs each shape whole on its own.
  echo "==> chaos subset with REPLICAS=2 and KAFKA_BROKERS=3, profile postgres: each replica and broker fault kind once, PostgreSQL's network faults"
  shapes_start=$SECONDS
  PROFILE=postgres REPLICAS=2 KAFKA_BROKERS=3 CHAOS_SIZE=subset $py -m pytest tests/chaos/test_chaos.py -q
  echo "    replica and broker chaos subset took $((SECONDS - shapes_start))s (stack start and stop included)"
fi
echo "==> Kubernetes subset (make k8s-e2e runs it whole): a single-node cluster up, the node check, the platform installed as the README says, an order with its trace, an order-service pod deleted, the cluster down"
k8s_start=$SECONDS
$py -m deploy.cluster up
trap '$py -m deploy.cluster down' EXIT  # down even when a test fails
$py -m pytest tests/k8s_node tests/k8s_e2e/test_platform.py -q
trap - EXIT
$py -m deploy.cluster down
echo "    Kubernetes subset took $((SECONDS - k8s_start))s (up, install, tests, down)"
echo "==> all tests passed in $((SECONDS - start))s"
