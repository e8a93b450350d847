"""The agent: the one place that wires devices, the till session, the outbox and the screen.

    readers (threads) --RawScan--> classify --Scan--> TillSession <-- local API (threads)
                                                        |  \\--> display (redrawn on change)
                                                        v
                                      outbox --(sync thread: replay with backoff)--> back office
                                      cache  <--(sync thread: catalog, public key)--

Invariants:

- The text of a scan is handed to :func:`pos_agent.scans.classify` and to nothing else: log
  lines name the device and the kind of scan, never what was read.
- The sync thread is the only background writer; it backs off as the outbox says
  (:meth:`Outbox.due`) and never holds the session's lock.
- SIGTERM or SIGINT stops the readers, the local API and the sync thread, then closes the
  outbox and the cache (a sale mid-commit is already durable in the outbox).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from pos_agent.cache import Cache
from pos_agent.client import BackOffice, BackOfficeError
from pos_agent.config import AgentConfig
from pos_agent.display import TerminalDisplay
from pos_agent.local_api import LocalApi
from pos_agent.outbox import HEARTBEAT_S, Outbox
from pos_agent.readers import RawScan, Reader, Rejected, open_readers
from pos_agent.readers.config import start_readers
from pos_agent.scans import Junk, classify
from pos_agent.till import Sale, TillSession, TillSettings

log = logging.getLogger(__name__)

SYNC_TICK_S = 1.0  # how often the sync thread looks at the outbox's backoff clock

# The printer's slip and printer, handed to whoever wants to see it (the simulator).
SlipSink = Callable[[Any, Any], None]


class Agent:
    """One lane's agent.  ``start()`` then ``stop()``; or ``run()`` until a signal."""

    def __init__(self, config: AgentConfig, *, display: TextIO | None = None,
                 slip_sink: SlipSink | None = None, readers: bool = True,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.config = config
        self.heartbeat_s = heartbeat_s  # the longest the sync thread goes without a contact
        self.client = BackOffice(config.back_office_url, config.till_token, config.timeout)
        self.outbox = Outbox(config.outbox_path, lanes=config.replay_lanes)
        self.cache = Cache(config.cache_path)
        self.slip_sink = slip_sink
        self.display = (TerminalDisplay(display, title=_title(config))
                        if display is not None else None)
        self.session = TillSession(
            client=self.client, outbox=self.outbox, cache=self.cache,
            print_slip=self._print_slip,
            settings=TillSettings(
                currency=config.currency, card_prefix=config.card_prefix,
                card_length=config.card_length, commit_timeout=config.timeout,
                offline_redeem_cap=config.offline_redeem_cap,
                member_max_age=dt.timedelta(hours=config.member_max_age_hours)),
            on_change=self.display,
        )
        try:
            self.local_api = LocalApi(self.session, config.local_token,
                                      port=config.local_api_port, status=self.status)
        except OSError:  # the port is taken: leave nothing open behind
            self.outbox.close()
            self.cache.close()
            raise
        self.readers: list[Reader] = (open_readers(config.devices, self.on_scan, self.on_reject,
                                                   self.on_device)
                                      if readers else [])
        self.device_states: dict[str, str] = {r.name: "starting" for r in self.readers}
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._catalog_due = 0.0
        self._heard_at = 0.0  # monotonic time of the sync thread's last call to the back office

    # --- devices ------------------------------------------------------------------------------

    def on_scan(self, raw: RawScan) -> None:
        """A device thread's scan: classify it and hand it to the session (never raises)."""
        try:
            scan = classify(raw.text, card_prefix=self.config.card_prefix,
                            card_length=self.config.card_length)
        except Exception as exc:  # a classifier bug must not kill the reader's thread
            log.error("scan not classified", extra={"device": raw.device,
                                                    "error": type(exc).__name__})
            self.session.handle_scan(Junk("scan not understood: scan again"))
            return
        fields = {"device": raw.device, "kind": type(scan).__name__}
        if isinstance(scan, Junk):
            fields["reason"] = scan.reason  # a fixed code, never the scan's text
        log.info("scan", extra=fields)
        self.session.handle_scan(scan)

    def on_reject(self, rejected: Rejected) -> None:
        log.info("scan rejected", extra={"device": rejected.device, "reason": rejected.reason,
                                         "length": rejected.length})

    def on_device(self, name: str, state: str) -> None:
        self.device_states[name] = state
        log.info("device", extra={"device": name, "state": state})

    # --- slips --------------------------------------------------------------------------------

    def _print_slip(self, sale: Sale) -> None:
        if self.config.printer is None:
            return
        from pos_agent.printer import open_printer, render_slip

        slip = slip_for(sale, self.config)
        printer = open_printer(self.config.printer)
        try:
            render_slip(printer, slip, self.config.printer)
            if self.slip_sink is not None:
                self.slip_sink(slip, printer)
        finally:
            printer.close()

    # --- background sync ----------------------------------------------------------------------

    def sync_once(self) -> None:
        """Replay the outbox if due; refresh the catalog and the coupon key when it is time;
        ping the back office when none of that called it for a heartbeat."""
        if self.outbox.due():
            report = self.outbox.replay(self.client)
            if report.offline:
                self.session.set_online(False)
            elif report.delivered or report.dead:  # an empty queue proves nothing either way
                self.session.set_online(True)
            # Outbox.replay logs its own counts (delivered, dead, remaining, why it stopped).
            if report.offline or report.delivered or report.dead:
                self._heard_at = time.monotonic()
        if time.monotonic() >= self._catalog_due:
            self._refresh_catalog()
        elif time.monotonic() >= self._heard_at + self.heartbeat_s:
            self._ping()

    def _refresh_catalog(self) -> None:
        self._heard_at = time.monotonic()
        try:
            stored = self.cache.refresh_catalog(self.client)
            if not self.cache.public_key():
                self.cache.refresh_public_key(self.client)
        except BackOfficeError as exc:
            self._catalog_due = time.monotonic() + min(30.0,
                                                       self.config.catalog_refresh_seconds)
            log.info("catalog not refreshed", extra={"error": type(exc).__name__})
            self.outbox.mark_offline(f"catalog: {exc}")  # client messages hold no card
            self.session.set_online(False)
        else:
            self._catalog_due = time.monotonic() + self.config.catalog_refresh_seconds
            self.outbox.mark_online()
            self.session.set_online(True)
            if stored:
                log.info("catalog refreshed", extra={"products": stored})

    def _ping(self) -> None:
        """Nothing else called the back office for a heartbeat: ask it, so that ``online``
        in the status is never older than a heartbeat (pos_agent/outbox/sync.py's rule)."""
        self._heard_at = time.monotonic()
        try:
            self.client.ping()
        except BackOfficeError as exc:
            log.info("back office not reached", extra={"error": type(exc).__name__})
            self.outbox.mark_offline(f"heartbeat: {exc}")  # client messages hold no card
            self.session.set_online(False)
        else:
            self.outbox.mark_online()
            self.session.set_online(True)

    def _sync_loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.sync_once()
            except Exception as exc:  # keep syncing; the cause is in the log
                log.error("sync failed", extra={"error": type(exc).__name__})
            self.stop_event.wait(SYNC_TICK_S)

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Agent:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.local_api.start()
        self._threads = start_readers(self.readers, self.stop_event)
        sync = threading.Thread(target=self._sync_loop, name="sync", daemon=True)
        sync.start()
        self._threads.append(sync)
        log.info("agent started", extra={"local_api": self.local_api.url,
                                         "devices": len(self.readers)})
        if self.display is not None:
            self.display(self.session.view())
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.local_api.stop()
        for thread in self._threads:
            thread.join(timeout=3)
        self.outbox.close()
        self.cache.close()
        log.info("agent stopped")

    def run(self) -> None:
        """Start, wait for SIGTERM or SIGINT, stop cleanly."""
        def on_signal(signum: int, _frame: object) -> None:
            log.info("signal", extra={"signal": signal.Signals(signum).name})
            self.stop_event.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        try:
            while not self.stop_event.wait(0.5):
                pass
        finally:
            self.stop()

    def status(self) -> dict[str, Any]:
        """For ``GET /status`` and ``pos-agent status``."""
        outbox = self.outbox.status()
        return {
            "online": self.session.online,
            "back_office": outbox["back_office"],  # online/offline/unknown by the status rule
            "last_contact": outbox["last_contact"],
            "queue_depth": outbox["depth"],
            "dead_letters": outbox["dead_letters"],
            "last_sync": outbox["last_sync"],
            "last_error": outbox["last_error"],
            "next_attempt_at": outbox["next_attempt_at"],
            "products_cached": self.cache.product_count(),
            "devices": [{"name": r.name, "state": self.device_states.get(r.name, "unknown"),
                         **_safe_status(r)} for r in self.readers],
            "step": self.session.step.value,
        }


def slip_for(sale: Sale, config: AgentConfig) -> Any:
    """The printer's :class:`~pos_agent.printer.Slip` for a committed sale."""
    from pos_agent.printer import LANGUAGES, Slip, SlipLine, Store, mask_card

    number = sale.member.card_number
    language = sale.member.language if sale.member.language in LANGUAGES else "en"
    return Slip(
        store=Store(name=config.store_name or "Store", timezone=config.timezone),
        till=config.till_name or "till", at=sale.at, currency=sale.currency,
        lines=tuple(SlipLine(line.name, line.quantity, line.total_minor) for line in sale.lines),
        subtotal_minor=sale.subtotal_minor, payable_minor=sale.payable_minor,
        coupon_discount_minor=sale.coupon_discount_minor,
        redeemed_value_minor=sale.redeemed_value_minor,
        masked_card=mask_card(number) if number else None,
        points_earned=sale.points_earned or 0, points_redeemed=sale.redeem_points,
        balance=sale.balance_after, language=language, offline=sale.status != "accepted",
    )


def _safe_status(reader: Reader) -> dict[str, Any]:
    try:
        return dict(reader.status())
    except Exception:
        return {}


def _title(config: AgentConfig) -> str:
    return " / ".join(p for p in (config.store_name, config.till_name) if p) or "LOYALTY TILL"


# --- logging --------------------------------------------------------------------------------------


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__  # the type only: no message, no frames
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
