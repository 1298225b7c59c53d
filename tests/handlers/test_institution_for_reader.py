"""A listed institution is named in the reader's language where a specialist is shown to an
enterprise: the candidate card and the other side of an engagement (the digest already did)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from handlers import contact_exchange
from handlers.engagement_views import LocaleReader, counterpart
from handlers.i18n import Catalogs
from handlers.proposal_views import candidate_card

CATALOGS = Catalogs.load("zh_CN")


def _specialist(institution: str) -> Any:
    return SimpleNamespace(
        name="李明", title=None, institution=institution, disciplines=[], team=[]
    )


@pytest.mark.parametrize(
    ("locale", "stored", "shown"),
    [
        ("en", "大连理工大学", "Dalian University of Technology"),
        ("zh_CN", "Dalian University of Technology", "大连理工大学"),
        ("zh_CN", "大连理工大学", "大连理工大学"),
        ("en", "某某研究所", "某某研究所"),  # not listed: as spelled
    ],
)
def test_the_institution_in_the_readers_language(locale: str, stored: str, shown: str) -> None:
    reader = LocaleReader(CATALOGS, locale)
    specialist = _specialist(stored)
    card: Any = SimpleNamespace(specialist=specialist, enterprise=SimpleNamespace(name="x"))
    assert shown in counterpart(reader, card, "enterprise")
    ctx: Any = SimpleNamespace(
        specialist=specialist,
        demand=SimpleNamespace(title="Weld cracks"),
        proposal=SimpleNamespace(reasons=[]),
    )
    assert shown in candidate_card(reader, cast(Any, ctx))


def test_the_contacts_name_the_institution_in_the_readers_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []

    async def notify(svc: Any, user_id: int, text: str, *args: Any) -> bool:
        sent.append(text)
        return True

    monkeypatch.setattr(contact_exchange, "notify", notify)
    monkeypatch.setattr(
        contact_exchange, "reader_for", lambda svc, user: LocaleReader(CATALOGS, user.locale)
    )
    specialist = SimpleNamespace(name="李明", institution="大连理工大学", phone="+8613900001002")
    card: Any = SimpleNamespace(
        specialist=specialist,
        enterprise=SimpleNamespace(name="Ocean", contact_name="Peter", phone="+8613804112233"),
        owner=SimpleNamespace(id=1, locale="en"),
        specialist_user=SimpleNamespace(id=2, locale="zh_CN"),
        demand=SimpleNamespace(title="Weld cracks"),
    )
    asyncio.run(contact_exchange.send_contacts(cast(Any, None), card))
    assert "Dalian University of Technology" in sent[0]
