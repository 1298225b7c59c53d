"""Chinese characters as toneless pinyin syllables, for homophone typos.

People type Chinese on phones with pinyin input and pick the wrong character of
the same sound (汗接 for 焊接, 无损检侧 for 无损检测). Mapping every character to
its syllable lets such a typo still meet the right word. One reading per
character (pypinyin's first, the most common) is enough: both sides of a
comparison go through the same table, so polyphones stay consistent.

The table is a numpy array indexed by code point so whole batches of text map
at once; building it from pypinyin's dictionary takes about 0.1 s, once.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray
from pypinyin.constants import Style
from pypinyin.pinyin_dict import pinyin_dict
from pypinyin.style import convert

NO_SYLLABLE = 0
"""Syllable id of characters without a reading (not Chinese)."""


@cache
def syllable_table() -> tuple[NDArray[np.int16], tuple[str, ...]]:
    """Code point -> syllable id (0 = none), and the syllables by id."""
    size = max(pinyin_dict) + 1
    table = np.zeros(size, dtype=np.int16)
    ids: dict[str, int] = {}
    for codepoint, readings in pinyin_dict.items():
        toneless = convert(readings.split(",")[0], Style.NORMAL, strict=False)
        table[codepoint] = ids.setdefault(toneless, len(ids) + 1)
    names = ("", *sorted(ids, key=ids.__getitem__))
    return table, names


def syllables(codepoints: NDArray[np.int64]) -> NDArray[np.int64]:
    """Syllable ids of code points (0 where a code point has no reading)."""
    table, _ = syllable_table()
    inside = codepoints < table.size
    out = np.zeros(codepoints.shape, dtype=np.int64)
    out[inside] = table[codepoints[inside]]
    return out
