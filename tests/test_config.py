"""Settings: defaults, parsing, and one clear line per bad variable (never the token)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import WECOM_REQUIRED, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "BOT_TIMEZONE",
        "COORDINATOR_IDS",
        "DEFAULT_LOCALE",
        "DIGEST_TIME",
        "MATCH_TIMES",
        *WECOM_REQUIRED,
        "FEISHU_APP_ID",
        "FEISHU_APP_SECRET",
        "FEISHU_ENCRYPT_KEY",
        "FEISHU_MODE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.telegram_bot_token is None
    assert settings.bot_timezone == "Asia/Shanghai"
    assert settings.digest_time == dt.time(8, 30)
    assert settings.match_times == (dt.time(9), dt.time(15))
    assert settings.coordinator_ids == frozenset()


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text(
        "COORDINATOR_IDS=11, wecom:zhang.san, feishu:ou_7d8a6e\nMATCH_TIMES=07:05,21:30\n"
    )
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    settings = load_settings()
    assert settings.coordinator_ids == frozenset(
        {("telegram", "11"), ("wecom", "zhang.san"), ("feishu", "ou_7d8a6e")}
    )
    assert settings.match_times == (dt.time(7, 5), dt.time(21, 30))
    assert settings.default_locale == "en"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DIGEST_TIME", "8.30", "HH:MM"),
        ("BOT_TIMEZONE", "Mars/Base", "IANA time zone"),
        ("COORDINATOR_IDS", "12,abc", "a Telegram user id is a number"),
        ("COORDINATOR_IDS", "12,slack:ann", "platform:id entries (telegram, wecom"),
        ("DEFAULT_LOCALE", "fr", "zh_CN, en"),
        ("DATABASE_URL", "mysql://x", "sqlite"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}: ")
    assert says in str(error.value)
    assert "\n" not in str(error.value)


def test_a_bad_token_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "oops-secret-value")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "TELEGRAM_BOT_TOKEN" in str(error.value)
    assert "oops-secret-value" not in str(error.value)


def test_the_token_is_hidden_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456:" + "A" * 35
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    settings = load_settings()
    assert token not in repr(settings) and token not in str(settings.model_dump())


def test_a_half_configured_wecom_app_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECOM_CORP_ID", "ww0123456789abcdef")
    monkeypatch.setenv("WECOM_SECRET", "s3cr3t-value")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "WECOM_AGENT_ID, WECOM_TOKEN, WECOM_AES_KEY must be set too" in str(error.value)
    assert "s3cr3t-value" not in str(error.value)


def test_a_wecom_aes_key_must_be_the_consoles_43_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WECOM_AES_KEY", "too-short")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith("WECOM_AES_KEY: expected the 43-character EncodingAESKey")
    assert "too-short" not in str(error.value)


def test_feishu_needs_its_secret_and_a_webhook_needs_the_encrypt_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEISHU_APP_ID", "cli_a1b2c3")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "FEISHU_APP_ID and FEISHU_APP_SECRET" in str(error.value)
    monkeypatch.setenv("FEISHU_APP_SECRET", "s3cr3t-value")
    settings = load_settings()
    assert settings.feishu_mode == "long_connection"  # no public address needed
    assert settings.feishu_domain == "https://open.feishu.cn"
    monkeypatch.setenv("FEISHU_MODE", "webhook")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "FEISHU_MODE=webhook needs FEISHU_ENCRYPT_KEY" in str(error.value)
    assert "s3cr3t-value" not in str(error.value)
    monkeypatch.setenv("FEISHU_MODE", "websocket")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith("FEISHU_MODE:")
