"""Structured (one JSON object per line) logging, with card numbers scrubbed as a last resort.

The code never logs card numbers on purpose; the scrubber is the belt to those braces: any run
of 13-19 digits (optionally split by spaces or dashes) that passes the Luhn check is masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping

_DIGITS = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def scrub(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[card number removed]" if _luhn_ok(digits) else match.group()

    return _DIGITS.sub(mask, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        if record.exc_info:
            body["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)


class RoutineTaskFilter(logging.Filter):
    """Drops Celery's INFO lines about routine periodic tasks: beat's "Sending due task", the
    worker's "received" and "succeeded".  The outbox relay runs every two seconds, so idle
    processes would print three lines every two seconds and bury everything else; the relay
    logs for itself when it delivers something, and warnings and errors always pass."""

    def __init__(self, task_names: Iterable[str]) -> None:
        super().__init__()
        self.task_names = frozenset(task_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith("celery."):
            return True
        # Celery passes the task's name as an argument: a dict for the worker's lines
        # ("Task %(name)s[%(id)s] received"), a tuple for beat's.
        args = record.args.values() if isinstance(record.args, Mapping) else record.args or ()
        return not any(isinstance(arg, str) and arg in self.task_names for arg in args)


def quiet_routine_tasks(task_names: Iterable[str]) -> None:
    """Filter :class:`RoutineTaskFilter` into the JSON handler that configure_logging set up
    (a handler's filter also sees what child loggers propagate, a logger's would not)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter) and not any(
                isinstance(f, RoutineTaskFilter) for f in handler.filters):
            handler.addFilter(RoutineTaskFilter(task_names))
