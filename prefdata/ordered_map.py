"""``ordered_map``: a thread pool's map that keeps input order and reads its input a little ahead.

Build (pass-1 batches) and check (MinHash signing) both stream batches from a reader into worker
threads. ``Executor.map`` would read the whole input first, holding every batch at once (Python 3.10
has no ``buffersize``); this takes at most ``in_flight`` items from the input that have not been
returned yet, so memory stays bounded by a few batches and results come back in input order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(pool: Executor, fn: Callable[[T], R], items: Iterable[T], *, in_flight: int) -> Iterator[R]:
    """``fn`` of each item, computed on ``pool``, yielded in the order of ``items``."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
