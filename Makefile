# The two README commands are `make run` and `make test`; the rest are for day-to-day work.
PY := .venv/bin/python
export PYTHONPATH := $(CURDIR)

.PHONY: run up down status test setup lint lock logs chaos lag token contracts bench soak infra k8s-check replicas k8s-setup k8s-up k8s-down k8s-status k8s-node-check images k8s-e2e record-histories upgrade

run: setup            ## start everything in the foreground; Ctrl-C stops it
	$(PY) -m deploy.stack run

up: setup             ## start everything detached; returns once all is ready
	$(PY) -m deploy.stack up

infra: setup          ## only Kafka, Zipkin, Sentry, placement, scheduler (PostgreSQL: PROFILE=postgres), for `dapr run -f dapr.yaml`
	$(PY) -m deploy.stack infra

down:                 ## stop everything `up`/`run` started (by PID), nothing else
	@if [ -x $(PY) ]; then $(PY) -m deploy.stack down; else echo "nothing was set up"; fi

status:               ## processes and their memory (RSS)
	$(PY) -m deploy.stack status

logs:                 ## one order's (or trace's) log lines from every service, in time order: make logs ID=<id>
	@test -n "$(ID)" || { echo "usage: make logs ID=<order-id or trace-id>"; exit 2; }
	@$(PY) -m deploy.logs "$(ID)"

setup:
	@bash deploy/setup/install.sh

token:                ## a development bearer token, alone on stdout: make -s token SUB=alice ROLE=customer
	@test -n "$(SUB)" && test -n "$(ROLE)" || { echo "usage: make -s token SUB=<id> ROLE=customer|admin [MINUTES=60]" >&2; exit 2; }
	@$(PY) -m apps.gateway.devtoken --sub "$(SUB)" --role "$(ROLE)" --minutes "$(or $(MINUTES),60)"

test:                 ## install what is missing, then the whole suite on both profiles
	@WITH_POSTGRES=1 WITH_KUBE=1 WITH_BROWSER=1 WITH_COMPAT=1 bash deploy/setup/install.sh
	bash tests/run.sh

chaos:                ## every fault of tests/chaos on both profiles, then the KAFKA_BROKERS=3 faults and the lag alert, 200 orders each (long); writes docs/chaos.md
	@WITH_POSTGRES=1 bash deploy/setup/install.sh
	@bash deploy/setup/prometheus.sh >/dev/null
	bash tests/chaos/run.sh

lag:                  ## a consumer paused under load: a real Prometheus fires the lag alert and it clears (tests/lag, about 4 min)
	@bash deploy/setup/install.sh
	@bash deploy/setup/prometheus.sh >/dev/null
	$(PY) -m pytest tests/lag -q -s

replicas:             ## REPLICAS=2 PROFILE=postgres on its own stack: the work spread per instance, one instance killed and restarted, failed client requests per instance fault, the rejoin test (tests/replicas; long)
	@WITH_POSTGRES=1 bash deploy/setup/install.sh
	$(PY) -m pytest tests/replicas -q

upgrade:              ## a rolling upgrade under load (sagas parked, order-service onto saga v2, every app restarted), single instances then REPLICAS=2; writes docs/upgrade.md
	@WITH_POSTGRES=1 bash deploy/setup/install.sh
	$(PY) -m tests.upgrade

record-histories:     ## a saga history per path from the real stack, as the saga's current version: tests/replay/histories/
	@bash deploy/setup/install.sh
	$(PY) -m tests.replay.record

contracts:            ## regenerate contracts/ (AsyncAPI, message schemas, OpenAPI) and the pacts; check compatibility
	@bash deploy/setup/oasdiff.sh
	@bash deploy/setup/jsoncompat.sh
	$(PY) -m contracts.generate
	$(PY) -m contracts.message_compat
	$(PY) -m contracts.api_compat
	$(PY) -m pytest tests/contracts --ignore=tests/contracts/stack -q

bench:                ## k6 scenarios + the bare-workflow baseline on its own stack; writes docs/bench/ (PROFILE=postgres: docs/bench/postgres/)
	@bash deploy/setup/install.sh
	$(PY) -m loadtests.bench

soak:                 ## 20,000 orders in a closed loop (about 20 min): do memory and the state store level off? writes docs/bench/soak/
	@bash deploy/setup/install.sh
	$(PY) -m loadtests.bench --size soak

k8s-check:            ## helm lint, then every manifest of deploy/k8s through a real kube-apiserver's server-side dry run
	@bash deploy/setup/python.sh
	@bash deploy/setup/kube.sh
	$(PY) -m pytest tests/k8s -q

k8s-setup:            ## what k8s-up runs, from registries: containerd, runc, CNI plugins (apt), the Kubernetes node, CoreDNS, Dapr's control plane, their images
	@bash deploy/setup/python.sh
	@bash deploy/setup/k8s-node.sh >/dev/null

k8s-up: k8s-setup     ## a real single-node Kubernetes on this machine with Dapr's control plane (Dapr's Helm chart); docs/kubernetes.md
	$(PY) -m deploy.cluster up

k8s-down:             ## stops and removes everything k8s-up made; fails if anything is left
	@if [ -x $(PY) ]; then $(PY) -m deploy.cluster down; else echo "nothing was set up"; fi

k8s-status:           ## the cluster's processes and their memory (RSS)
	$(PY) -m deploy.cluster status

k8s-node-check:       ## on a cluster that is up: a Dapr-injected pod, a Service through kube-proxy and CoreDNS (tests/k8s_node)
	$(PY) -m pytest tests/k8s_node -q

k8s-e2e: images       ## on a cluster that is up: the platform installed as the README says, pods deleted and rolling restarts under load (tests/k8s_e2e)
	$(PY) -m deploy.cluster load-images
	$(PY) -m pytest tests/k8s_e2e -q -s
images:               ## the images (app, kafka, postgres, zipkin) built with buildah on a Debian base made here, then run with podman and checked (tests/images)
	@bash deploy/setup/python.sh
	@bash deploy/setup/images.sh
	$(PY) -m pytest tests/images -q

lint:                 ## ruff, then mypy (strict on apps/ and workflows/: pyproject.toml [tool.mypy])
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy

lock:                 ## after changing pyproject.toml's dependencies: re-resolve requirements.lock, sync .venv
	@bash deploy/setup/lock.sh
