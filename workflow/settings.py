"""Settings of the monitor and the scheduler, from a TOML file or keyword arguments."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DefinitionError

SETTINGS_ENV = "SSTRANSFER_SETTINGS"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Settings(BaseModel):
    """Every knob, with the defaults a back office starts from.

    ``sstransfer.toml``::

        [monitor]
        due_soon_days = 3          # alert when this many working days or fewer are left
        escalate_after_days = 5    # escalate when this many working days late
        scan_at = "08:30"          # China time, every working day
        report_day = "mon"
        report_at = "07:00"
        report_dir = "reports"
        report_formats = ["html", "xlsx", "csv"]
        max_days_ahead = 0         # a step dated later than today plus this is refused
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    due_soon_days: int = Field(default=3, ge=0, le=30)
    escalate_after_days: int = Field(default=5, ge=1, le=100)
    scan_at: dt.time = dt.time(8, 30)
    report_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    report_at: dt.time = dt.time(7, 0)
    report_dir: Path = Path("reports")
    report_formats: tuple[Literal["csv", "xlsx", "html"], ...] = ("html", "xlsx", "csv")
    lease_seconds: int = Field(default=900, ge=1, description="how long a crashed run blocks others")
    max_days_ahead: int = Field(default=0, ge=0, le=366,
                                description="how many days after today a step may be dated")

    @field_validator("scan_at", "report_at", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                raise ValueError(f"'{value}' is not a time of day such as '08:30'") from None
        return value

    @classmethod
    def load(cls, path: Path | str | None = None, **overrides: object) -> Settings:
        """Read ``[monitor]`` from a TOML file (or ``$SSTRANSFER_SETTINGS``), then apply overrides."""
        path = path or os.environ.get(SETTINGS_ENV)
        data: dict[str, object] = {}
        if path:
            try:
                data = dict(tomllib.loads(Path(path).read_text(encoding="utf-8")).get("monitor", {}))
            except OSError as exc:
                raise DefinitionError(path, f"cannot be read: {exc.strerror or exc}") from None
            except tomllib.TOMLDecodeError as exc:
                raise DefinitionError(path, f"is not valid TOML: {exc}") from None
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise DefinitionError(path or "settings", f"[monitor] {where}: {first['msg']}") from None


__all__ = ["Settings"]
