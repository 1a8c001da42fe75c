"""``ordered_map`` keeps input order and "takes at most in_flight items from the input that have not
been returned yet" (its module doc): memory stays bounded by ``in_flight`` batches."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from prefdata.ordered_map import ordered_map


@pytest.mark.parametrize("in_flight", [1, 2, 3, 5])
def test_at_most_in_flight_items_are_read_ahead(in_flight: int) -> None:
    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for i in range(20):
            pulled += 1
            yield i

    ahead = []
    out = []
    with ThreadPoolExecutor(4) as pool:
        for result in ordered_map(pool, lambda x: x * x, items(), in_flight=in_flight):
            out.append(result)
            ahead.append(pulled - len(out))  # pulled from the input and not yet returned, once this one is
    assert out == [i * i for i in range(20)]
    # the first result comes once in_flight items are pending; each later one after one more is read
    assert ahead == [min(in_flight - 1, 20 - n) for n in range(1, 21)]
