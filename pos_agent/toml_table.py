"""Typed reads of one TOML table, every error naming the entry: the agent's own tables
(:mod:`pos_agent.config`) and the printer's (:mod:`pos_agent.printing.config`) read their
values through :class:`TomlTable`, so a mistake reads the same wherever it is made::

    back_office.timeout_seconds: 0 is outside 0.1..60
    [printer] baudrate: must be a whole number
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """The configuration is missing something or holds a value that cannot be right."""


class TomlTable:
    """One table's values; ``prefix`` + key names an entry in errors (``"till."``,
    ``"[printer] "``)."""

    def __init__(self, values: Mapping[str, Any], prefix: str) -> None:
        self.values, self.prefix = values, prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def refuse_unknown(self, known: frozenset[str]) -> None:
        """A key not in ``known`` is a mistake (a misspelt key would leave its default)."""
        unknown = sorted(set(self.values) - known)
        if unknown:
            raise ConfigError(f"{self.name(unknown[0])}: unknown key; expected some of "
                              f"{', '.join(sorted(known))}")

    def text(self, key: str, *, required: bool = False, empty: bool = True) -> str:
        """The string, stripped; "" when absent.  ``empty=False`` refuses a blank one."""
        value = self.values.get(key)
        if value is None:
            if required:
                raise ConfigError(f"{self.name(key)}: required")
            return ""
        if not isinstance(value, str):
            raise ConfigError(f"{self.name(key)}: must be a string")
        if (required or not empty) and not value.strip():
            raise ConfigError(f"{self.name(key)}: must not be empty")
        return value.strip()

    def whole(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.name(key)}: must be a whole number")
        return self._within(key, value, low, high)

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.name(key)}: must be a number")
        return float(self._within(key, value, low, high))

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.name(key)}: must be true or false")
        return value

    def _within(self, key: str, value: Any, low: float, high: float) -> Any:
        if not low <= value <= high:
            raise ConfigError(f"{self.name(key)}: {value} is outside {low}..{high}")
        return value
