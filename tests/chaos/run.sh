#!/usr/bin/env bash
# The whole chaos matrix (`make chaos`): every fault of the catalogue with 200 orders each, on
# each profile against one CHAOS=1 stack per profile (started and stopped by the suite), the
# three-broker faults (KAFKA_BROKERS=3) and the consumer-lag alert (tests/lag), then
# docs/chaos.md. Long (see docs/chaos.md for the last duration). Exits non-zero if any fault
# broke an invariant; the document is written either way.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD"
py=.venv/bin/python
rm -f .run/chaos/*-full.json
status=0
for profile in ${PROFILES:-sqlite postgres}; do
  echo "==> chaos matrix, profile $profile"
  PROFILE=$profile CHAOS_SIZE=full $py -m pytest tests/chaos/test_chaos.py -q || status=1
done
if [[ " ${PROFILES:-sqlite postgres} " == *" postgres "* ]]; then
  # The faults of one instance among two (tests/chaos/replica_faults.py): kill and pause of an
  # instance (app and sidecar), placement and scheduler killed while actors move, rolling
  # restarts.
  echo "==> chaos matrix, profile postgres, REPLICAS=2"
  PROFILE=postgres REPLICAS=2 CHAOS_SIZE=full $py -m pytest tests/chaos/test_chaos.py -q || status=1
fi
# Three Kafka brokers (deploy/stack/kafka.py): a broker killed, one paused, a rolling restart.
echo "==> chaos, KAFKA_BROKERS=3, profile sqlite"
KAFKA_BROKERS=3 PROFILE=sqlite CHAOS_SIZE=full $py -m pytest tests/chaos/test_chaos.py -q || status=1
echo "==> consumer lag alert (tests/lag): a paused consumer, a real Prometheus, KAFKA_BROKERS=3"
KAFKA_BROKERS=3 PROFILE=sqlite $py -m pytest tests/lag -q -s || status=1
$py -m tests.chaos.report full || status=1
exit $status
