"""The ranks' arithmetic: a rank strictly between two neighbours while there is one, none when
the gap is used up or the bigint range would overflow (the caller then rebalances)."""

from __future__ import annotations

import uuid

from tasks.ordering import RANK_GAP, RANK_MAX, RANK_MIN, rank_between, spread


def test_a_rank_between_neighbours_or_none_when_the_gap_is_used_up() -> None:
    assert rank_between(None, None) == 0
    assert rank_between(0, None) == RANK_GAP
    assert rank_between(None, 0) == -RANK_GAP
    assert rank_between(0, RANK_GAP) == RANK_GAP // 2
    assert rank_between(4, 6) == 5
    assert rank_between(4, 5) is None
    # past the ends of the range: no room, rebalance
    assert rank_between(RANK_MAX, None) is None
    assert rank_between(None, RANK_MIN) is None


def test_halving_one_gap_lasts_32_inserts() -> None:
    before, after, inserts = 0, RANK_GAP, 0
    while (mid := rank_between(before, after)) is not None:
        assert before < mid < after
        after, inserts = mid, inserts + 1
    assert inserts == 32


def test_spread_gives_evenly_spaced_ranks_in_the_order_given() -> None:
    ids = [uuid.uuid4() for _ in range(4)]
    assert spread(ids) == [(i, n * RANK_GAP) for n, i in enumerate(ids)]
