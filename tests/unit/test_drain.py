"""Draining (apps/common/drain.py): out of rotation first, callers told to reconnect, the drain
call ending once callers have moved on."""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI

from apps.common.drain import DrainMiddleware, DrainState, DrainTimes
from apps.common.health import health_router

TIMES = DrainTimes(least=0.3, quiet=0.2, most=1.5)


def make_app() -> tuple[FastAPI, DrainState]:
    state = DrainState(TIMES)
    app = FastAPI()
    app.include_router(health_router({"accepting": state.accepting}))

    @app.get("/work")
    def work() -> dict:
        return {"ok": True}

    app.add_middleware(DrainMiddleware, state=state)
    return app, state


def client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://app")


def test_drain_is_refused_from_another_host_and_for_other_verbs() -> None:
    app, state = make_app()

    async def run() -> None:
        async with client(app, host="10.1.2.3") as remote:
            resp = await remote.post("/drain")
            assert resp.status_code == 403
            assert resp.headers["content-type"] == "application/problem+json"
        async with client(app) as local:
            assert (await local.get("/drain")).status_code == 405

    asyncio.run(run())
    assert not state.draining


def test_a_drained_app_is_not_ready_and_closes_connections() -> None:
    app, state = make_app()

    async def run() -> None:
        async with client(app) as local:
            before = await local.get("/work")
            assert "connection" not in before.headers
            assert (await local.get("/readyz")).status_code == 200
            began = time.monotonic()
            resp = await local.post("/drain")
            took = time.monotonic() - began
            assert resp.status_code == 200 and resp.json()["status"] == "drained"
            assert TIMES.least <= took < TIMES.most  # nobody called: it ends after the least
            ready = await local.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["accepting"] == "down"
            after = await local.get("/work")
            assert after.status_code == 200 and after.headers["connection"] == "close"

    asyncio.run(run())


def test_the_drain_waits_while_callers_keep_coming_but_no_longer_than_the_most() -> None:
    app, _ = make_app()

    async def run() -> float:
        async with client(app) as local:
            stop = asyncio.Event()

            async def keep_calling() -> None:
                while not stop.is_set():
                    await local.get("/work")
                    await asyncio.sleep(0.05)

            caller = asyncio.create_task(keep_calling())
            began = time.monotonic()
            await local.post("/drain")
            took = time.monotonic() - began
            stop.set()
            await caller
            return took

    took = asyncio.run(run())
    assert TIMES.most <= took < TIMES.most + 0.5
