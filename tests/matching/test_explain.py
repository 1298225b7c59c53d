"""Reasons as data, rendered in either language from the PO catalogs."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from handlers.i18n import placeholders
from matching.explain import Wording, render
from matching.index import SpecialistIndex
from matching.types import DemandProfile, Reason
from tests.matching.conftest import GLOSSARY

LOCALES = Path(__file__).resolve().parents[2] / "locales"
WORDING = Wording(
    GLOSSARY,
    field_name=lambda code, locale: {"zh_CN": "材料科学与工程", "en": "Materials Science"}[locale],
    city_name=lambda name, locale: {"zh_CN": "鞍山", "en": "Anshan"}[locale],
)


def catalog(locale: str) -> dict[str, str]:
    with (LOCALES / locale / "LC_MESSAGES" / "matching.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_both_locales_have_every_reason_with_the_same_placeholders() -> None:
    chinese, english = catalog("zh_CN"), catalog("en")
    assert chinese.keys() == english.keys()
    for msgid in chinese:
        assert placeholders(chinese[msgid]) == placeholders(english[msgid]), msgid
    kinds = ("terms", "field", "meaning", "city", "same_city", "remote", "local")
    assert {f"reason.{kind}" for kind in kinds} == set(chinese)


def test_reasons_name_shared_terms_field_and_places(index: SpecialistIndex) -> None:
    demand = DemandProfile(
        id="d",
        title="焊缝开裂",
        description="钢结构电焊",
        fields=("0805",),
        city="鞍山",
        mode="onsite",
    )
    reasons = index.explain(demand, "weld")
    assert reasons[0] == Reason("terms", ("焊接",))
    assert Reason("field", ("0805",)) in reasons
    assert Reason("city", ("鞍山",)) in reasons
    assert Reason("local", ("大连",)) in reasons


def test_a_homophone_typo_is_explained_with_the_right_term(index: SpecialistIndex) -> None:
    reasons = index.explain(DemandProfile(id="d", title="汗接开裂"), "weld")
    assert reasons[0] == Reason("terms", ("焊接",))


def test_terms_render_in_the_readers_language() -> None:
    reason = Reason("terms", ("焊接", "无损检测"))
    assert render(reason, "zh_CN", WORDING) == ("reason.terms", {"terms": "焊接、无损检测"})
    assert render(reason, "en", WORDING) == (
        "reason.terms",
        {"terms": "welding, non-destructive testing"},
    )


def test_fields_and_cities_render_in_the_readers_language() -> None:
    assert render(Reason("field", ("0805",)), "en", WORDING) == (
        "reason.field",
        {"fields": "Materials Science"},
    )
    assert render(Reason("city", ("鞍山",)), "en", WORDING) == ("reason.city", {"city": "Anshan"})
    assert render(Reason("remote"), "zh_CN", WORDING) == ("reason.remote", {})
