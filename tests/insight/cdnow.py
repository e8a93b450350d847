"""The CDNOW sample (2,357 customers' CD purchases, 1997-98) as shipped by ``lifetimes``."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections import defaultdict
from pathlib import Path

CALIBRATION_END = dt.date(1997, 9, 30)
# Fader, Hardie and Lee (2005), "Counting your customers the easy way", table 1 / section 5.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def sample_path() -> Path:
    path = importlib.metadata.distribution("lifetimes").locate_file(
        "lifetimes/datasets/CDNOW_sample.txt")
    return Path(str(path))


def transactions() -> list[tuple[str, dt.date, int]]:
    """(customer, date, amount in cents), one per line of the file."""
    rows = []
    for line in sample_path().read_text().splitlines():
        customer, _new_id, day, _cds, dollars = line.split()
        amount = round(float(dollars) * 100)
        rows.append((customer, dt.datetime.strptime(day, "%Y%m%d").date(), amount))
    return rows


def summary(end: dt.date = CALIBRATION_END) -> tuple[list[float], ...]:
    """x, t_x, age in weeks and mean repeat-day spend, per customer, counted by purchase day."""
    days: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for customer, day, amount in transactions():
        if day <= end:
            days[customer][day] += amount
    x, t_x, age, mean = [], [], [], []
    for spent in days.values():
        ordered = sorted(spent)
        x.append(len(ordered) - 1)
        t_x.append((ordered[-1] - ordered[0]).days / 7)
        age.append((end - ordered[0]).days / 7)
        repeat = [spent[d] for d in ordered[1:]]
        mean.append(sum(repeat) / len(repeat) if repeat else 0.0)
    return x, t_x, age, mean
