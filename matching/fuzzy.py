"""rapidfuzz on short fields: a specialist's keyword written (nearly) as is in a demand.

Only for shortlisted pairs: fuzzy ratios are slow over everything and weak on
long texts (FIELD-NOTES), but a keyword of a few characters or words found in a
demand with a typo ("corossion", "weldng") is exactly what they are good at.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

FLOOR = 60.0
"""partial_ratio at or below this is noise (a shared character or two)."""


def usable(keyword: str) -> bool:
    """Latin-script keywords of four letters or more.

    Chinese typos are homophones, which the pinyin channel and the glossary's
    typo matching catch; a partial ratio between short Chinese strings mostly
    rewards one shared character. Latin keywords shorter than four letters
    (MES, AI) would match inside other words by chance.
    """
    return len(keyword) >= 4 and not any("\u3400" <= char <= "\u9fff" for char in keyword)


def keyword_scores(text: str, keyword_lists: Sequence[Sequence[str]]) -> NDArray[np.float32]:
    """For each list of (normalised, usable) keywords, how well its best keyword appears in text.

    0 at FLOOR or below, 1 for a keyword found verbatim.
    """
    flat = [keyword for keywords in keyword_lists for keyword in keywords]
    out = np.zeros(len(keyword_lists), dtype=np.float32)
    if not flat or not text:
        return out
    ratios = process.cdist(flat, [text], scorer=fuzz.partial_ratio, dtype=np.uint8)[:, 0]
    position = 0
    for index, keywords in enumerate(keyword_lists):
        if keywords:
            out[index] = ratios[position : position + len(keywords)].max()
            position += len(keywords)
    return np.clip((out - FLOOR) / (100 - FLOOR), 0, 1)
