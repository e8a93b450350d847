"""A till-shaped load generator: N tills, each identifying a card then committing a basket.

Threads with one keep-alive HTTP connection each; the work per request is small next to the
server's, so the client's share of the two cores stays modest.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class Till:
    token: str
    cards: list[str]
    member_ids: list[int] = field(default_factory=list)  # the cards' members, in the same order


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def basket_body(card: str, lines: int, currency: str, redeem: int) -> bytes:
    return json.dumps({
        "currency": currency,
        "card_number": card,
        "redeem_points": redeem,
        "lines": [{"sku": f"BENCH-{n:03d}", "quantity": 1 + n % 3, "unit_price_minor": 250 + n}
                  for n in range(lines)],
    }).encode()


def _one_till(host: str, port: int, till: Till, deadline: float, lines: int, currency: str,
              result: LoadResult, lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    auth = {"Authorization": f"Bearer {till.token}"}
    n = 0
    while time.perf_counter() < deadline:
        card = till.cards[n % len(till.cards)]
        n += 1
        started = time.perf_counter()
        status = _request(conn, "GET", f"/api/v1/cards/{card}", None, auth)
        if status == 200:
            body = basket_body(card, lines, currency, redeem=10)
            headers = {**auth, "Content-Type": "application/json",
                       "Idempotency-Key": uuid.uuid4().hex}
            status = _request(conn, "POST", "/api/v1/checkouts", body, headers)
        took = (time.perf_counter() - started) * 1000
        with lock:
            if status == 201:
                result.latencies_ms.append(took)
            else:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1
    conn.close()


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> int:
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0


def run_load(host: str, port: int, tills: list[Till], seconds: float, lines: int = 20,
             currency: str = "AED") -> LoadResult:
    result = LoadResult()
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds
    threads = [threading.Thread(target=_one_till, args=(host, port, t, deadline, lines, currency,
                                                        result, lock)) for t in tills]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed_s = time.perf_counter() - started
    return result


def histogram(values: list[float], buckets: int = 12, width: int = 50) -> str:
    """A text chart of the latency distribution, for people who'd rather look than read."""
    if not values:
        return "(no data)"
    top = sorted(values)[int(len(values) * 0.995) - 1] if len(values) > 200 else max(values)
    step = max(top / buckets, 0.001)
    counts = [0] * buckets
    for v in values:
        counts[min(buckets - 1, int(v / step))] += 1
    peak = max(counts)
    return "\n".join(
        f"{i * step:7.1f}-{(i + 1) * step:7.1f} ms |{'#' * round(c / peak * width):<{width}}| {c}"
        for i, c in enumerate(counts)
    )
