"""A button's label typed, with or without its emoji, is that button."""

from __future__ import annotations

import pytest

from handlers.core.capabilities import choice_for
from handlers.core.views import Button

CONSENT = [Button("✅ 同意", "yes"), Button("不同意", "no"), Button("English", "en")]
FIELDS = [
    Button("✅ 机械制造工艺与设备", "f1"),
    Button("‹", "prev"),
    Button("1/2", "page"),
    Button("›", "next"),
    Button("✔ 选好了", "done"),
    Button("◀ 上一步", "back"),
    Button("✖ 取消", "cancel"),
]

ROLES = [Button("🏭 企业（提出技术需求）", "ent"), Button("🎓 科技特派员（提供技术服务）", "spe")]
ROLES_EN = [
    Button("🏭 Enterprise (has a technical problem)", "ent"),
    Button("🎓 Specialist (offers expertise)", "spe"),
]

URGENCY = [
    Button("Urgent (within a month)", "high"),
    Button("Normal (within three months)", "normal"),
    Button("Not urgent", "low"),
]


@pytest.mark.parametrize(
    ("buttons", "typed", "data"),
    [
        (CONSENT, "✅ 同意", "yes"),
        (CONSENT, "同意", "yes"),  # without its emoji
        (CONSENT, "不同意", "no"),  # not taken for "同意"
        (CONSENT, "english", "en"),
        (FIELDS, "选好了", "done"),
        (FIELDS, "上一步", "back"),
        (FIELDS, " 取消 ", "cancel"),
        ([Button("✅ 确认提交", "ok"), Button("✖ 取消", "cancel")], "确认提交", "ok"),
        ([Button("Done ✔", "done")], "done", "done"),
        (ROLES, "企业", "ent"),  # without what the brackets add
        (ROLES, "科技特派员", "spe"),
        (ROLES_EN, "enterprise", "ent"),
        (ROLES_EN, "Specialist", "spe"),
        (URGENCY, "urgent", "high"),  # not "Not urgent", which the words are also in
    ],
)
def test_a_label_typed_is_its_button(buttons: list[Button], typed: str, data: str) -> None:
    found = choice_for(buttons, False, typed)
    assert found is not None and found.data == data


@pytest.mark.parametrize(
    ("buttons", "typed"),
    [
        (FIELDS, "12"),  # a number typed is an answer, not the pager's "1/2"
        (FIELDS, "选好"),  # a part of a label is for the form to read
        (FIELDS, "✅"),  # no letters left
        ([Button("✅ 是", "a"), Button("是", "b")], "是！"),  # two buttons read alike
        ([Button("半年（至 2027-06-10）", "a"), Button("半年（至 2027-07-01）", "b")], "半年"),
    ],
)
def test_other_text_is_no_button(buttons: list[Button], typed: str) -> None:
    assert choice_for(buttons, False, typed) is None
