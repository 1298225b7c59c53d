"""The message ids the enterprise and demand forms hold in their Field definitions (which the
catalog test's extraction cannot see) exist in every locale with the placeholders they are given."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from handlers.demands import DEMAND, REGISTER_FIRST
from handlers.enterprise import REGISTRATION
from handlers.form import Form
from handlers.i18n import SUPPORTED_LOCALES, placeholders, read_catalogs

CATALOGS = read_catalogs()
# What the questions' parameters read of the person: today, for the examples of dates.
ACTOR: Any = SimpleNamespace(services=SimpleNamespace(today=lambda: dt.date(2026, 3, 2)))
FORMS = [REGISTRATION, REGISTER_FIRST, DEMAND]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.flow)
def test_every_question_label_and_summary_is_translated(locale: str, form: Form) -> None:
    ids = {form.summary} | {f.prompt for f in form.fields} | {f.label for f in form.fields}
    assert not ids - set(CATALOGS[locale]), sorted(ids - set(CATALOGS[locale]))
    assert not placeholders(CATALOGS[locale][form.summary])
    assert not any(placeholders(CATALOGS[locale][f.label]) for f in form.fields)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.flow)
def test_questions_get_the_values_their_texts_name(form: Form) -> None:
    for field in form.fields:
        given = set(field.prompt_params(ACTOR, {})) if field.prompt_params else set()
        for locale in SUPPORTED_LOCALES:
            assert placeholders(CATALOGS[locale][field.prompt]) == given, (locale, field.name)


def test_the_flows_are_distinct() -> None:
    assert len({form.flow for form in FORMS}) == len(FORMS)
