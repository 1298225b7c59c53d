"""Cards as WeCom takes them: buttons that do the same thing (WeCom refuses a card whose keys
repeat, 40058) told apart, a click on either read as their token; a long text's card titled
as the member reads the text."""

from __future__ import annotations

from channels.wecom.channel import card_for, title_card
from channels.wecom.translate import token_of, translate
from handlers.core.events import Press

TOKEN = "Ab3_-xYz09Ab3_-xYz09Ab"  # shaped like a button token
OTHER = "Zz9_-aBc12Zz9_-aBc12Zz"


def test_a_two_page_list_whose_arrows_open_the_same_page_is_a_card_wecom_takes() -> None:
    body = {
        "text": "我的需求（共 6 个）",
        "keyboard": [[["‹", TOKEN], ["2/2", OTHER], ["›", TOKEN]]],
    }
    card = card_for(body, "task-1")
    assert card is not None
    keys = [button["key"] for button in card["button_list"]]
    assert len(set(keys)) == 3 and keys[:2] == [TOKEN, OTHER]
    assert [token_of(key) for key in keys] == [TOKEN, OTHER, TOKEN]


def test_a_click_on_the_repeated_button_is_a_press_of_its_token() -> None:
    event = translate(
        {
            "ToUserName": "corp",
            "FromUserName": "7122",
            "CreateTime": "1772413200",
            "MsgType": "event",
            "Event": "template_card_event",
            "EventKey": f"{TOKEN}~1",
            "TaskId": "task-1",
            "ResponseCode": "code-a",
            "AgentID": "1000002",
        }
    )
    assert event is not None and isinstance(event.body, Press)
    assert event.body.token == TOKEN


def test_keys_that_are_no_repeated_token_are_read_as_they_came() -> None:
    assert token_of("dmy:reason:12.solved") == "dmy:reason:12.solved"  # raw data, forged
    assert token_of(TOKEN) == TOKEN


def test_a_long_texts_card_is_titled_with_its_first_line_as_the_member_reads_it() -> None:
    """The text comes first, as plain text; the card after it, titled with its first line,
    keeps what the enterprise typed there ("<Q235>", "&") rather than reading it as markup."""
    text = "Uneven <Q235> plates & strips\n" + "Description: 钢结构件焊接后焊缝经常出现裂纹。" * 20
    card = title_card({"text": "(markup)", "keyboard": [[["✏️ Edit", TOKEN]]]}, text, "task-2")
    assert card["main_title"] == {"title": "Uneven <Q235> plates & strips"}
