"""The adaptive bound on sagas in flight (apps/order_service/limit.py), fed counts as admission
control reads them: every 0.2 s, sagas in flight and how many ended since."""

from __future__ import annotations

import math
from weakref import WeakKeyDictionary

from apps.order_service.limit import AdaptiveLimit

# Where each limit's fed time stands: the next feed goes on from there.
FED_UNTIL: WeakKeyDictionary[AdaptiveLimit, float] = WeakKeyDictionary()


def feed(
    limit: AdaptiveLimit,
    seconds: float,
    in_flight: int,
    ended_per_second: float,
    held_back: bool = True,
) -> int:
    """Steady counts for `seconds`, starting where the last feed stopped; the bound after."""
    start = FED_UNTIL.get(limit, 0.0)
    steps = round(seconds / 0.2)
    for i in range(1, steps + 1):
        now = start + i * 0.2
        bound = limit.observe(now, in_flight, round(ended_per_second * 0.2), held_back)
    FED_UNTIL[limit] = start + steps * 0.2
    return bound


def test_it_starts_at_the_floor_and_probes_upwards_while_it_holds_orders_back():
    limit = AdaptiveLimit(target_seconds=0.7, floor=4, ceiling=50)
    assert limit.limit == 4
    # 4 in flight, 10 ending per second: 0.4 s each, under the target: one more at each count.
    assert feed(limit, 2.0, in_flight=4, ended_per_second=10) > 4
    # Nobody refused: no reason to grow.
    steady = limit.limit
    assert feed(limit, 2.0, in_flight=4, ended_per_second=10, held_back=False) == steady


def test_it_never_passes_the_ceiling():
    limit = AdaptiveLimit(target_seconds=0.7, floor=4, ceiling=6)
    for _ in range(10):
        feed(limit, 1.0, in_flight=limit.limit, ended_per_second=50)
    assert limit.limit == 6


def test_over_the_target_it_drops_to_throughput_times_target():
    limit = AdaptiveLimit(target_seconds=0.7, floor=4, ceiling=200)
    limit.limit = 30
    # 30 in flight, 10 ending per second: 3 s each. 10/s x 0.7 s = 7 in flight.
    assert feed(limit, 3.0, in_flight=30, ended_per_second=10) == 7
    assert math.isclose(limit.mean_seconds(), 3.0, rel_tol=0.05)


def test_when_nothing_ends_it_falls_to_the_floor_and_not_below():
    limit = AdaptiveLimit(target_seconds=0.7, floor=4, ceiling=200)
    limit.limit = 30
    assert feed(limit, 3.0, in_flight=30, ended_per_second=0) == 4
    assert limit.mean_seconds() == math.inf


def test_idle_it_keeps_its_bound():
    limit = AdaptiveLimit(target_seconds=0.7, floor=4, ceiling=200)
    limit.limit = 12
    assert feed(limit, 5.0, in_flight=0, ended_per_second=0, held_back=False) == 12
    assert limit.mean_seconds() == 0.0


def test_it_waits_for_a_third_of_its_window_before_judging():
    limit = AdaptiveLimit(target_seconds=0.7, floor=4, ceiling=200, window_seconds=3.0)
    limit.limit = 30
    assert limit.observe(0.0, 30, 0, True) == 30
    assert limit.observe(0.2, 30, 0, True) == 30  # 0.2 s seen: no verdict yet
