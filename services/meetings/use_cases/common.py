"""What the meetings use cases share: their settings and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kit.service import Runtime
from kit.settings import Settings, SettingsError


@dataclass(frozen=True)
class Config:
    timezone: str = "Europe/Brussels"
    reminder_hour: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> Config:
        tz = settings.meetings_timezone
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"MEETINGS_TIMEZONE: unknown time zone {tz!r}") from None
        try:
            hour = settings.meetings_reminder_hour
            if not 0 <= hour <= 23:
                raise ValueError
        except ValueError:
            raise SettingsError("MEETINGS_REMINDER_HOUR: an hour from 0 to 23") from None
        return cls(tz, hour)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def now(rt: Runtime) -> datetime:
    """The runtime's clock (injectable in tests), in UTC."""
    return utc(rt.clock())
