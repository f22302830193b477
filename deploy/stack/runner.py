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

from deploy.stack.infra import infra_services
from deploy.stack.paths import CACHE_DIR, LOG_DIR, PID_DIR, ROOT, RUN_DIR
from deploy.stack.process import Service, http_ok, port_open
from deploy.stack.runfile import AppSpec, load_runfile
from deploy.stack.services import app_and_sidecar, control_plane

PROFILES = ("sqlite", "postgres")


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


def plan(profile: str) -> tuple[list[list[Service]], list[AppSpec]]:
    apps = load_runfile(ROOT / "dapr.yaml", profile)
    pairs = [s for i, app in enumerate(apps) for s in app_and_sidecar(app, 50200 + i, profile)]
    return [infra_services(profile, RUN_DIR, CACHE_DIR), control_plane(), pairs], apps


# ---- process records -------------------------------------------------------------------


def _record_path(name: str) -> Path:
    return PID_DIR / f"{name.replace('/', '.')}.json"


def _alive(record: dict) -> bool:
    try:
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return Path(cmdline).name == Path(record["argv0"]).name  # guards against PID reuse


def _records() -> list[dict]:
    if not PID_DIR.exists():
        return []
    recs = [json.loads(p.read_text()) for p in PID_DIR.glob("*.json")]
    return sorted(recs, key=lambda r: r["started"])


def _start(svc: Service) -> subprocess.Popen:
    if svc.prepare:
        svc.prepare()
    argv = svc.argv
    if svc.user and os.geteuid() == 0:
        # setpriv execs the program itself (runuser would stay as a parent that SIGKILLs it
        # 2 s after SIGTERM), so the recorded PID is the server's own.
        argv = ["setpriv", f"--reuid={svc.user}", f"--regid={svc.user}", "--init-groups", *argv]
    svc.log.parent.mkdir(parents=True, exist_ok=True)
    with open(svc.log, "ab") as log:
        proc = subprocess.Popen(
            argv,
            cwd=svc.cwd,
            env={**os.environ, **svc.env},
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
    return proc


def _wait_ready(svc: Service, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + svc.ready_timeout
    while not svc.ready():
        if proc.poll() is not None:
            raise StackError(svc.name, f"exited with code {proc.returncode}", svc.log)
        if time.monotonic() > deadline:
            raise StackError(svc.name, f"not ready after {svc.ready_timeout:.0f}s", svc.log)
        time.sleep(0.3)
    if svc.after_ready:
        svc.after_ready()


# ---- commands ----------------------------------------------------------------------------


def up() -> int:
    profile = profile_from_env()
    started = time.monotonic()
    running = [r for r in _records() if _alive(r)]
    if running:
        say(f"stack already running ({len(running)} processes); `make down` stops it")
        return 0
    phases, apps = plan(profile)
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
        return 1
    _fresh_logs()
    (RUN_DIR / "data").mkdir(parents=True, exist_ok=True)  # SQLite files of apps and sidecars
    say(f"starting the stack (profile {profile}); logs in {LOG_DIR}")
    try:
        for phase in phases:
            procs = [(svc, _start(svc)) for svc in phase]
            for svc, proc in procs:
                _wait_ready(svc, proc)
                say(f"{svc.name} ready")
        for app in apps:
            _wait_app_ready(app)
    except StackError as err:
        _report(err)
        down(quiet=True)
        return 1
    gateway = next(a for a in apps if a.app_id == "gateway")
    say(f"all ready in {time.monotonic() - started:.1f}s")
    print(f"    gateway: http://127.0.0.1:{gateway.app_port}/api/v1   (docs: /docs)")
    print("    zipkin:  http://127.0.0.1:9411/zipkin/")
    print(f"    logs:    {LOG_DIR}")
    return 0


def _wait_app_ready(app: AppSpec, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{app.app_port}/readyz"
    while not http_ok(url):
        if time.monotonic() > deadline:
            raise StackError(
                app.app_id, f"{url} not ready after {timeout:.0f}s", LOG_DIR / f"{app.app_id}.log"
            )
        time.sleep(0.5)
    say(f"{app.app_id} ready (database and sidecar answer)")


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
        while _alive(rec) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(rec):
            os.killpg(rec["pid"], signal.SIGKILL)
        _record_path(rec["name"]).unlink(missing_ok=True)
    if not quiet:
        say(f"stopped {len(records)} processes" if records else "nothing was running")
    return 0


def stop_one(name: str) -> None:
    """Stops one process of the running stack (for chaos tests), keeping its record."""
    rec = next(r for r in _records() if r["name"] == name)
    if _alive(rec):
        os.killpg(rec["pid"], signal.SIGKILL)
        while _alive(rec):
            time.sleep(0.1)


def start_one(name: str) -> None:
    """Starts one process of the stack again, as `up` would, and waits until it is ready."""
    phases, _apps = plan(profile_from_env())
    svc = next(s for phase in phases for s in phase if s.name == name)
    _wait_ready(svc, _start(svc))


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
    commands = {"up": up, "down": down, "run": run, "status": status}
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python -m deploy.stack {{{','.join(commands)}}}", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except StackError as err:
        _report(err)
        return 1
