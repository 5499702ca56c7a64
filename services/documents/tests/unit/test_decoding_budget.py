"""The memory shared by every upload's decodes: a decode waits for its share, so concurrent uploads
take turns instead of exhausting the service's memory."""

from __future__ import annotations

import threading

from services.documents.domain.photos import MAX_PROCESSING_BYTES
from services.documents.use_cases.photos import DECODING_BUDGET_BYTES, MemoryBudget


def test_a_decode_waits_until_its_share_is_free():
    budget = MemoryBudget(100)
    first_in, release_first, second_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with budget.reserve(80):
            first_in.set()
            release_first.wait(10)

    def second() -> None:
        first_in.wait(10)
        with budget.reserve(80):
            second_in.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert first_in.wait(10)
    assert not second_in.wait(0.3)  # 80 + 80 > 100: the second waits for the first
    release_first.set()
    assert second_in.wait(10)
    for t in threads:
        t.join(10)


def test_small_decodes_share_the_budget_and_a_big_one_is_capped_to_it():
    budget = MemoryBudget(100)
    with budget.reserve(40), budget.reserve(40):  # together within the budget: no wait
        pass
    with budget.reserve(1_000):  # more than the whole: alone, not forever
        pass


def test_the_budget_holds_the_largest_photo():
    assert MAX_PROCESSING_BYTES <= DECODING_BUDGET_BYTES
