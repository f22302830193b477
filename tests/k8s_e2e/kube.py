"""kubectl and helm against the cluster of `make k8s-up` (deploy/cluster), as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Kube:
    kubectl: Path
    helm: Path
    kubeconfig: Path
    namespace: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def run(self, *args: str, timeout: float = 120) -> str:
        argv = [str(self.kubectl), "-n", self.namespace, *args]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def get(self, *args: str) -> dict:
        return json.loads(self.run("get", *args, "-o", "json"))

    def pods(self, app: str) -> list[dict]:
        """The app's pods that are not being deleted."""
        items = self.get("pods", "-l", f"app.kubernetes.io/name={app}")["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def service_ip(self, name: str) -> str:
        return self.get("service", name)["spec"]["clusterIP"]

    def rollout_restart(self, deployment: str, timeout: float = 300) -> float:
        """`kubectl rollout restart`, then waits for the rollout; the seconds it took."""
        began = time.monotonic()
        self.run("rollout", "restart", f"deployment/{deployment}")
        self.run(
            "rollout",
            "status",
            f"deployment/{deployment}",
            f"--timeout={int(timeout)}s",
            timeout=timeout + 10,
        )
        return time.monotonic() - began


def ready_containers(pod: dict) -> tuple[int, int]:
    """(ready, all) containers of a pod, as `kubectl get pods` shows them (2/2)."""
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return sum(bool(s.get("ready")) for s in statuses), len(pod["spec"]["containers"])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    """Calls probe until it returns something truthy; raises naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if found := probe():
                return found
        except (RuntimeError, OSError) as exc:  # the cluster settling: try again
            last = exc
        time.sleep(every)
    why = f" (last error: {last})" if last else ""
    raise TimeoutError(f"{what}: not within {timeout:.0f} s{why}")
