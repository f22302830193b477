"""Start, stop and inspect the local stack. Every process it starts is recorded by PID in
.run/pids, and `down` stops exactly those (by process group), nothing else."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from deploy.stack.chaos import (
    KAFKA_CHAOS_PORT,
    KAFKA_PROXY_PORT,
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
from deploy.stack.paths import CACHE_DIR, LOG_DIR, PID_DIR, ROOT, RUN_DIR
from deploy.stack.process import Service, http_ok, port_bindable, port_open
from deploy.stack.replicas import replicas_from_env, with_replicas
from deploy.stack.runfile import AppSpec, load_runfile
from deploy.stack.secrets import TOKENS_FILE, forget_tokens, new_tokens, postgres_password
from deploy.stack.sentry import SENTRY_ADDRESS, sentry_service
from deploy.stack.services import app_and_sidecar, control_plane, sidecar_statestore_connection
from deploy.stack.toxiproxy import TOXIPROXY_API

PROFILES = ("sqlite", "postgres")
MODE_FILE = RUN_DIR / "stack-mode.json"  # profile, chaos mode and replicas of the running stack
# A process that loses a race for one of its ports (another process bound it, or an outgoing
# connection holds it as its source port) exits at start; it is started again this many times.
START_ATTEMPTS = 3
# How long a start waits for one of its ports: a connection holding it (not a listener) lets go
# at the latest when it leaves TIME_WAIT (60 s on Linux); a listener may be a process of the stack
# still exiting, else it is someone else's server.
PORT_WAIT_SECONDS = 65.0
LISTENER_WAIT_SECONDS = 5.0


class StackError(Exception):
    def __init__(self, component: str, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.component, self.log = component, log


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def profile_from_env() -> str:
    profile = os.environ.get("PROFILE", "sqlite") or "sqlite"
    if profile == "default":
        profile = "sqlite"
    if profile not in PROFILES:
        raise StackError("profile", f"PROFILE={profile!r}: use one of {', '.join(PROFILES)}")
    return profile


def plan(profile: str, chaos: bool, replicas: int = 1) -> tuple[list[list[Service]], list[AppSpec]]:
    """Phases of services, each phase started together once the previous one is ready. Sentry
    has a phase of its own: every Dapr process after it asks it for a certificate at start.
    replicas: instances of each replicated app (deploy/stack/replicas.py)."""
    apps = with_replicas(load_runfile(ROOT / "dapr.yaml", profile), replicas)
    if not chaos:  # exactly what `dapr run -f dapr.yaml` starts, beside the infrastructure
        pairs = [s for app in apps for s in app_and_sidecar(app, profile)]
        infra = infra_services(profile, RUN_DIR, CACHE_DIR, None)
        return [infra, [sentry_service()], control_plane(), pairs], apps
    resources: dict[tuple[Path, ...], list[Path]] = {}
    for app in apps:
        key = tuple(app.resources_paths)
        if key not in resources:
            resources[key] = chaos_resources(app.resources_paths, RUN_DIR)
        app.resources_paths = resources[key]
    pairs = [s for app in apps for s in app_and_sidecar(app, profile, POSTGRES_PROXY_PORT)]
    infra = infra_services(profile, RUN_DIR, CACHE_DIR, (KAFKA_CHAOS_PORT, KAFKA_PROXY_PORT))
    toxiproxy = toxiproxy_service(profile, RUN_DIR, CACHE_DIR)
    return [[toxiproxy], infra, [sentry_service()], control_plane(), pairs], apps


# ---- process records -------------------------------------------------------------------


def _record_path(name: str) -> Path:
    return PID_DIR / f"{name.replace('/', '.')}.json"


def _alive(record: dict) -> bool:
    try:
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return Path(cmdline).name == Path(record["argv0"]).name  # guards against PID reuse


def _exiting(pid: int) -> bool:
    """True while a process is exiting: its memory is released (so _alive no longer sees it) but
    its files, listening sockets included, may not be closed yet."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return not cmdline and state not in ("Z", "X")  # a zombie has closed its files


def _records() -> list[dict]:
    if not PID_DIR.exists():
        return []
    recs = [json.loads(p.read_text()) for p in PID_DIR.glob("*.json")]
    return sorted(recs, key=lambda r: r["started"])


def _start(svc: Service) -> tuple[subprocess.Popen, int]:
    """Starts the process; returns it and where its output begins in the log."""
    _wait_ports_bindable(svc)
    if svc.prepare:
        try:
            svc.prepare()
        except (RuntimeError, OSError) as err:
            raise StackError(svc.name, f"preparing it failed: {err}", svc.log) from err
    try:
        late_env = svc.late_env() if svc.late_env else {}
    except (RuntimeError, OSError) as err:
        raise StackError(svc.name, f"its environment is not ready: {err}", svc.log) from err
    argv = svc.argv
    if svc.user and os.geteuid() == 0:
        # setpriv execs the program itself (runuser would stay as a parent that SIGKILLs it
        # 2 s after SIGTERM), so the recorded PID is the server's own.
        argv = ["setpriv", f"--reuid={svc.user}", f"--regid={svc.user}", "--init-groups", *argv]
    svc.log.parent.mkdir(parents=True, exist_ok=True)
    with open(svc.log, "ab") as log:
        log_offset = log.tell()
        proc = subprocess.Popen(
            argv,
            cwd=svc.cwd,
            env={**os.environ, **svc.env, **late_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # own process group: stopped as one
    PID_DIR.mkdir(parents=True, exist_ok=True)
    _record_path(svc.name).write_text(
        json.dumps(
            {
                "name": svc.name,
                "pid": proc.pid,
                "argv0": svc.argv[0],
                "log": str(svc.log),
                "started": time.time(),
            }
        )
    )
    return proc, log_offset


def _wait_ports_bindable(svc: Service) -> None:
    """Waits until every port of the service is free (see PORT_WAIT_SECONDS)."""
    start = time.monotonic()
    told = False
    while held := [port for port in svc.ports if not port_bindable(port)]:
        listening = [port for port in held if port_open(port)]
        ports = ", ".join(str(p) for p in listening or held)
        waited = time.monotonic() - start
        if waited > (LISTENER_WAIT_SECONDS if listening else PORT_WAIT_SECONDS):
            why = "another process listens on it" if listening else "held by a connection"
            raise StackError(svc.name, f"port {ports} on 127.0.0.1 is not free ({why})")
        if not told:
            holder = "a listener" if listening else "a connection"
            print(f"WARNING [{svc.name}]: port {ports} held by {holder}; waiting", flush=True)
            told = True
        time.sleep(0.2)


def _log_says_port_taken(log: Path, offset: int) -> bool:
    """True if the process's own output (from offset on) reports a port already in use."""
    with open(log, "rb") as f:
        f.seek(offset)
        return b"address already in use" in f.read().lower()


def _start_until_ready(svc: Service, proc: subprocess.Popen, log_offset: int) -> subprocess.Popen:
    """Waits for a started service; one that exits having lost a race for one of its ports is
    started again, up to START_ATTEMPTS times in all. Returns the process that is ready."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            _wait_ready(svc, proc)
            return proc
        except StackError as err:
            lost_race = proc.poll() is not None and _log_says_port_taken(svc.log, log_offset)
            if not lost_race:
                raise
            if attempt == START_ATTEMPTS:
                raise StackError(
                    svc.name,
                    f"{err}: address already in use, on each of {START_ATTEMPTS} attempts",
                    svc.log,
                ) from err
            print(
                f"WARNING [{svc.name}]: {err}: lost a race for one of its ports "
                f"(address already in use); starting it again ({attempt + 1}/{START_ATTEMPTS})",
                flush=True,
            )
            proc, log_offset = _start(svc)
    raise AssertionError("unreachable")


def _wait_ready(svc: Service, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + svc.ready_timeout
    while not svc.ready():
        if proc.poll() is not None:
            raise StackError(svc.name, f"exited with code {proc.returncode}", svc.log)
        if time.monotonic() > deadline:
            raise StackError(svc.name, f"not ready after {svc.ready_timeout:.0f}s", svc.log)
        time.sleep(0.3)
    if svc.after_ready:
        try:
            svc.after_ready()
        except (RuntimeError, OSError) as err:
            raise StackError(svc.name, f"set-up after start failed: {err}", svc.log) from err


# ---- commands ----------------------------------------------------------------------------


def up() -> int:
    profile, chaos = profile_from_env(), chaos_from_env()
    try:
        replicas = replicas_from_env(profile)
    except ValueError as err:
        raise StackError("replicas", str(err)) from err
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
        phases, apps = plan(profile, chaos, replicas)
    except ValueError as err:  # a setting of this run's environment (deploy/stack/configuration.py)
        raise StackError("configuration", str(err)) from err
    if not _start_phases(phases, profile, chaos, replicas=replicas):
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
    if chaos:
        routes = ", ".join(f"{n} {lp}->{u}" for n, (lp, u) in proxies(profile).items())
        print(f"    toxiproxy: {TOXIPROXY_API} (proxies: {routes})")
    print(f"    logs:    {LOG_DIR}")
    print(f"    tokens:  {TOKENS_FILE} (sidecars and apps refuse calls without them)")
    print(f"    mTLS:    Sentry {SENTRY_ADDRESS}, CA {TRUST_ANCHORS_FILE}")
    return 0


def _start_phases(
    phases: list[list[Service]], profile: str, chaos: bool, infra: bool = False, replicas: int = 1
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
    MODE_FILE.write_text(json.dumps(mode_doc))
    mode = " in chaos mode (Toxiproxy)" if chaos else ""
    if replicas > 1:
        mode += f" with {replicas} instances of each replicated app"
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


def stop_one(name: str) -> None:
    """Stops one process of the running stack (for chaos tests), keeping its record."""
    rec = next(r for r in _records() if r["name"] == name)
    if _alive(rec):
        os.killpg(rec["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (_alive(rec) or _exiting(rec["pid"])) and time.monotonic() < deadline:
            time.sleep(0.1)


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


def _running_mode() -> tuple[str, bool, int]:
    """Profile, chaos mode and replicas of the running stack, else of the environment."""
    try:
        mode = json.loads(MODE_FILE.read_text())
        return mode["profile"], mode["chaos"], int(mode.get("replicas", 1))
    except (OSError, ValueError, KeyError):
        profile = profile_from_env()
        return profile, chaos_from_env(), replicas_from_env(profile)


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


def _rss_kb(pid: int) -> int:
    """RSS of a process group leader and all its descendants."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "-e"], capture_output=True, text=True)
    rows = [tuple(int(x) for x in line.split()) for line in out.stdout.splitlines()]
    children: dict[int, list[int]] = {}
    rss = {p: r for p, _pp, r in rows}
    for p, pp, _r in rows:
        children.setdefault(pp, []).append(p)
    todo, total = [pid], 0
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


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
