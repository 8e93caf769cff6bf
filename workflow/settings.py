"""Settings of the monitor and the scheduler, from a TOML file or keyword arguments.

Types are strict (``scan_at = 830`` is not a time, ``lease_seconds = 1e20`` not a number of
seconds), every number is bounded, and an unknown table or key is refused: a misspelt
setting must not silently fall back to its default. Every refusal is a :class:`SettingsError`
of one line naming the file, the key and the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from .core.textfile import UnknownEncoding, decode_text
from .errors import SettingsError

SETTINGS_ENV = "SSTRANSFER_SETTINGS"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HH_MM = re.compile(r"\d\d:\d\d")


class Settings(BaseModel):
    """Every knob, with the defaults a back office starts from.

    ``sstransfer.example.toml`` (at the top of the repository) documents each one; a settings
    file holds the tables ``[monitor]``, ``[cases]``, ``[database]``, ``[reports]``, ``[api]`` and
    ``[notify]`` (see
    :data:`TABLES`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    due_soon_days: Annotated[StrictInt, Field(ge=0, le=30)] = 3
    escalate_after_days: Annotated[StrictInt, Field(ge=1, le=100)] = 5
    scan_at: dt.time = dt.time(8, 30)
    report_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    report_at: dt.time = dt.time(7, 0)
    report_dir: Path = Path("reports")
    report_formats: Annotated[tuple[Literal["csv", "xlsx", "html"], ...],
                              Field(min_length=1)] = ("html", "xlsx", "csv")
    lease_seconds: Annotated[StrictInt, Field(
        ge=1, le=86_400, description="how long a crashed run blocks others")] = 900
    max_days_ahead: Annotated[StrictInt, Field(
        ge=0, le=366, description="how many days after today a step may be dated")] = 0
    earliest_business_date: dt.date = Field(
        default=dt.date(1986, 1, 1), description="no step is dated before this day")
    lock_timeout_seconds: Annotated[float, Field(gt=0, le=3600, strict=True)] = 10
    statement_timeout_seconds: Annotated[float, Field(ge=0, le=86_400, strict=True)] = 300
    pool_size: Annotated[StrictInt, Field(
        ge=1, le=1000, description="database connections each process keeps open; a call "
                                   "that finds them all busy waits for one, at most "
                                   "lock_timeout_seconds")] = 10
    language: Literal["zh", "en"] = Field(
        default="zh", description="the language of the reports: Chinese (default) or English")
    report_issuer: Annotated[str, Field(
        max_length=100, description="the unit a report names as its issuer (制表单位); empty: "
                                    "the agency or province the report covers")] = ""
    jwt_key_file: Path | None = Field(
        default=None, description="the identity provider's key (PEM public key, or a shared "
                                  "secret for HS256); unset: API tokens only")
    jwt_algorithms: Annotated[tuple[Literal["RS256", "ES256", "EdDSA", "HS256"], ...],
                              Field(min_length=1)] = ("RS256",)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    progress_window_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] = 15
    progress_tries_per_client: Annotated[StrictInt, Field(ge=1, le=10_000)] = 20
    progress_free_failures: Annotated[StrictInt, Field(
        ge=1, le=1000, description="wrong ID numbers one client may give for one case "
                                   "number before it must wait")] = 3
    progress_backoff_seconds: Annotated[StrictInt, Field(
        ge=1, le=3600, description="the first wait, doubled each further failure up to "
                                   "progress_window_minutes")] = 30
    session_idle_minutes: Annotated[StrictInt, Field(
        ge=1, le=1440, description="a dashboard sign-in unused this long ends")] = 30
    session_hours: Annotated[StrictInt, Field(
        ge=1, le=168, description="a dashboard sign-in ends this long after it began")] = 10
    trusted_proxies: tuple[Annotated[str, Field(pattern=r"^[0-9A-Fa-f.:/]{2,64}$")], ...] = ()
    token_cache_seconds: Annotated[float, Field(
        ge=0, le=60, strict=True,
        description="an API token's principal is kept this long per process (0: never): "
                    "a token revoked elsewhere is refused at most this long after")] = 5
    max_body_bytes: Annotated[StrictInt, Field(ge=1024, le=64 * 2**20)] = 64 * 1024
    max_import_bytes: Annotated[StrictInt, Field(ge=1024, le=2**30)] = 16 * 2**20
    max_import_rows: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 10_000
    # [notify]: the outbox's channels and delivery
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=120, strict=True)] = 5
    smtp_host: str | None = None
    smtp_port: Annotated[StrictInt, Field(ge=1, le=65_535)] = 25
    smtp_starttls: StrictBool = False
    smtp_user: str | None = None
    smtp_password_file: Path | None = None
    smtp_from: str | None = None
    smtp_timeout_seconds: Annotated[float, Field(gt=0, le=300, strict=True)] = 10
    sms_adapter: str | None = Field(
        default=None, description='"package.module:factory": the agency\'s SMS adapter')
    outbox_max_attempts: Annotated[StrictInt, Field(ge=1, le=100)] = 8
    outbox_backoff_seconds: Annotated[float, Field(gt=0, le=86_400, strict=True)] = 30
    outbox_backoff_max_seconds: Annotated[float, Field(gt=0, le=7 * 86_400, strict=True)] = 3600
    outbox_every_seconds: Annotated[StrictInt, Field(ge=1, le=86_400)] = 60
    outbox_workers: Annotated[StrictInt, Field(ge=1, le=64)] = 4

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _refusal(exc, "Settings(...)") from None

    @field_validator("scan_at", "report_at", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        """A time of day in China: "HH:MM" (or a TOML local time on the minute)."""
        if isinstance(value, str) and _HH_MM.fullmatch(value):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, dt.time) and value.tzinfo is None and not (
                value.second or value.microsecond):
            return value
        raise ValueError(f'must be a time of day in China as "HH:MM" (in quotes), such as '
                         f'"08:30", not {_short(value)}')

    @field_validator("report_dir", mode="before")
    @classmethod
    def _folder(cls, value: object) -> object:
        if not isinstance(value, (str, Path)) or not str(value).strip() or "\0" in str(value):
            raise ValueError(f"must be a folder name in quotes, not {_short(value)}")
        return value

    @field_validator("smtp_host", "smtp_user", "smtp_from", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not value.strip()
                                  or not value.isprintable() or len(value) > 320):
            raise ValueError(f"must be text in quotes, not {_short(value)}")
        return value

    @field_validator("sms_adapter", mode="before")
    @classmethod
    def _adapter(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not re.fullmatch(
                r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", value)):
            raise ValueError('must name a factory as "package.module:name", not '
                             f"{_short(value)}")
        return value

    @model_validator(mode="after")
    def _smtp_sender(self) -> Settings:
        if self.smtp_host is not None and self.smtp_from is None:
            raise ValueError("smtp_from (the address mail is sent from) is needed with "
                             "smtp_host and was not given")
        return self

    @field_validator("jwt_key_file", "smtp_password_file", mode="before")
    @classmethod
    def _file(cls, value: object) -> object:
        if value is not None and (not isinstance(value, (str, Path)) or not str(value).strip()
                                  or "\0" in str(value)):
            raise ValueError(f"must be a file name in quotes, not {_short(value)}")
        return value

    @classmethod
    def load(cls, path: Path | str | None = None, **overrides: object) -> Settings:
        """Read ``[monitor]``, ``[cases]``, ``[database]`` and ``[reports]`` from a TOML file
        (or ``$SSTRANSFER_SETTINGS``), then apply overrides.

        The file may be UTF-8 (with or without BOM), UTF-16 with BOM or GB18030/GBK.
        """
        path = path or os.environ.get(SETTINGS_ENV)
        data: dict[str, object] = {}
        if path:
            data = _read(Path(path))
        given = {k: v for k, v in overrides.items() if v is not None}
        data.update(given)
        try:
            return cls(**data)
        except SettingsError as exc:  # name the file, or the keyword argument, instead
            if not path or (exc.key or "").split(".")[0] in given:
                raise SettingsError("Settings.load()", exc.key, exc.problem) from None
            field = (exc.key or "").split(".")[0]
            raise SettingsError(path, f"[{_TABLE_OF.get(field, 'monitor')}] {exc.key}",
                                exc.problem) from None


def _read(path: Path) -> dict[str, object]:
    """The settings of a file's tables, each key checked to stand in its own table."""
    try:
        text = decode_text(path.read_bytes())
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL in the name
        reason = str(exc) if isinstance(exc, UnknownEncoding) else \
            f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
        raise SettingsError(path, None, reason) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(path, None, f"is not valid TOML: {exc}") from None
    except RecursionError:
        raise SettingsError(path, None, "is not valid TOML: nested too deeply") from None
    data: dict[str, object] = {}
    for name, table in document.items():
        if name not in TABLES:
            what = "table" if isinstance(table, dict) else "key"
            raise SettingsError(path, name, f"unknown {what}: a settings file has the tables "
                                            f"{', '.join(f'[{t}]' for t in TABLES)}")
        if not isinstance(table, dict):
            raise SettingsError(path, name, f"must be a table ([{name}]), not {_short(table)}")
        for key, value in table.items():
            if _TABLE_OF.get(key) != name:
                raise SettingsError(path, f"[{name}] {key}",
                                    f"unknown key; the keys are {', '.join(TABLES[name])}")
            data[key] = value
    return data


def _refusal(exc: ValidationError, source: str) -> SettingsError:
    """The first problem of a validation error, as one line naming the key and the reason."""
    first = exc.errors()[0]
    key = ".".join(map(str, first["loc"])) or None
    if first["type"] == "extra_forbidden":
        reason = f"unknown key; the keys are {', '.join(Settings.model_fields)}"
    else:
        reason = first["msg"].removeprefix("Value error, ")
        if "not " not in reason:
            reason += f", not {_short(first.get('input'))}"
    return SettingsError(source, key, reason)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


#: The tables of a settings file and the settings each holds.
_ELSEWHERE = {"cases": ("max_days_ahead", "earliest_business_date"),
              "database": ("lock_timeout_seconds", "statement_timeout_seconds", "pool_size"),
              "reports": ("language", "report_issuer"),
              "api": ("jwt_key_file", "jwt_algorithms", "jwt_audience", "jwt_issuer",
                      "progress_window_minutes", "progress_tries_per_client",
                      "progress_free_failures", "progress_backoff_seconds",
                      "session_idle_minutes", "session_hours", "token_cache_seconds",
                      "max_body_bytes", "max_import_bytes", "max_import_rows",
                      "trusted_proxies"),
              "notify": ("webhook_timeout_seconds", "smtp_host", "smtp_port", "smtp_starttls",
                         "smtp_user", "smtp_password_file", "smtp_from", "smtp_timeout_seconds",
                         "sms_adapter", "outbox_max_attempts", "outbox_backoff_seconds",
                         "outbox_backoff_max_seconds", "outbox_every_seconds",
                         "outbox_workers")}
TABLES: dict[str, tuple[str, ...]] = {
    "monitor": tuple(k for k in Settings.model_fields
                     if not any(k in keys for keys in _ELSEWHERE.values())),
    **_ELSEWHERE,
}
_TABLE_OF = {key: table for table, keys in TABLES.items() for key in keys}

__all__ = ["Settings"]
