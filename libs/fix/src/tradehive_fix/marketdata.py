"""The feeder's FIX market-data source (registered as tick source ``fix``): a ``marketcore`` ``TickSource``.

After each logon it subscribes (MarketDataRequest 263=1, top of book, incremental updates) to its symbols; a
full-refresh snapshot (35=W) sets the book, incremental refreshes (35=X) move it, and every update becomes a tick
(``TICK_DTYPE``: venue timestamp from MDEntryDate/MDEntryTime, bid, ask). Within a session QuickFIX's sequence
numbers guarantee nothing is skipped (a gap is resent); across a reconnect the fresh snapshot re-bases the book.
Ticks reach the feeder through ``poll`` in arrival order (per symbol, timestamps never go back: an older one is
counted and dropped), and every tick received is kept (``history_max`` per symbol) to answer the router's
history/backfill requests like the other sources. ``close`` unsubscribes (263=2) and logs out.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np
import quickfix as fix
import structlog
from marketcore.errors import DataSourceError
from marketcore.schema import TICK_DTYPE
from marketcore.sources import SourceContext, TickPoll

from tradehive_fix import codec as c
from tradehive_fix import message as t
from tradehive_fix.config import Credentials, FixSessionConfig, load_config
from tradehive_fix.errors import FixError
from tradehive_fix.message import FixMessage
from tradehive_fix.session import FixSession


class _Series:
    """Received ticks of one symbol: a growable array (amortised O(1) append), trimmed to ``cap``."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = np.zeros(1024, dtype=TICK_DTYPE)
        self.n = 0
        self.sent = 0  # index of the first tick not yet handed to poll()

    def append(self, ts: int, bid: float, ask: float) -> None:
        if self.n == self.data.size:
            if self.n >= self.cap:  # drop the oldest half (history only; unsent ticks are never dropped)
                cut = min(self.n // 2, self.sent)
                self.data[: self.n - cut] = self.data[cut : self.n]
                self.n -= cut
                self.sent -= cut
            if self.n == self.data.size:
                grown = np.zeros(self.data.size * 2, dtype=TICK_DTYPE)
                grown[: self.n] = self.data[: self.n]
                self.data = grown
        self.data[self.n] = (ts, bid, ask, math.nan, 0.0)
        self.n += 1

    def take(self) -> np.ndarray:
        out = self.data[self.sent : self.n].copy()
        self.sent = self.n
        return out


class FixTickSource:
    """Quotes from a FIX 4.4 market-data session, polled by the feeder's loop."""

    kind = "fix"
    live = True

    def __init__(
        self, cfg: FixSessionConfig, credentials: Credentials | None = None, history_max: int = 1_000_000
    ):
        if not cfg.symbols:
            raise DataSourceError("the FIX market-data source needs symbols to subscribe")
        self.cfg = cfg
        self.log = structlog.get_logger("tradehive_fix").bind(source="fix-md", target=cfg.target_comp_id)
        self._lock = threading.Lock()
        self._series = {s: _Series(history_max) for s in cfg.symbols}
        self._book: dict[str, list[float]] = {s: [math.nan, math.nan] for s in cfg.symbols}
        self._last_ts: dict[str, int] = dict.fromkeys(cfg.symbols, 0)
        self._req = 0
        self.counts = {"snapshots": 0, "increments": 0, "ticks": 0, "stale": 0, "rejects": 0, "bad_entries": 0,
                       "subscriptions": 0}  # fmt: skip
        self.last_reject = ""
        self.session = FixSession(cfg, credentials, on_message=self._on_message, on_status=self._on_status,
                                  name="fix-md")  # fmt: skip
        self.session.start()

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.cfg.symbols)

    # ------------------------------------------------------------------------------------------ TickSource
    def poll(self, now_ns: int) -> TickPoll:
        with self._lock:
            runs = [(s, ser.take()) for s, ser in self._series.items() if ser.n > ser.sent]
        return TickPoll(runs=runs, wait_s=0.01)

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray:
        if symbol not in self._series:
            raise DataSourceError(f"unknown symbol {symbol!r}; this source streams {sorted(self._series)}")
        with self._lock:
            ser = self._series[symbol]
            data = ser.data[: ser.sent]  # only what the feeder already published (same as the stream)
            lo, hi = np.searchsorted(data["ts"], [start_ns, end_ns], side="left")
            out = data[lo:hi].copy()
        return out[-limit:] if limit else out

    def set_speed(self, speed: Any) -> Any:
        raise DataSourceError("a FIX market-data feed is live: its speed cannot be changed")

    def status(self) -> dict[str, Any]:
        send_seq, recv_seq = self.session.seq_numbers()
        return {"speed": 1.0, "finished": False, "logged_on": self.session.logged_on, "next_sender_seq": send_seq,
                "next_target_seq": recv_seq, "logons": self.session.logons, "last_reject": self.last_reject,
                **self.counts}  # fmt: skip

    def close(self) -> None:
        if self.session.logged_on:
            try:
                self._request("2")
            except FixError:
                pass
        self.session.stop()

    def wait_logon(self, timeout: float) -> bool:
        return self.session.wait_logon(timeout)

    # ----------------------------------------------------------------------------------- session (QF thread)
    def _on_status(self, event: str, detail: str) -> None:
        if event == "logon":  # (re)subscribe after every logon: the snapshot re-bases the book
            threading.Thread(target=self._subscribe, daemon=True, name="fix-md-subscribe").start()

    def _subscribe(self) -> None:
        try:
            self._request("1")
            self.counts["subscriptions"] += 1
        except FixError as exc:
            self.log.warning("market data subscribe not sent", error=str(exc))

    def _request(self, kind: str) -> None:
        self._req += 1
        msg = self.session.new_message("V")
        c.set_fields(msg, [(t.MD_REQ_ID, f"md-{self._req}-{time.time_ns()}"), (t.SUBSCRIPTION_REQUEST_TYPE, kind),
                           (t.MARKET_DEPTH, str(self.cfg.md_depth)), (t.MD_UPDATE_TYPE, "1")])  # fmt: skip
        for entry_type in ("0", "1"):
            g = fix.Group(t.NO_MD_ENTRY_TYPES, t.MD_ENTRY_TYPE)
            g.setField(t.MD_ENTRY_TYPE, entry_type)
            msg.addGroup(g)
        for symbol in self.cfg.symbols:
            g = fix.Group(t.NO_RELATED_SYM, t.SYMBOL)
            g.setField(t.SYMBOL, symbol)
            msg.addGroup(g)
        self.session.send(msg)

    def _on_message(self, msg: FixMessage) -> None:
        if msg.msg_type == "W":
            self.counts["snapshots"] += 1
            symbol = msg.get(t.SYMBOL) or ""
            self._apply((symbol, e) for e in msg.group(t.NO_MD_ENTRIES, t.MD_ENTRY_TYPE))
        elif msg.msg_type == "X":
            self.counts["increments"] += 1
            self._apply((e.get(t.SYMBOL, ""), e) for e in msg.group(t.NO_MD_ENTRIES, t.MD_UPDATE_ACTION))
        elif msg.msg_type == "Y":
            self.counts["rejects"] += 1
            self.last_reject = msg.get(t.TEXT) or f"MDReqRejReason {msg.get(t.MD_REQ_REJ_REASON)}"
            self.log.error("market data request rejected", reason=self.last_reject)
        elif msg.msg_type in ("3", "j"):
            self.counts["rejects"] += 1
            self.last_reject = msg.get(t.TEXT) or "rejected"
            self.log.error("counterparty rejected a market data message", reason=self.last_reject)

    def _apply(self, entries: Any) -> None:
        """Apply entries in order; emit one tick whenever the next entry is another (symbol, time) or at the end."""
        pending: tuple[str, int] | None = None
        with self._lock:
            for symbol, e in entries:
                book = self._book.get(symbol)
                try:
                    side, px = e[t.MD_ENTRY_TYPE], float(e[t.MD_ENTRY_PX])
                    ts = (
                        c.parse_date_time(e[t.MD_ENTRY_DATE], e[t.MD_ENTRY_TIME])
                        if t.MD_ENTRY_TIME in e
                        else time.time_ns()
                    )
                except (KeyError, ValueError, FixError):
                    self.counts["bad_entries"] += 1
                    continue
                if book is None or side not in ("0", "1") or e.get(t.MD_UPDATE_ACTION) == "2" or not px > 0:
                    self.counts["bad_entries"] += book is None or side not in ("0", "1")
                    continue
                if pending is not None and pending != (symbol, ts):
                    self._tick(*pending)
                book[0 if side == "0" else 1] = px
                pending = (symbol, ts)
            if pending is not None:
                self._tick(*pending)

    def _tick(self, symbol: str, ts: int) -> None:
        bid, ask = self._book[symbol]
        if math.isnan(bid) or math.isnan(ask):
            return
        if ts < self._last_ts[symbol]:
            self.counts["stale"] += 1
            return
        self._last_ts[symbol] = ts
        self._series[symbol].append(ts, bid, ask)
        self.counts["ticks"] += 1


# the feeder's options for its built-in sources (replay pacing, simulator): not FIX session settings
_FEEDER_KEYS = frozenset(
    {"format", "tz", "speed", "start", "end", "batch_max", "seed", "rate_hz", "history_s"}
)


def make_fix_source(context: SourceContext) -> FixTickSource:
    """The ``fix`` tick-source factory: options from the feeder, ``TRADEHIVE_FIXMD_*`` and a mounted file."""
    options = {k: v for k, v in context.options.items() if k not in _FEEDER_KEYS and v not in ("", [], None)}
    cfg, creds = load_config(options, prefix="TRADEHIVE_FIXMD_")
    return FixTickSource(cfg, creds)


__all__ = ["FixTickSource", "make_fix_source"]
