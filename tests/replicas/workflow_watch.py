"""Watches the sagas of a load while it runs: every order's workflow status, read through an
order-service sidecar's workflow API (it reads the state store, not an actor's cache), against
the saga's end in the order database (the order CONFIRMED or CANCELLED and its saga record no
longer STARTED or COMPENSATING). A workflow that keeps reporting an end (COMPLETED, FAILED,
TERMINATED) while its saga has not ended, or stays PENDING, is caught while it happens, not
later through the reconciler that would hide it.

"Keeps": for SETTLE_SECONDS. A confirmed order that its client cancels is claimed in the
database first and its saga scheduled again just after, so for a moment the previous run's
COMPLETED stands beside a COMPENSATING saga record, rightly."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import psycopg

from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST
from deploy.stack.replicas import PORT_STEP
from deploy.stack.secrets import dapr_headers, postgres_password

ORDER_ENDS = {"CONFIRMED", "CANCELLED"}
SAGA_IN_FLIGHT = {"STARTED", "COMPENSATING"}
SETTLE_SECONDS = 5.0
WORKFLOW_ENDS = {"COMPLETED", "FAILED", "TERMINATED"}
FIRST_SIDECAR_HTTP = 3501  # order-service's daprd (dapr.yaml); instance k adds PORT_STEP*(k-1)


def sidecar_url(k: int) -> str:
    return f"http://127.0.0.1:{FIRST_SIDECAR_HTTP + PORT_STEP * (k - 1)}/v1.0/workflows/dapr"


def saga_ended(order_ids: list[str]) -> dict[str, tuple[bool, str]]:
    """Per order: whether its saga has ended, and `order status/saga status`."""
    dsn = (
        f"host={HOST} port={POSTGRES_PORT} user=postgres password={postgres_password()} "
        "dbname=orders connect_timeout=5"
    )
    with psycopg.connect(dsn) as db:
        rows = db.execute(
            "SELECT o.order_id, o.status, s.status FROM orders o "
            "JOIN order_saga s ON s.order_id = o.order_id WHERE o.order_id = ANY(%s)",
            (order_ids,),
        ).fetchall()
    return {
        oid: (order in ORDER_ENDS and saga not in SAGA_IN_FLIGHT, f"{order}/{saga}")
        for oid, order, saga in rows
    }


@dataclass
class Anomaly:
    order_id: str
    workflow_status: str  # an end, or PENDING
    order_status: str  # `order status/saga status`
    since: float  # wall clock: first seen


@dataclass
class WorkflowWatch:
    """Polls the workflows of `order_ids()` (orders accepted so far) until stopped."""

    order_ids: object  # Callable[[], list[str]]
    instance: int = 1  # the order-service instance whose sidecar answers (it must stay up)
    every: float = 1.0
    early: dict[str, Anomaly] = field(default_factory=dict)  # kept for SETTLE_SECONDS
    statuses: dict[str, set[str]] = field(default_factory=dict)  # every status seen per order
    errors: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._suspect: dict[str, Anomaly] = {}
        self._thread = threading.Thread(target=self._run, name="workflow-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        headers = dapr_headers("order-service")
        with httpx.Client(timeout=5, headers=headers) as client:
            while not self._stop.wait(self.every):
                try:
                    self._round(client)
                except (httpx.HTTPError, psycopg.Error):
                    self.errors += 1

    def _round(self, client: httpx.Client) -> None:
        # Every order, ended or not: a client's cancel of a confirmed order starts its saga
        # again after it had ended.
        ids = list(self.order_ids())
        if not ids:
            return
        # The workflow first, then the order: an order that ends between the two reads is
        # seen ended, never the other way round.
        workflows = {i: self._workflow_status(client, i) for i in ids}
        sagas = saga_ended(ids)
        now = time.time()
        for order_id, status in workflows.items():
            self.statuses.setdefault(order_id, set()).add(status)
            ended, order_status = sagas.get(order_id, (False, "MISSING"))
            if ended:
                self._suspect.pop(order_id, None)
            elif status in WORKFLOW_ENDS or status == "PENDING":
                seen = self._suspect.setdefault(
                    order_id, Anomaly(order_id, status, order_status, now)
                )
                if seen.workflow_status != status:  # another state: count afresh
                    self._suspect[order_id] = Anomaly(order_id, status, order_status, now)
                elif now - seen.since >= SETTLE_SECONDS:
                    self.early[order_id] = seen
            else:
                self._suspect.pop(order_id, None)

    def _workflow_status(self, client: httpx.Client, order_id: str) -> str:
        resp = client.get(f"{sidecar_url(self.instance)}/{order_id}")
        if resp.status_code != 200:
            return f"HTTP {resp.status_code}"
        return resp.json().get("runtimeStatus", "?")
