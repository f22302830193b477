"""Start, stop and inspect the local stack. Every process it starts is recorded by PID in
.run/pids, and `down` stops exactly those (by process group), nothing else."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from deploy.stack.chaos import (
    POSTGRES_PROXY_PORT,
    chaos_from_env,
    chaos_resources,
    proxies,
    toxiproxy_service,
)
from deploy.stack.cli import (
    CLI_ENV_FILE,
    CLI_SENTRY_ADDRESS,
    POSTGRES_RUNFILE,
    cli_env,
    infra_phases,
    postgres_runfile,
    write_cli_env,
)
from deploy.stack.identity import (
    TRUST_ANCHORS_FILE,
    forget_identity_material,
    new_identity_material,
    trust_anchors,
)
from deploy.stack.infra import infra_services
from deploy.stack.kafka import LAG_EXPORTER_PORT, bootstrap, brokers_from_env

# Launching and the process records are public modules (launch.py, records.py); the runner keeps
# the commands, and its old private names (tests/chaos and tests/replay/record.py import them
# still) are those modules' functions.
from deploy.stack.launch import StackError
from deploy.stack.launch import start as _start
from deploy.stack.launch import start_until_ready as _start_until_ready
from deploy.stack.paths import CACHE_DIR, LOG_DIR, ROOT, RUN_DIR
from deploy.stack.process import Service, http_ok, port_open
from deploy.stack.records import alive as _alive
from deploy.stack.records import exiting as _exiting
from deploy.stack.records import record_path as _record_path
from deploy.stack.records import records as _records
from deploy.stack.records import rss_kb as _rss_kb
from deploy.stack.replicas import replicas_from_env, with_replicas
from deploy.stack.resources import kafka_resources, rewrite_resources
from deploy.stack.runfile import AppSpec, load_runfile
from deploy.stack.secrets import TOKENS_FILE, forget_tokens, new_tokens, postgres_password
from deploy.stack.sentry import SENTRY_ADDRESS, sentry_service
from deploy.stack.services import app_and_sidecar, control_plane, sidecar_statestore_connection
from deploy.stack.toxiproxy import TOXIPROXY_API

PROFILES = ("sqlite", "postgres")
MODE_FILE = RUN_DIR / "stack-mode.json"  # profile, chaos mode and replicas of the running stack
GRACEFUL_STOP_SECONDS = 60.0
LAG_METRICS = f"http://127.0.0.1:{LAG_EXPORTER_PORT}/metrics"


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def profile_from_env() -> str:
    profile = os.environ.get("PROFILE", "sqlite") or "sqlite"
    if profile == "default":
        profile = "sqlite"
    if profile not in PROFILES:
        raise StackError("profile", f"PROFILE={profile!r}: use one of {', '.join(PROFILES)}")
    return profile


def plan(
    profile: str, chaos: bool, replicas: int = 1, kafka_brokers: int = 1
) -> tuple[list[list[Service]], list[AppSpec]]:
    """Phases of services, each phase started together once the previous one is ready. Sentry
    has a phase of its own: every Dapr process after it asks it for a certificate at start.
    replicas: instances of each replicated app (deploy/stack/replicas.py); kafka_brokers: 1 or
    3 (deploy/stack/kafka.py)."""
    apps = with_replicas(load_runfile(ROOT / "dapr.yaml", profile), replicas)
    for app in apps:  # the apps' own admin client (readiness): every broker, never the count
        app.env = {**app.env, "KAFKA_BROKERS": bootstrap(kafka_brokers)}
    if not chaos:  # exactly what `dapr run -f dapr.yaml` starts, beside the infrastructure
        if kafka_brokers > 1:
            rewrite_resources(apps, lambda paths: kafka_resources(paths, RUN_DIR, kafka_brokers))
        pairs = [s for app in apps for s in app_and_sidecar(app, profile)]
        infra = infra_services(profile, RUN_DIR, CACHE_DIR, False, kafka_brokers)
        return [infra, [sentry_service()], control_plane(), pairs], apps
    rewrite_resources(apps, lambda paths: chaos_resources(paths, RUN_DIR, kafka_brokers))
    pairs = [s for app in apps for s in app_and_sidecar(app, profile, POSTGRES_PROXY_PORT)]
    infra = infra_services(profile, RUN_DIR, CACHE_DIR, True, kafka_brokers)
    toxiproxy = toxiproxy_service(profile, RUN_DIR, CACHE_DIR, kafka_brokers)
    return [[toxiproxy], infra, [sentry_service()], control_plane(), pairs], apps


# ---- commands ----------------------------------------------------------------------------


def up() -> int:
    profile, chaos = profile_from_env(), chaos_from_env()
    try:
        replicas = replicas_from_env(profile)
    except ValueError as err:
        raise StackError("replicas", str(err)) from err
    kafka_brokers = kafka_brokers_from_env()
    started = time.monotonic()
    running = [r for r in _records() if _alive(r)]
    if running and _infra_only():
        raise StackError("up", "`make infra` is running (no apps): `make down` first")
    if running:
        say(f"stack already running ({len(running)} processes); `make down` stops it")
        return 0
    # New tokens and identities for every run, before anything that is given one is planned.
    app_ids = [app.app_id for app in load_runfile(ROOT / "dapr.yaml", profile)]
    new_tokens(app_ids)
    # Extra Sentry identities for Dapr apps that run beside the stack and share its placement
    # and scheduler (make bench's baseline: EXTRA_APP_IDENTITIES=bench-baseline).
    extra = [a for a in os.environ.get("EXTRA_APP_IDENTITIES", "").split(",") if a.strip()]
    new_identity_material(app_ids + [a.strip() for a in extra])
    try:
        phases, apps = plan(profile, chaos, replicas, kafka_brokers)
    except ValueError as err:  # a setting of this run's environment (deploy/stack/configuration.py)
        raise StackError("configuration", str(err)) from err
    if not _start_phases(phases, profile, chaos, replicas=replicas, kafka_brokers=kafka_brokers):
        return 1
    try:
        for app in apps:
            _wait_app_ready(app)
    except StackError as err:
        _report(err)
        down(quiet=True)
        return 1
    gateway = next(a for a in apps if a.app_id == "gateway")
    say(f"all ready in {time.monotonic() - started:.1f}s")
    print(f"    gateway: http://127.0.0.1:{gateway.app_port}/api/v1   (docs: /docs)")
    print(
        f"    console: http://127.0.0.1:{gateway.app_port}/console   "
        "(sign in with `make -s token SUB=ops ROLE=admin`)"
    )
    print("    zipkin:  http://127.0.0.1:9411/zipkin/")
    print(f"    kafka:   {bootstrap(kafka_brokers)}; consumer lag: {LAG_METRICS}")
    if chaos:
        routes = ", ".join(
            f"{n} {lp}->{u}" for n, (lp, u) in proxies(profile, kafka_brokers).items()
        )
        print(f"    toxiproxy: {TOXIPROXY_API} (proxies: {routes})")
    print(f"    logs:    {LOG_DIR}")
    print(f"    tokens:  {TOKENS_FILE} (sidecars and apps refuse calls without them)")
    print(f"    mTLS:    Sentry {SENTRY_ADDRESS}, CA {TRUST_ANCHORS_FILE}")
    return 0


def _start_phases(
    phases: list[list[Service]],
    profile: str,
    chaos: bool,
    infra: bool = False,
    replicas: int = 1,
    kafka_brokers: int = 1,
) -> bool:
    """Checks the ports, then starts the phases in order; on a failure reports it, stops what
    started and returns False."""
    taken = [
        (port, svc.name)
        for phase in phases
        for svc in phase
        for port in svc.ports
        if port_open(port)
    ]
    if taken:
        for port, name in taken:
            print(f"ERROR [{name}]: port {port} on 127.0.0.1 is already in use", file=sys.stderr)
        return False
    _warn_ephemeral_overlap([port for phase in phases for svc in phase for port in svc.ports])
    _fresh_logs()
    (RUN_DIR / "data").mkdir(parents=True, exist_ok=True)  # SQLite files of apps and sidecars
    mode_doc = {"profile": profile, "chaos": chaos, "infra": infra}
    if replicas > 1:
        mode_doc["replicas"] = replicas
    if kafka_brokers > 1:
        mode_doc["kafka_brokers"] = kafka_brokers
    MODE_FILE.write_text(json.dumps(mode_doc))
    mode = " in chaos mode (Toxiproxy)" if chaos else ""
    if replicas > 1:
        mode += f" with {replicas} instances of each replicated app"
    if kafka_brokers > 1:
        mode += f" and {kafka_brokers} Kafka brokers"
    what = "the infrastructure" if infra else "the stack"
    say(f"starting {what} (profile {profile}){mode}; logs in {LOG_DIR}")
    try:
        for phase in phases:
            procs = [(svc, *_start(svc)) for svc in phase]
            for svc, proc, log_offset in procs:
                _start_until_ready(svc, proc, log_offset)
                say(f"{svc.name} ready")
    except StackError as err:
        _report(err)
        down(quiet=True)
        return False
    return True


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
    running = [r for r in _records() if _alive(r)]
    if running:
        say(f"already running ({len(running)} processes); `make down` stops it")
        return 0
    app_ids = [app.app_id for app in load_runfile(ROOT / "dapr.yaml", profile)]
    tokens = new_tokens(app_ids, shared=True)
    new_identity_material(app_ids)  # the directory Sentry writes its CA to (tokens unused)
    if not _start_phases(infra_phases(profile), profile, chaos=False, infra=True):
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
        runfile = (
            POSTGRES_RUNFILE.relative_to(ROOT)
            if POSTGRES_RUNFILE.is_relative_to(ROOT)
            else POSTGRES_RUNFILE
        )
    say(f"infrastructure ready in {time.monotonic() - started:.1f}s (profile {profile})")
    print(f"    Sentry (insecure validator): {CLI_SENTRY_ADDRESS}; placement 127.0.0.1:20005,")
    print(
        "    scheduler 127.0.0.1:20006; Kafka 127.0.0.1:9092; Zipkin http://127.0.0.1:9411/zipkin/"
    )
    if postgres:
        print("    PostgreSQL 127.0.0.1:5433")
    print("    now, in the shell that runs the CLI:")
    env_file = CLI_ENV_FILE.relative_to(ROOT) if CLI_ENV_FILE.is_relative_to(ROOT) else CLI_ENV_FILE
    print(f"      source {env_file}")
    print(f"      dapr run --log-as-json -f {runfile}")
    print("    `make down` stops the infrastructure (stop the CLI first, Ctrl-C)")
    return 0


def _warn_ephemeral_overlap(ports: list[int]) -> None:
    """Fixed ports inside the kernel's ephemeral range can be taken by any outgoing connection."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return
    inside = sorted(p for p in set(ports) if low <= p <= high)
    if inside:
        print(
            f"WARNING: ports {inside} lie in the ephemeral port range {low}-{high} "
            "(net.ipv4.ip_local_port_range); an outgoing connection may take one",
            flush=True,
        )


def _wait_app_ready(app: AppSpec, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{app.app_port}/readyz"
    while not http_ok(url):
        if time.monotonic() > deadline:
            raise StackError(
                app.name, f"{url} not ready after {timeout:.0f}s", LOG_DIR / f"{app.name}.log"
            )
        time.sleep(0.5)
    say(f"{app.name} ready (database and sidecar answer)")


def _fresh_logs() -> None:
    if LOG_DIR.exists():
        prev = RUN_DIR / "logs.prev"
        shutil.rmtree(prev, ignore_errors=True)
        LOG_DIR.rename(prev)
    LOG_DIR.mkdir(parents=True)


def _report(err: StackError) -> None:
    print(f"ERROR [{err.component}]: {err}", file=sys.stderr)
    if err.log and err.log.exists():
        print(f"--- last lines of {err.log} ---", file=sys.stderr)
        print("\n".join(err.log.read_text(errors="replace").splitlines()[-25:]), file=sys.stderr)


def down(quiet: bool = False) -> int:
    records = list(reversed(_records()))  # apps first, infrastructure last
    for rec in records:
        if _alive(rec):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rec["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 20
    for rec in records:
        while (_alive(rec) or _exiting(rec["pid"])) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(rec):
            os.killpg(rec["pid"], signal.SIGKILL)
        _record_path(rec["name"]).unlink(missing_ok=True)
    MODE_FILE.unlink(missing_ok=True)
    CLI_ENV_FILE.unlink(missing_ok=True)
    forget_tokens()
    forget_identity_material()
    if not quiet:
        say(f"stopped {len(records)} processes" if records else "nothing was running")
    return 0


def stop_one(name: str, graceful: bool = False) -> None:
    """Stops one process of the running stack (for chaos tests), keeping its record: SIGKILL,
    or with graceful SIGTERM and up to GRACEFUL_STOP_SECONDS to exit (a Kafka broker's
    controlled shutdown hands its partitions' leadership over first), then SIGKILL."""
    rec = next(r for r in _records() if r["name"] == name)
    if not _alive(rec):
        return
    os.killpg(rec["pid"], signal.SIGTERM if graceful else signal.SIGKILL)
    deadline = time.monotonic() + (GRACEFUL_STOP_SECONDS if graceful else 10)
    while (_alive(rec) or _exiting(rec["pid"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    if graceful and _alive(rec):
        os.killpg(rec["pid"], signal.SIGKILL)
        stop_one(name)


def start_one(name: str) -> None:
    """Starts one process of the stack again, as `up` would, and waits until it is ready."""
    start_services([planned_service(name)])


def planned_service(name: str) -> Service:
    """One process of the running stack as `up` planned it (the stack's profile, chaos mode and
    replicas); KeyError if the stack has no process of that name."""
    phases, _apps = plan(*_running_mode())
    found = next((s for phase in phases for s in phase if s.name == name), None)
    if found is None:
        raise KeyError(f"the stack has no process named {name!r}")
    return found


def start_services(services: list[Service]) -> list[int]:
    """Starts planned services together (deploy/stack/restart.py may adapt them first), each
    recorded by PID in place of any earlier process of the same name, then waits until each is
    ready, as `up` starts a phase; their PIDs."""
    started = [(svc, *_start(svc)) for svc in services]
    return [_start_until_ready(svc, proc, offset).pid for svc, proc, offset in started]


def running_names() -> list[str]:
    """The names of the stack's processes that run now."""
    return [r["name"] for r in _records() if _alive(r)]


def running_group(name: str) -> int:
    """The PID (and process group) of one process of the running stack; KeyError if none."""
    pid = running_pid(name)
    if pid is None:
        raise KeyError(f"{name} is not running")
    return pid


def running_pid(name: str) -> int | None:
    """The PID of the stack's process of that name while it runs, else None."""
    rec = next((r for r in _records() if r["name"] == name), None)
    return rec["pid"] if rec is not None and _alive(rec) else None


def _infra_only() -> bool:
    """True if what runs was started by `make infra` (for the dapr CLI), not `make up`."""
    try:
        return bool(json.loads(MODE_FILE.read_text()).get("infra"))
    except (OSError, ValueError):
        return False


def _running_mode() -> tuple[str, bool, int, int]:
    """Profile, chaos mode, replicas and Kafka brokers of the running stack, else of the
    environment."""
    try:
        mode = json.loads(MODE_FILE.read_text())
        return (
            mode["profile"],
            mode["chaos"],
            int(mode.get("replicas", 1)),
            int(mode.get("kafka_brokers", 1)),
        )
    except (OSError, ValueError, KeyError):
        profile = profile_from_env()
        return profile, chaos_from_env(), replicas_from_env(profile), kafka_brokers_from_env()


def running_kafka_brokers() -> int:
    """How many Kafka brokers the running stack has (else the environment asks for)."""
    return _running_mode()[3]


def kafka_brokers_from_env() -> int:
    try:
        return brokers_from_env()
    except ValueError as err:
        raise StackError("kafka", str(err)) from err


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
        for rec in _records():
            if rec["name"] not in reported and not _alive(rec):
                reported.add(rec["name"])
                print(f"WARNING [{rec['name']}]: process exited; see {rec['log']}", flush=True)
        time.sleep(1)
    say("stopping")
    return down()


def status() -> int:
    total = 0
    for rec in _records():
        rss = _rss_kb(rec["pid"]) if _alive(rec) else 0
        total += rss
        state = "up" if _alive(rec) else "DOWN"
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
        _report(err)
        return 1
