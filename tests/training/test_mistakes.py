"""Stage mistakes: hand-computed counts, newly-wrong records first, bounded records, wrong entity spans."""

from __future__ import annotations

import pytest

from clsweep.training.mistakes import pack, stage_mistakes, unpack, wrong_spans


@pytest.mark.parametrize("bits", [[], [True], [False], [True, False, True, True, False], [False] * 9 + [True]])
def test_bitmask_round_trip(bits: list[bool]) -> None:
    assert unpack(pack(bits), len(bits)) == bits


TEXTS = [f"text {i}" for i in range(6)]
GOLD = ["a", "b", "a", "b", "a", "b"]


def test_counts_and_newly_wrong_against_the_previous_stage() -> None:
    before = pack([True, True, False, False, True, True])
    preds = ["a", "a", "a", "a", "b", "b"]  # now wrong: 1, 3, 4; right: 0, 2, 5
    m = stage_mistakes("t", "sequence", "test", TEXTS, GOLD, preds, [0.9] * 6, before, 2, "u", keep=10)
    assert m.counts == {"stage": 2, "after": "u", "split": "test", "total": 6, "wrong": 3, "newly_wrong": 2,
                        "fixed": 1, "written": 3}
    # Newly wrong (1, 4) come before the already-wrong 3, each group in dataset order.
    assert [(r["index"], r["newly_wrong"]) for r in m.records] == [(1, True), (4, True), (3, False)]
    assert m.records[0] == {"task": "t", "split": "test", "stage": 2, "after": "u", "index": 1, "text": "text 1",
                            "gold": "b", "pred": "a", "confidence": 0.9, "newly_wrong": True}
    assert unpack(m.correct, 6) == [True, False, True, False, False, True]


def test_records_are_bounded_but_counts_are_complete() -> None:
    preds = ["b", "a", "b", "a", "b", "a"]  # all wrong
    m = stage_mistakes("t", "sequence", "dev", TEXTS, GOLD, preds, [0.5] * 6, None, 0, None, keep=2)
    assert m.counts["wrong"] == 6 and m.counts["written"] == 2 and len(m.records) == 2
    assert m.counts["newly_wrong"] == 0 and m.counts["fixed"] == 0  # stage 0 has no previous stage
    none = stage_mistakes("t", "sequence", "dev", TEXTS, GOLD, preds, [0.5] * 6, None, 0, None, keep=0)
    assert none.records == [] and none.counts["wrong"] == 6


def test_token_example_is_wrong_if_any_tag_is_and_names_its_spans() -> None:
    words = ["Ann", "met", "Bob", "in", "New", "York"]
    gold = ["B-PER", "O", "B-PER", "O", "B-LOC", "I-LOC"]
    pred = ["B-PER", "O", "B-ORG", "O", "B-LOC", "O"]
    got = wrong_spans(words, gold, pred)
    assert got["wrong_spans"] == [
        {"start": 2, "end": 3, "words": "Bob", "gold": "PER", "pred": "ORG"},
        {"start": 4, "end": 5, "words": "New", "gold": None, "pred": "LOC"},
        {"start": 4, "end": 6, "words": "New York", "gold": "LOC", "pred": None},
    ]
    assert got["marked"] == "Ann met [Bob]{gold=PER pred=ORG} in [[New]{gold=O pred=LOC} York]{gold=LOC pred=O}"
    m = stage_mistakes("ner", "token", "test", [" ".join(words)] * 2, [gold, gold], [pred, gold], [0.7, 0.9],
                       None, 1, "ner", keep=5)
    assert m.counts["wrong"] == 1 and m.records[0]["index"] == 0
    assert m.records[0]["wrong_spans"] == got["wrong_spans"]
