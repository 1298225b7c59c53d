"""Glossary concepts: both languages, lay words, homophone typos."""

from __future__ import annotations

from matching.concepts import ConceptMatcher
from matching.text import Stream, english_tokens, normalise
from tests.matching.conftest import GLOSSARY


def concepts(text: str, *, typos: bool = False) -> dict[str, float]:
    matcher = ConceptMatcher(GLOSSARY)
    normalised = normalise(text)
    words = Stream.of_words([[key for _, key in english_tokens(normalised)]])
    found = matcher.find(Stream.of_texts([normalised]), words, typos=typos).bag
    weights: dict[str, float] = {}
    for key, weight in zip(found.key.tolist(), found.weight.tolist(), strict=True):
        name = GLOSSARY[key].zh[0]
        weights[name] = weights.get(name, 0) + weight
    return weights


def test_chinese_lay_word_and_english_synonym_give_the_same_concept() -> None:
    assert set(concepts("设备生锈了")) == {"腐蚀"}
    assert set(concepts("Rust on the offshore platform")) == {"腐蚀"}
    assert set(concepts("Non-destructive testing of welds")) == {"无损检测", "焊接"}


def test_homophone_typo_finds_the_concept_at_a_lower_weight() -> None:
    assert concepts("汗接的地方裂了") == {}
    typo = concepts("汗接的地方裂了", typos=True)
    assert set(typo) == {"焊接"}
    assert 0 < typo["焊接"] < 1


def test_a_real_word_of_the_same_sound_is_no_typo() -> None:
    # 结构 (structure) sounds like 结垢 (fouling) but is a word of its own.
    assert "结垢" not in concepts("钢结构件", typos=True)


def test_coverage_is_the_share_of_text_in_glossary_terms() -> None:
    matcher = ConceptMatcher(GLOSSARY)
    found = matcher.find(Stream.of_texts(["探伤探伤"]), Stream.of_words([[]]))
    assert found.covered.sum() == 4
