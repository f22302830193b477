"""Running the project's images with podman (runc) for their checks: each container on its own
user-mode network (slirp4netns: no bridge, no firewall rule on the host) with its ports
published on 127.0.0.1 only, removed at the end whatever happens."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploy.stack.paths import ROOT, pinned_versions

REGISTRY = "localhost/order-platform"
PODMAN_TIMEOUT = 120


def chart_app_version() -> str:
    chart = (ROOT / "deploy/k8s/order-platform/Chart.yaml").read_text()
    return next(ln.split('"')[1] for ln in chart.splitlines() if ln.startswith("appVersion:"))


def image_ref(name: str) -> str:
    """The tag deploy/setup/images.sh gives each image."""
    versions = pinned_versions()
    tags = {
        "app": chart_app_version(),
        "kafka": versions["KAFKA_VERSION"],
        "postgres": versions["POSTGRES_MAJOR"],
        "zipkin": versions["ZIPKIN_VERSION"],
    }
    return f"{REGISTRY}/{name}:{tags[name]}"


def podman(*args: str, timeout: float = PODMAN_TIMEOUT, check: bool = True) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def inspect_image(ref: str) -> dict:
    done = subprocess.run(["podman", "image", "inspect", ref], capture_output=True, text=True)
    assert done.returncode == 0, f"no image {ref}: build it with `make images`"
    return json.loads(done.stdout)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    what: str,
    condition: Callable[[], bool],
    timeout: float,
    container: Container,
    must_run: bool = True,
) -> None:
    """Polls `condition` until it holds; fails with the container's last log lines if it does
    not within `timeout`, or at once if the container stops while it should run."""
    deadline = time.monotonic() + timeout
    next_look = time.monotonic() + 1
    while not condition():
        now = time.monotonic()
        if must_run and now >= next_look:  # a podman call each second, not each poll
            next_look = now + 1
            if not container.running():
                raise AssertionError(f"{what}: the container stopped; its log:\n{container.tail()}")
        if now > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s; log:\n{container.tail()}")
        time.sleep(0.25)


@dataclass
class Container:
    id: str
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port

    def url(self, port: int, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[port]}{path}"

    def logs(self) -> str:
        # One pipe for both streams: the lines stay in the order they were written.
        done = subprocess.run(
            ["podman", "logs", self.id], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return done.stdout

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def running(self) -> bool:
        return podman("inspect", "--format", "{{.State.Running}}", self.id).strip() == "true"

    def exec(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", "exec", self.id, *argv], capture_output=True, text=True, timeout=timeout
        )

    def restart(self) -> None:
        podman("stop", "--time", "30", self.id)
        podman("start", self.id)


@contextlib.contextmanager
def running(
    image: str,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    ports: Sequence[int] | Mapping[int, int] = (),
    volumes: dict[Path, str] | None = None,
    read_only: bool = False,
    hostname: str = "check-0",
    pod: str | None = None,
) -> Iterator[Container]:
    """A detached container of `image` (its entrypoint and user as built), removed on exit.
    `ports`: container ports, each published on a free loopback port, or a mapping from a
    container port to the host port to publish it on. In a `pod` (its network, its published
    ports), `ports` only names the ports for `Container.url`."""
    published = dict(ports) if isinstance(ports, Mapping) else {p: free_port() for p in ports}
    argv = ["run", "--detach", "--cap-drop", "ALL"]
    argv += ["--pod", pod] if pod else ["--network", "slirp4netns"]
    argv += ["--security-opt", "no-new-privileges", "--hostname", hostname]
    if read_only:  # as the chart runs the apps: a read-only root, /tmp writable (tmpfs)
        argv += ["--read-only"]
    for port, host_port in published.items() if not pod else ():
        argv += ["--publish", f"127.0.0.1:{host_port}:{port}"]
    for key, value in (env or {}).items():
        argv += ["--env", f"{key}={value}"]
    for source, target in (volumes or {}).items():
        argv += ["--volume", f"{source}:{target}:ro"]
    container = Container(podman(*argv, image, *(command or [])).strip(), published)
    try:
        yield container
    finally:
        podman("rm", "--force", "--time", "10", container.id, check=False)


@contextlib.contextmanager
def pod(published: Mapping[int, int], name_hint: str) -> Iterator[str]:
    """A pod: one network namespace (slirp4netns) for several containers, with `published`
    (container port -> loopback port of the host). Removed on exit, its containers with it."""
    argv = ["pod", "create", "--network", "slirp4netns", "--share", "net"]
    for port, host_port in published.items():
        argv += ["--publish", f"127.0.0.1:{host_port}:{port}"]
    pod_id = podman(*argv, "--name", f"{name_hint}-{free_port()}").strip()
    try:
        yield pod_id
    finally:
        podman("pod", "rm", "--force", "--time", "10", pod_id, check=False)
