"""The blob table a transfer keeps per target: it answers as a dict of the same states would, while the
blobs verified present are packed."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from typing import Any

from okd_release.blobtable import BATCH, BlobTable


def _key(number: int) -> bytes:
    return hashlib.sha256(str(number).encode()).digest()


def test_the_table_answers_as_a_dict_through_many_packings() -> None:
    chooser = random.Random(7)
    table, model = BlobTable(), {}
    keys = [_key(number) for number in range(6 * BATCH)] + [b"sha512:not-packed", b"other"]
    in_flight = object()
    for step in range(30 * BATCH):
        key = chooser.choice(keys)
        if key not in model:  # met: a size (the target's images name it) or a copy in flight
            model[key] = table_state = chooser.choice([chooser.randrange(1, 10**9), in_flight])
        else:  # verified present (the end state every blob reaches)
            model[key] = table_state = None
        table[key] = table_state
        if step % 97 == 0:
            probe = chooser.choice(keys)
            assert table.get(probe, "unseen") == model.get(probe, "unseen")
    unseen = _key(-1)
    assert all(table.get(key, "unseen") == model.get(key, "unseen") for key in [*keys, unseen])
    assert len(table) == len(model)
    assert sorted(table.sizes()) == sorted((k, v) for k, v in model.items() if isinstance(v, int))


def test_a_later_state_overrides_a_packed_present_one() -> None:
    table = BlobTable()
    for number in range(2 * BATCH):
        table[_key(number)] = None
    table[_key(3)] = 42
    assert table.get(_key(3)) == 42 and table.sizes() == [(_key(3), 42)]
    table[_key(3)] = None
    assert table.get(_key(3), "unseen") is None and table.sizes() == []


def test_present_blobs_cost_a_fraction_of_dict_entries() -> None:
    keys = [_key(number) for number in range(6_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        table = BlobTable()
        for key in keys:
            table[key] = None
        packed = tracemalloc.get_traced_memory()[0] - before
        entries: dict[bytes, Any] = {_key(number): None for number in range(6_000)}  # keys of its own, as a transfer's
        as_dict = tracemalloc.get_traced_memory()[0] - before - packed
    finally:
        tracemalloc.stop()
    assert len(table) == len(entries) == 6_000
    assert packed * 2 < as_dict, (packed, as_dict)
