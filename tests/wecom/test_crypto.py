"""WeCom's callback cryptography against the examples in WeCom's own documentation and
samples (the WXBizMsgCrypt samples: corp wx5823bf96d3bd56c7, token QDG6eK)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from channels.wecom.crypto import CryptoError, WeComCrypto

DOCUMENTED = WeComCrypto(
    "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
)
# The URL check: GET ...?msg_signature=5c45...&timestamp=1409659589&nonce=263014780&echostr=P9nA...
ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
# A message callback: POST ...?msg_signature=4777...&timestamp=1409659813&nonce=1372623149
MESSAGE = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLj"
    "vd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMn"
    "vw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k"
    "22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yoy"
    "yH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def test_the_documented_url_check_decrypts_to_the_documented_echo() -> None:
    DOCUMENTED.check("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", ECHO)
    assert DOCUMENTED.decrypt(ECHO) == "1616140317555161061"


def test_the_documented_message_callback_is_a_text_message_for_the_corp() -> None:
    DOCUMENTED.check(
        "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", MESSAGE
    )
    xml = ET.fromstring(DOCUMENTED.decrypt(MESSAGE))
    assert xml.findtext("ToUserName") == "wx5823bf96d3bd56c7"
    assert xml.findtext("MsgType") == "text"
    assert xml.findtext("MsgId")


def test_what_the_emulator_encrypts_the_bot_reads_back() -> None:
    text = "<xml><Content><![CDATA[铸件有气孔]]></Content></xml>" * 7  # crosses blocks
    assert DOCUMENTED.decrypt(DOCUMENTED.encrypt(text)) == text


@pytest.mark.parametrize(
    "forged",
    [
        "not base64!",
        "QUJD",  # not whole blocks
        WeComCrypto("t", "a" * 43, "wx5823bf96d3bd56c7").encrypt("hi"),  # another key
        WeComCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "other").encrypt("x"),
    ],
)
def test_a_forged_ciphertext_is_refused(forged: str) -> None:
    with pytest.raises(CryptoError):
        DOCUMENTED.decrypt(forged)


def test_a_wrong_signature_is_refused() -> None:
    with pytest.raises(CryptoError):
        DOCUMENTED.check("0" * 40, "1409659589", "263014780", ECHO)


def test_a_key_that_is_not_wecoms_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="43-character"):
        WeComCrypto("t", "short", "corp")
