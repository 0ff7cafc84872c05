"""CostMeter: the parse cost of a body counted as its pieces arrive."""

from __future__ import annotations

import json

from metalscope.body_budget import CostMeter, parse_cost
from metalscope.simulator import make_fleet, ramdisk_data

BODY = json.dumps(ramdisk_data(make_fleet(5, 1)[0])).encode()


def test_counted_in_pieces_the_cost_is_the_whole_body_s() -> None:
    for size in (1, 7, 100, 4096):
        meter = CostMeter()
        for start in range(0, len(BODY), size):
            meter.add(BODY[start:start + size])
        assert meter.cost == parse_cost(BODY), size


def test_the_cost_of_a_part_never_exceeds_the_whole_s() -> None:
    meter, whole = CostMeter(), parse_cost(BODY)
    for start in range(0, len(BODY), 333):
        meter.add(BODY[start:start + 333])
        assert meter.cost <= whole


def test_a_dense_body_is_known_costly_from_its_first_part() -> None:
    meter = CostMeter()
    meter.add(b'{"f":[' + b"{}," * 600_000)  # 1.8 MB of an 8 MiB body
    assert meter.cost > 64 * 2**20
