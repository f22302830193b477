"""The stack's commands: `python -m deploy.stack {up,down,run,status,infra}` (make up, down, run,
status, infra). Every process it starts is recorded by PID in .run/pids, and `down` stops exactly
those (by process group), nothing else.

What they use is public, module by module: plan.py (what runs: profile, mode, phases),
phases.py (starting phase by phase), launch.py (one process), records.py (the PID records),
control.py (acting on the running stack process by process)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from deploy.stack.chaos import chaos_from_env, proxies
from deploy.stack.cli import (
    CLI_ENV_FILE,
    CLI_SENTRY_ADDRESS,
    POSTGRES_RUNFILE,
    cli_env,
    infra_phases,
    postgres_runfile,
    write_cli_env,
)
from deploy.stack.control import stop_all
from deploy.stack.identity import TRUST_ANCHORS_FILE, new_identity_material, trust_anchors
from deploy.stack.kafka import LAG_EXPORTER_PORT, bootstrap
from deploy.stack.launch import StackError, report, say
from deploy.stack.paths import LOG_DIR, ROOT
from deploy.stack.phases import start_phases, wait_app_ready
from deploy.stack.plan import (
    StackMode,
    app_ids,
    infra_only,
    kafka_brokers_from_env,
    mode_from_env,
    plan,
    profile_from_env,
)
from deploy.stack.records import alive, records, rss_kb
from deploy.stack.runfile import AppSpec
from deploy.stack.secrets import TOKENS_FILE, new_tokens, postgres_password
from deploy.stack.sentry import SENTRY_ADDRESS
from deploy.stack.services import sidecar_statestore_connection
from deploy.stack.toxiproxy import TOXIPROXY_API

LAG_METRICS = f"http://127.0.0.1:{LAG_EXPORTER_PORT}/metrics"


def up() -> int:
    """`make up`: the whole stack, detached; returns once every app is ready."""
    mode = mode_from_env()
    started = time.monotonic()
    running = [r for r in records() if alive(r)]
    if running and infra_only():
        raise StackError("up", "`make infra` is running (no apps): `make down` first")
    if running:
        say(f"stack already running ({len(running)} processes); `make down` stops it")
        return 0
    # New tokens and identities for every run, before anything that is given one is planned.
    ids = app_ids(mode.profile)
    new_tokens(ids)
    # Extra Sentry identities for Dapr apps that run beside the stack and share its placement
    # and scheduler (make bench's baseline: EXTRA_APP_IDENTITIES=bench-baseline).
    extra = [a.strip() for a in os.environ.get("EXTRA_APP_IDENTITIES", "").split(",")]
    new_identity_material(ids + [a for a in extra if a])
    try:
        phases, apps = plan(mode.profile, mode.chaos, mode.replicas, mode.kafka_brokers)
    except ValueError as err:  # a setting of this run's environment (deploy/stack/configuration.py)
        raise StackError("configuration", str(err)) from err
    if not start_phases(phases, mode):
        return 1
    try:
        for app in apps:
            wait_app_ready(app)
    except StackError as err:
        report(err)
        stop_all(quiet=True)
        return 1
    say(f"all ready in {time.monotonic() - started:.1f}s")
    _print_addresses(next(a for a in apps if a.app_id == "gateway"), mode)
    return 0


def _print_addresses(gateway: AppSpec, mode: StackMode) -> None:
    print(f"    gateway: http://127.0.0.1:{gateway.app_port}/api/v1   (docs: /docs)")
    print(
        f"    console: http://127.0.0.1:{gateway.app_port}/console   "
        "(sign in with `make -s token SUB=ops ROLE=admin`)"
    )
    print("    zipkin:  http://127.0.0.1:9411/zipkin/")
    print(f"    kafka:   {bootstrap(mode.kafka_brokers)}; consumer lag: {LAG_METRICS}")
    if mode.chaos:
        routes = ", ".join(
            f"{n} {lp}->{u}" for n, (lp, u) in proxies(mode.profile, mode.kafka_brokers).items()
        )
        print(f"    toxiproxy: {TOXIPROXY_API} (proxies: {routes})")
    print(f"    logs:    {LOG_DIR}")
    print(f"    tokens:  {TOKENS_FILE} (sidecars and apps refuse calls without them)")
    print(f"    mTLS:    Sentry {SENTRY_ADDRESS}, CA {TRUST_ANCHORS_FILE}")


def infra() -> int:
    """`make infra`: Kafka, Zipkin (PostgreSQL), Sentry, placement and scheduler, for apps the
    dapr CLI starts (deploy/stack/cli.py); writes the environment the CLI's shell needs."""
    profile = profile_from_env()
    if chaos_from_env():
        raise StackError("infra", "CHAOS=1 needs the whole stack: use `make up`")
    if kafka_brokers_from_env() > 1:
        raise StackError(
            "infra", "KAFKA_BROKERS=3 needs `make up`: the CLI's components name one broker"
        )
    started = time.monotonic()
    running = [r for r in records() if alive(r)]
    if running:
        say(f"already running ({len(running)} processes); `make down` stops it")
        return 0
    ids = app_ids(profile)
    tokens = new_tokens(ids, shared=True)
    new_identity_material(ids)  # the directory Sentry writes its CA to (tokens unused)
    if not start_phases(infra_phases(profile), StackMode(profile, chaos=False, infra=True)):
        return 1
    postgres = profile == "postgres"
    connection = sidecar_statestore_connection() if postgres else None
    some_app = next(t for t in tokens.values() if t.app)
    password = postgres_password() if postgres else None
    write_cli_env(cli_env(some_app, trust_anchors(), connection, password))
    runfile = Path("dapr.yaml")
    if postgres:
        POSTGRES_RUNFILE.parent.mkdir(parents=True, exist_ok=True)
        POSTGRES_RUNFILE.write_text(postgres_runfile())
        runfile = _shown(POSTGRES_RUNFILE)
    say(f"infrastructure ready in {time.monotonic() - started:.1f}s (profile {profile})")
    _print_cli_steps(postgres, runfile)
    return 0


def _shown(path: Path) -> Path:
    """A path as the user types it: relative to the repository when inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _print_cli_steps(postgres: bool, runfile: Path) -> None:
    print(f"    Sentry (insecure validator): {CLI_SENTRY_ADDRESS}; placement 127.0.0.1:20005,")
    print(
        "    scheduler 127.0.0.1:20006; Kafka 127.0.0.1:9092; Zipkin http://127.0.0.1:9411/zipkin/"
    )
    if postgres:
        print("    PostgreSQL 127.0.0.1:5433")
    print("    now, in the shell that runs the CLI:")
    print(f"      source {_shown(CLI_ENV_FILE)}")
    print(f"      dapr run --log-as-json -f {runfile}")
    print("    `make down` stops the infrastructure (stop the CLI first, Ctrl-C)")


def down(quiet: bool = False) -> int:
    """`make down`: stops every process the stack recorded, nothing else."""
    return stop_all(quiet)


def run() -> int:
    """Foreground: up, then wait for Ctrl-C and stop everything."""
    code = up()
    if code:
        return code
    stop = False

    def _stop(*_args: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    say("running; Ctrl-C stops everything")
    reported: set[str] = set()
    while not stop:
        for rec in records():
            if rec["name"] not in reported and not alive(rec):
                reported.add(rec["name"])
                print(f"WARNING [{rec['name']}]: process exited; see {rec['log']}", flush=True)
        time.sleep(1)
    say("stopping")
    return down()


def status() -> int:
    total = 0
    for rec in records():
        rss = rss_kb(rec["pid"]) if alive(rec) else 0
        total += rss
        state = "up" if alive(rec) else "DOWN"
        print(f"{rec['name']:<32} {state:<5} pid {rec['pid']:<8} rss {rss / 1024:8.1f} MiB")
    print(f"{'total':<32} rss {total / 1024:.1f} MiB")
    return 0


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "run": run, "status": status, "infra": infra}
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python -m deploy.stack {{{','.join(commands)}}}", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except StackError as err:
        report(err)
        return 1
