"""Pure parts of the rolling upgrade: which saga version new sagas start as, the listeners of a
port, the SO_REUSEPORT socket the gateway binds, and the history check's verdicts."""

from __future__ import annotations

import os
import socket

import pytest

from apps.__main__ import reuse_port_socket
from deploy.stack.restart import listening_pids
from tests.upgrade.histories import Saga, Switch, path_breaks
from workflows.order_saga import latest_version, register_saga
from workflows.steps import SAGA_VERSION, SAGA_VERSIONS, Activity


class Registry:
    def __init__(self) -> None:
        self.latest: list[str] = []

    def register_versioned_workflow(self, fn, *, name, version_name=None, is_latest) -> None:  # type: ignore[no-untyped-def]
        if is_latest:
            self.latest.append(version_name)


def test_new_sagas_start_as_the_newest_version_unless_a_release_names_an_older_one():
    assert latest_version({}) == SAGA_VERSION
    assert latest_version({"SAGA_LATEST_VERSION": "v1"}) == "v1"
    with pytest.raises(ValueError, match="SAGA_LATEST_VERSION='v9'"):
        latest_version({"SAGA_LATEST_VERSION": "v9"})


def test_every_version_is_registered_and_exactly_the_chosen_one_is_latest():
    for name in SAGA_VERSIONS:
        registry = Registry()
        register_saga(registry, name)
        assert registry.latest == [name]
    with pytest.raises(ValueError):
        register_saga(Registry(), "v0")


def test_two_processes_listen_on_one_reuse_port_socket_and_are_both_seen():
    first = reuse_port_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = reuse_port_socket("127.0.0.1", port)
    try:
        first.listen()
        assert listening_pids(port) == {os.getpid()}
        second.listen()  # a second listener on the same port: what the new gateway does
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        first.close()
        second.close()
    assert listening_pids(port) == set()


def saga(version: str, activities: list[str], started: float = 50.0) -> Saga:
    return Saga("o1", version, started, started + 1, activities, False, False, None)


SWITCH = Switch(began=100.0, ended=110.0)
PAID = [Activity.TAKE_PAYMENT]


def test_a_v1_saga_on_v1_path_and_a_v2_saga_on_v2_path_pass():
    assert path_breaks(saga("v1", PAID), SWITCH) == []
    assert path_breaks(saga("v2", [Activity.CHECK_LIMIT, *PAID], started=120.0), SWITCH) == []


def test_a_saga_on_the_other_versions_path_or_started_as_the_wrong_version_breaks():
    assert "took v2's path" in path_breaks(saga("v1", [Activity.CHECK_LIMIT, *PAID]), SWITCH)[0]
    assert "without its limit check" in path_breaks(saga("v2", PAID, started=120.0), SWITCH)[0]
    assert "not as v2" in path_breaks(saga("v1", PAID, started=120.0), SWITCH)[0]
    assert "not as v1" in path_breaks(saga("v2", [Activity.CHECK_LIMIT, *PAID]), SWITCH)[0]


def test_a_reuse_port_socket_says_it_is_tcp_so_asyncio_turns_nagle_off():
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; with proto 0 every
    answer of the gateway waited for a delayed ACK (23 requests/s instead of about 1,000)."""
    sock = reuse_port_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
