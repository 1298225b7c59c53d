"""Reference data for matching: industries, disciplines, cities and a bilingual glossary.

Data files live in ``matching/data`` (package data, found next to this module, else through
``importlib.resources``) and are read once:

* ``industries.json``  GB/T 4754-2017 国民经济行业分类: 20 sections (门类 A-T) and
  97 divisions (大类 01-97)
* ``disciplines.json`` GB/T 13745-2009 学科分类与代码: first-level disciplines and the second-level
  ones of engineering, agriculture and medicine (plus a few natural sciences used by industry)
* ``cities.json``      Liaoning's 14 prefecture-level cities
* ``glossary.tsv``     ``zh|zh...<TAB>en|en...`` one concept per line, canonical term first

``search_industries`` / ``search_disciplines`` fuzzy-match what a user typed (Chinese, English or
pinyin, with typos) against names and typical terms and return entries best first.
``fields_for`` turns typed words into the disciplines they stand for, one mapping for an
enterprise's demand and a specialist's profile alike.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

__all__ = [
    "DEFAULT_SCORE_CUTOFF",
    "FIELDS_PER_PHRASE",
    "City",
    "Concept",
    "Discipline",
    "Industry",
    "all_disciplines",
    "cities",
    "city",
    "city_by_name",
    "concept_for",
    "discipline",
    "disciplines",
    "fields_for",
    "glossary",
    "industry",
    "industry_divisions",
    "industry_sections",
    "search_disciplines",
    "search_industries",
]

DEFAULT_SCORE_CUTOFF = 75.0
FIELDS_PER_PHRASE = 2  # disciplines one typed word or phrase adds at most


def _pick(locale: str | None, zh: str, en: str) -> str:
    return zh if (locale or "").lower().startswith("zh") else en


@dataclass(frozen=True)
class Industry:
    """A GB/T 4754-2017 section (code "A".."T") or division (code "01".."97").

    ``section`` is the section letter; a section's ``section`` is its own code.
    """

    code: str
    zh: str
    en: str
    section: str
    terms_zh: tuple[str, ...] = ()
    terms_en: tuple[str, ...] = ()

    @property
    def is_section(self) -> bool:
        return len(self.code) == 1

    def name(self, locale: str | None = None) -> str:
        return _pick(locale, self.zh, self.en)


@dataclass(frozen=True)
class Discipline:
    """A GB/T 13745-2009 discipline: first level (3-digit code, parent None) or second level."""

    code: str
    zh: str
    en: str
    parent: str | None
    terms_zh: tuple[str, ...] = ()
    terms_en: tuple[str, ...] = ()

    @property
    def level(self) -> int:
        return 1 if self.parent is None else 2

    def name(self, locale: str | None = None) -> str:
        return _pick(locale, self.zh, self.en)


@dataclass(frozen=True)
class City:
    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def name(self, locale: str | None = None) -> str:
        return _pick(locale, self.zh, self.en)


@dataclass(frozen=True)
class Concept:
    """One glossary concept; ``zh[0]`` and ``en[0]`` are the canonical terms."""

    zh: tuple[str, ...]
    en: tuple[str, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        return self.zh + self.en

    def name(self, locale: str | None = None) -> str:
        return _pick(locale, self.zh[0], self.en[0])


# --------------------------------------------------------------------------- loading


@cache
def _data_dir() -> Traversable:
    # Anchored on this file first: a directory named "matching" elsewhere on sys.path (such as
    # tests/matching under pytest) can shadow the package name as a namespace package.
    here = Path(__file__).resolve().with_name("data")
    return here if here.is_dir() else files("matching") / "data"


def _read_text(name: str) -> str:
    return (_data_dir() / name).read_text(encoding="utf-8")


@cache
def _json(name: str) -> Any:
    return json.loads(_read_text(name))


def _terms(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(t) for t in raw.get(key) or ())


@cache
def _industries() -> tuple[tuple[Industry, ...], tuple[Industry, ...]]:
    sections: list[Industry] = []
    divisions: list[Industry] = []
    for s in _json("industries.json"):
        sec = str(s["code"])
        sections.append(Industry(sec, s["zh"], s["en"], sec))
        for d in s["divisions"]:
            divisions.append(
                Industry(
                    str(d["code"]),
                    d["zh"],
                    d["en"],
                    sec,
                    _terms(d, "terms_zh"),
                    _terms(d, "terms_en"),
                )
            )
    return tuple(sections), tuple(divisions)


@cache
def _industry_index() -> dict[str, Industry]:
    sections, divisions = _industries()
    return {i.code: i for i in (*sections, *divisions)}


def industry_sections() -> tuple[Industry, ...]:
    """The 20 sections A-T in order."""
    return _industries()[0]


def industry_divisions(section_code: str | None = None) -> tuple[Industry, ...]:
    """Divisions of one section (e.g. ``"C"``), or all 97 when ``section_code`` is None."""
    divisions = _industries()[1]
    if section_code is None:
        return divisions
    sec = section_code.strip().upper()
    return tuple(d for d in divisions if d.section == sec)


def industry(code: str) -> Industry | None:
    """Section or division by code: ``"C"``, ``"36"`` or ``"C36"``."""
    c = code.strip().upper()
    if len(c) == 3 and c[0].isalpha():
        c = c[1:]
    return _industry_index().get(c)


@cache
def all_disciplines() -> tuple[Discipline, ...]:
    """Every discipline, each first-level one followed by its children."""
    return tuple(
        Discipline(
            str(d["code"]),
            d["zh"],
            d["en"],
            d.get("parent"),
            _terms(d, "terms_zh"),
            _terms(d, "terms_en"),
        )
        for d in _json("disciplines.json")
    )


@cache
def _discipline_index() -> dict[str, Discipline]:
    return {d.code: d for d in all_disciplines()}


def disciplines(parent: str | None = None) -> tuple[Discipline, ...]:
    """First-level disciplines (``parent=None``) or the children of ``parent``."""
    return tuple(d for d in all_disciplines() if d.parent == parent)


def discipline(code: str) -> Discipline | None:
    return _discipline_index().get(code.strip())


@cache
def cities() -> tuple[City, ...]:
    """Liaoning's 14 prefecture-level cities in the official order (沈阳 first)."""
    return tuple(
        City(c["code"], c["zh"], c["en"], tuple(c.get("aliases") or ()))
        for c in _json("cities.json")
    )


def city(code: str) -> City | None:
    return next((c for c in cities() if c.code == code.strip().lower()), None)


_PROVINCE_PREFIXES = ("辽宁省", "辽宁", "liaoningprovince", "liaoning")


def _city_key(text: str) -> str:
    return re.sub(r"[\s,，._\-]+", "", unicodedata.normalize("NFKC", text).lower())


@cache
def _city_index() -> dict[str, City]:
    index: dict[str, City] = {}
    for c in cities():
        for name in (c.code, c.zh, c.en, *c.aliases):
            index.setdefault(_city_key(name), c)
    return index


@lru_cache(maxsize=4096)  # a round reads the same few dozen spellings thousands of times
def city_by_name(text: str) -> City | None:
    """Find a city by Chinese or English name or alias, ignoring case and spaces.

    "大连市", "dalian", "Da Lian", "辽宁省大连市" all give Dalian; a Latin name with a small
    typo ("Shenyng") is accepted too.
    """
    key = _city_key(text)
    for prefix in _PROVINCE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix) :]
            break
    if not key:
        return None
    index = _city_index()
    if key in index:
        return index[key]
    if key.isascii() and len(key) >= 5:
        best = process.extractOne(key, list(index), scorer=fuzz.ratio, score_cutoff=85)
        if best is not None:
            return index[best[0]]
    return None


@cache
def glossary() -> tuple[Concept, ...]:
    concepts: list[Concept] = []
    for n, line in enumerate(_read_text("glossary.tsv").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        zh_part, sep, en_part = line.partition("\t")
        zh = tuple(t.strip() for t in zh_part.split("|") if t.strip())
        en = tuple(t.strip() for t in en_part.split("|") if t.strip())
        if not sep or not zh or not en:
            raise ValueError(f"glossary.tsv line {n}: expected 'zh|...<TAB>en|...'")
        concepts.append(Concept(zh, en))
    return tuple(concepts)


@cache
def _glossary_index() -> dict[str, Concept]:
    index: dict[str, Concept] = {}
    for c in glossary():
        for t in c.terms:
            index.setdefault(_norm(t), c)
    return index


def concept_for(term: str) -> Concept | None:
    """The glossary concept having ``term`` (any side, case/space-insensitive) as a term."""
    return _glossary_index().get(_norm(term))


# --------------------------------------------------------------------------- fuzzy search

_CJK = re.compile(r"[\u3400-\u9fff]")
_SPACES = re.compile(r"[\s\-_/]+")
_EDGE_PUNCT = " \t.,;:!?，。；：！？、\"'“”‘’()（）[]【】"


def _norm(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", t).strip(_EDGE_PUNCT)


def _has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def _pinyin(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for chunk in lazy_pinyin(text):
        out.extend(chunk.lower().split())
    return tuple(out)


def _contains(haystack: str, needle: str, latin: bool) -> bool:
    if needle not in haystack:
        return False
    if not latin:
        return True
    # whole words, allowing a plural / inflection suffix ("weld" ~ "welding", "bearings")
    pattern = r"(?<![a-z0-9])" + re.escape(needle) + r"(?:s|es|ed|ing|er|ers)?(?![a-z0-9])"
    return re.search(pattern, haystack) is not None


def _sub_seq(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return any(tuple(seq[i : i + n]) == tuple(part) for i in range(len(seq) - n + 1))


# Words so general that on their own they would match half of every list.
# fmt: off
_GENERIC = frozenset({
    "技术", "问题", "难题", "系统", "工程", "科学", "研究", "服务", "企业", "公司", "工厂", "工业",
    "行业", "产品", "应用", "其他", "方法", "项目", "需求", "帮助", "咨询", "专家", "合作",
    "technology", "technologies", "technical", "problem", "problems", "issue", "issues",
    "system", "systems", "engineering", "science", "research", "service", "services",
    "company", "industry", "product", "products", "application", "other", "method", "project",
    "help", "need", "expert",
})
# fmt: on


# Typo matches are discounted: one edit in a 6-letter word (83% similar) still passes the
# default cutoff, "coating" vs "casting" (two edits) does not.
_TYPO_WEIGHT = 0.92
_MIN_RUN_SIMILARITY = 0.85


@dataclass(frozen=True)
class _Key:
    text: str  # normalized
    cjk: bool  # has Chinese characters
    pinyin: tuple[str, ...]  # syllables, for keys with Chinese characters
    owner: int  # index of the entry it belongs to


@dataclass(frozen=True)
class _Corpus:
    keys: tuple[_Key, ...]
    texts: frozenset[str]
    # English keys of several words, cut into runs of n words: n -> (runs, key indices)
    runs: dict[int, tuple[list[str], list[int]]]


def _singular(text: str) -> str:
    """Crude singular of the last word, used as an extra key: cylinders -> cylinder."""
    head, _, last = text.rpartition(" ")
    if len(last) >= 5 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return f"{head} {last[:-1]}".strip()
    return text


def _build_corpus(entries: Sequence[tuple[str, ...]]) -> _Corpus:
    keys: list[_Key] = []
    for i, strings in enumerate(entries):
        seen: set[str] = set()
        for s in strings:
            k = _norm(s)
            for variant in (k, _singular(k)):
                if variant and variant not in seen:
                    seen.add(variant)
                    cjk = _has_cjk(variant)
                    keys.append(_Key(variant, cjk, _pinyin(variant) if cjk else (), i))
    runs: dict[int, tuple[list[str], list[int]]] = {}
    for i, key in enumerate(keys):
        words = key.text.split()
        if key.cjk or len(words) < 2:
            continue
        for n in range(1, len(words)):
            texts, owners = runs.setdefault(n, ([], []))
            for start in range(len(words) - n + 1):
                texts.append(" ".join(words[start : start + n]))
                owners.append(i)
    return _Corpus(tuple(keys), frozenset(k.text for k in keys), runs)


def _exact_score(q: str, q_cjk: bool, key: _Key) -> float:
    """Equality and containment, in either direction (no fuzziness)."""
    k = key.text
    if q == k:
        return 100.0
    latin = not q_cjk and not key.cjk
    min_len = 3 if latin else 2
    lq, lk = len(q), len(k)
    if min_len <= lk < lq and _contains(q, k, latin):
        return 85.0 + 10.0 * lk / lq  # a known term inside what the user typed
    if min_len <= lq < lk and _contains(k, q, latin):
        return 75.0 + 15.0 * lq / lk  # what the user typed is part of a longer term
    return 0.0


def _pinyin_score(q: str, q_py: tuple[str, ...], key: _Key) -> float:
    """Homophone typos from pinyin input ("焊截" for "焊接") and pinyin typed in Latin letters."""
    if len(key.pinyin) < 2:
        return 0.0
    if q_py:
        if q_py == key.pinyin:
            return 88.0
        # inside a longer text only for terms of 3+ syllables: 2-syllable homophones abound
        if len(key.pinyin) >= 3 and len(q_py) > len(key.pinyin) and _sub_seq(q_py, key.pinyin):
            return 80.0
        return 0.0
    flat = q.replace(" ", "")
    if len(flat) < 4 or not flat.isascii() or not flat.isalpha():
        return 0.0
    key_flat = "".join(key.pinyin)
    if flat == key_flat:
        return 88.0
    return fuzz.ratio(flat, key_flat) * 0.85 if len(flat) >= 6 else 0.0


@cache
def _vocabulary() -> str:
    """Every known term (names, terms, glossary), newline-joined for substring tests."""
    texts = set(_industry_corpus().texts) | set(_discipline_corpus().texts)
    texts.update(_glossary_index())
    return "\n".join(sorted(texts))


def _score_entries(text: str, corpus: _Corpus, cutoff: float) -> dict[int, float]:
    q = _norm(text)
    if not q or q in _GENERIC:
        return {}
    keys = corpus.keys
    q_cjk = _has_cjk(q)
    per_key: dict[int, float] = {}

    def offer(key_index: int, score: float) -> None:
        if score >= cutoff and score > per_key.get(key_index, 0.0):
            per_key[key_index] = score

    for i, key in enumerate(keys):
        offer(i, _exact_score(q, q_cjk, key))
    # a known term inside the typed text gives way to a longer known term around it: "injection
    # molding" is not about injections, nor "cemented carbide" about cement
    matched = [keys[i].text for i in per_key]
    for i in [i for i in per_key if len(keys[i].text) < len(q)]:
        if any(keys[i].text in t and keys[i].text != t for t in matched):
            del per_key[i]

    # typos (edit distance with transpositions) against keys of the same script, only when no
    # key matched as typed: else a correctly spelt word finds its one-letter neighbours too
    # ("injection molding" found "infection")
    same = [i for i, k in enumerate(keys) if k.cjk == q_cjk] if not per_key else []
    if same and len(q) >= (2 if q_cjk else 4):
        for _, score, j in process.extract(
            q,
            [keys[i].text for i in same],
            scorer=OSA.normalized_similarity,
            processor=None,
            limit=None,
            score_cutoff=cutoff / (100 * _TYPO_WEIGHT),
        ):
            offer(same[j], 100 * score * _TYPO_WEIGHT)
    # misspelt English words inside longer strings, compared run of words by run of words and
    # scored like the containment they stand for: "we need lazer welding" ~ "laser welding",
    # "desalinaton" ~ "seawater desalination"
    words = q.split()
    if same and not q_cjk and len(q) >= 5:
        for n in range(1, len(words)):
            idx = [i for i in same if keys[i].text.count(" ") + 1 == n and len(keys[i].text) >= 5]
            for run in (" ".join(words[s : s + n]) for s in range(len(words) - n + 1)):
                for _, sim, j in process.extract(
                    run,
                    [keys[i].text for i in idx],
                    scorer=OSA.normalized_similarity,
                    processor=None,
                    limit=None,
                    score_cutoff=_MIN_RUN_SIMILARITY,
                ):
                    lk = len(keys[idx[j]].text)
                    offer(idx[j], sim * (85.0 + 10.0 * lk / len(q)))
        texts, owners = corpus.runs.get(len(words), ([], []))
        for _, sim, j in process.extract(
            q,
            texts,
            scorer=OSA.normalized_similarity,
            processor=None,
            limit=None,
            score_cutoff=_MIN_RUN_SIMILARITY,
        ):
            lk = len(keys[owners[j]].text)
            offer(owners[j], sim * (75.0 + 15.0 * len(q) / lk))

    # pinyin, only when nothing matched and the text is not a correctly typed known word
    if not per_key and q not in _vocabulary():
        q_py = _pinyin(q) if q_cjk else ()
        for i, key in enumerate(keys):
            offer(i, _pinyin_score(q, q_py, key))

    # an entry matching several distinct keys ranks a little higher
    best: dict[int, float] = {}
    hits: dict[int, int] = {}
    for i, score in per_key.items():
        owner = keys[i].owner
        hits[owner] = hits.get(owner, 0) + 1
        best[owner] = max(best.get(owner, 0.0), score)
    return {o: sc + min(6.0, 2.0 * (hits[o] - 1)) for o, sc in best.items()}


_T = TypeVar("_T")


def _search(
    text: str,
    entries: Sequence[_T],
    corpus: _Corpus,
    limit: int,
    cutoff: float,
    tiebreak: Callable[[_T], Any],
) -> list[_T]:
    scores = _score_entries(text, corpus, cutoff)
    order = sorted(scores, key=lambda i: (-scores[i], tiebreak(entries[i]), i))
    return [entries[i] for i in order[: max(limit, 0)]]


def _strings(zh: str, en: str, *more: Iterable[str]) -> tuple[str, ...]:
    out = [zh, en]
    for m in more:
        out.extend(m)
    return tuple(out)


@cache
def _industry_corpus() -> _Corpus:
    return _build_corpus(
        [_strings(d.zh, d.en, d.terms_zh, d.terms_en) for d in industry_divisions()]
    )


@cache
def _discipline_corpus() -> _Corpus:
    return _build_corpus([_strings(d.zh, d.en, d.terms_zh, d.terms_en) for d in all_disciplines()])


def search_industries(
    text: str, limit: int = 5, score_cutoff: float = DEFAULT_SCORE_CUTOFF
) -> list[Industry]:
    """Divisions whose names or typical terms match ``text``, best first; [] for nonsense."""
    return _search(text, industry_divisions(), _industry_corpus(), limit, score_cutoff, lambda d: 0)


def search_disciplines(
    text: str, limit: int = 5, score_cutoff: float = DEFAULT_SCORE_CUTOFF
) -> list[Discipline]:
    """Disciplines whose names or typical terms match ``text``, best first; [] for nonsense.

    On equal scores a second-level discipline comes before its broader first-level one.
    """
    return _search(
        text, all_disciplines(), _discipline_corpus(), limit, score_cutoff, lambda d: -d.level
    )


_PHRASE_SEPARATORS = re.compile(r"[,，、;；\n]+")


def fields_for(text: str, per_phrase: int = FIELDS_PER_PHRASE) -> list[Discipline]:
    """The disciplines typed words stand for, the same whoever types them (an enterprise's
    demand, a specialist's profile), for each phrase between commas, 、, ; or line breaks.

    A phrase that is a discipline's name or term gives only the disciplines it is a name or
    term of; a broad discipline gives way to its sub-field when both matched; then the best
    ``per_phrase``. So "焊接" gives the sub-field it names, not a discipline one of whose
    longer terms merely contains it.
    """
    found: dict[str, Discipline] = {}
    for phrase in filter(None, (p.strip() for p in _PHRASE_SEPARATORS.split(text))):
        for d in _phrase_fields(phrase, per_phrase):
            found.setdefault(d.code, d)
    return list(found.values())


def _phrase_fields(phrase: str, limit: int) -> list[Discipline]:
    entries, corpus = all_disciplines(), _discipline_corpus()
    scores = _score_entries(phrase, corpus, DEFAULT_SCORE_CUTOFF)
    typed = _norm(phrase)
    named = {k.owner for k in corpus.keys if k.text == typed and k.owner in scores}
    kept = sorted(named or scores, key=lambda i: (-scores[i], -entries[i].level, i))
    matched = [entries[i] for i in kept]
    broad = {d.parent for d in matched}
    return [d for d in matched if d.code not in broad][: max(limit, 0)]
