"""Normalisation and the features text turns into."""

from __future__ import annotations

import numpy as np

from matching.text import Stream, cjk_ngrams, english_tokens, normalise, stem


def test_normalise_makes_full_width_half_width_and_lower_case() -> None:
    assert normalise("ＣＮＣ　机床，ＰＬＣ控制  Ａ１") == "cnc 机床,plc控制 a1"


def test_stem_lets_word_forms_meet() -> None:
    groups = [
        ("welding", "welds", "weld"),
        ("treated", "treats", "treatment"),
        ("inspection", "inspect"),
        ("machining", "machine"),
        ("cutting", "cut"),
    ]
    for group in groups:
        assert len({stem(word) for word in group}) == 1, group


def test_english_tokens_drop_stop_words() -> None:
    assert [word for word, _ in english_tokens("we need help with the welding of pipes")] == [
        "weld",
        "pipe",
    ]


def test_chinese_is_read_as_characters_and_bigrams_inside_runs() -> None:
    bag = cjk_ngrams(Stream.of_texts(["焊接,钢", "ab"]))
    grams = sorted(
        "".join(chr((int(key) >> shift) & 0x1FFFFF) for shift in (21, 0) if (int(key) >> shift))
        for key in bag.key
    )
    assert grams == ["接", "焊", "焊接", "钢"]
    assert np.all(bag.doc == 0)
