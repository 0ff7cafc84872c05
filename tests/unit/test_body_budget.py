"""BodyBudget and parse_cost: the memory callback bodies may take at once."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import pytest

from metalscope.body_budget import BodyBudget, BudgetExhausted, parse_cost
from metalscope.simulator import make_fleet, ramdisk_data


def _peak_parse_bytes(raw: bytes) -> int:
    tracemalloc.start()
    try:
        json.loads(raw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("raw", [
    b'{"f":[' + b"{}," * 100_000 + b"{}]}",
    b'{"f":[' + b"[]," * 100_000 + b"[]]}",
    b'{"a":[' + b",".join(b"%d" % i for i in range(100_000)) + b"]}",
    json.dumps({"s": [f"value-{i}" for i in range(50_000)]}).encode(),
    json.dumps({f"key-{i}": {"n": i, "t": True} for i in range(20_000)}).encode(),
    json.dumps(ramdisk_data(make_fleet(7, 1)[0])).encode(),
], ids=["empty-objects", "empty-arrays", "integers", "strings", "objects", "ramdisk"])
def test_parse_cost_is_an_upper_bound_of_what_parsing_allocates(raw: bytes) -> None:
    assert parse_cost(raw) >= _peak_parse_bytes(raw)


def test_parse_cost_of_a_ramdisk_callback_is_small() -> None:
    raw = json.dumps(ramdisk_data(make_fleet(7, 1)[0])).encode()
    assert parse_cost(raw) < 20 * len(raw) < 2**20


async def test_take_now_refuses_what_does_not_fit_without_waiting() -> None:
    budget = BodyBudget(100, wait=10)
    budget.take_now(60)
    with pytest.raises(BudgetExhausted) as caught:
        budget.take_now(41)
    assert caught.value.headers == {"Retry-After": "5"}
    assert budget.used == 60


async def test_a_charge_is_returned_when_the_block_ends_even_on_error() -> None:
    budget = BodyBudget(100, wait=0.01)
    with pytest.raises(RuntimeError):
        async with budget.charge() as charge:
            charge.add(30)
            await charge.become(80)
            assert budget.used == 80
            raise RuntimeError("handler failed")
    assert budget.used == 0


async def test_become_waits_for_room_and_a_small_body_passes_a_large_one() -> None:
    budget = BodyBudget(100, wait=5)
    budget.take_now(70)  # another body being parsed
    order: list[str] = []

    async def parse(name: str, size: int) -> None:
        async with budget.charge() as charge:
            await charge.become(size)
            order.append(name)

    large = asyncio.create_task(parse("large", 90))
    small = asyncio.create_task(parse("small", 20))
    await asyncio.sleep(0.05)
    assert order == ["small"]  # fitted at once beside the 70
    await budget.release(70)
    await asyncio.wait_for(large, 1)
    await small
    assert order == ["small", "large"] and budget.used == 0


async def test_become_gives_up_after_the_wait_holding_nothing() -> None:
    budget = BodyBudget(100, wait=0.05)
    budget.take_now(90)
    async with budget.charge() as charge:
        charge.add(5)
        with pytest.raises(BudgetExhausted):
            await charge.become(50)
        assert charge.size == 0
    assert budget.used == 90
