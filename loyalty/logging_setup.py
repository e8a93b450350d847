"""Structured (one JSON object per line) logging, with card numbers scrubbed as a last resort.

The code never logs card numbers on purpose; the scrubber is the belt to those braces: any run
of 13-19 digits (optionally split by single spaces or dashes) that passes the Luhn check is
masked, whatever its prefix (a fuel or store card is as private as a bank card), also when it
stands next to other numbers.

What is not masked is a run that is part of an ordinary number: digits after a decimal point or
comma (Celery's ``0.0123456789012345s``), the integer part of a decimal, or a piece of a longer
run of digits.  A card number is never written as a fraction, so nothing private slips through.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping

# A run of digits, single spaces and dashes, not glued to a decimal point (the fraction or the
# integer part of an ordinary number) nor to more digits.
_DIGITS = re.compile(
    r"(?<!\d)(?<!\d\.)"
    r"(?:\d[ -]?){12,}\d"
    r"(?!\d)(?!\.\d)"
)
_GROUP = re.compile(r"\d+")
MASK = "[card number removed]"
_LONGEST_CHECKED = 1000  # characters of one run of digit groups


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_windows(run: str) -> list[tuple[int, int]]:
    """Where ``run`` holds card numbers: the leftmost, longest stretches of whole digit groups
    of 13-19 digits that pass Luhn.  Whole groups, because a quantity written next to a spaced
    card number (``2 4111 1111 1111 1111``) must not hide it."""
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        best, digits = None, ""
        for j in range(i, len(groups)):
            digits += run[groups[j][0]:groups[j][1]]
            if len(digits) > 19:  # bounded: a long run of short groups costs linear time
                break
            if len(digits) >= 13 and _luhn_ok(digits):
                best = j
        if best is None:
            i += 1
            continue
        windows.append((groups[i][0], groups[best][1]))
        i = best + 1
    return windows


def _mask_run(run: str) -> str:
    if len(run) > _LONGEST_CHECKED:
        return MASK  # no one writes numbers so; checking every window would cost too much
    out, last = [], 0
    for start, end in _card_windows(run):
        out += [run[last:start], MASK]
        last = end
    out.append(run[last:])
    return "".join(out)


def scrub(text: str) -> str:
    return _DIGITS.sub(lambda match: _mask_run(match.group()), text)


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
