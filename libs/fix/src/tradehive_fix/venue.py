"""The domain client: a ``marketcore.venue.Venue`` over a FIX 4.2/4.4 session (registered as venue ``fix``).

Commands become FIX messages (NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest); execution reports,
cancel rejects and session/business rejects become the platform's order events, queued for ``poll_events`` (the
session's thread calls the listener so the trader's loop drains them). Nothing is sent while logged out: the
command is answered at once with a rejection naming the reason.

Ids: our client order id is the first ClOrdID; a cancel uses ``<id>~x<n>`` and a replace ``<id>~r<n>`` (FIX wants a
new ClOrdID for each), all mapped back to the client order id. Fill ids are ``<counterparty>-<ExecID>``; a report
seen twice (a resend after a reconnect, PossDupFlag) is applied once. Working orders, applied executions and
positions are journaled (``journal.py``), so a restarted trader gets them from ``open_orders()``/``positions()``.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import structlog
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    Liquidity,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderSide,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    VenueOrderId,
)
from marketcore.venue import EventListener, VenueCapabilities, VenueContext, VenueOrder

from tradehive_fix import codec as c
from tradehive_fix import message as t
from tradehive_fix.config import Credentials, FixSessionConfig, load_config
from tradehive_fix.errors import FixError
from tradehive_fix.journal import JAmend, JDone, JExec, JFixId, JOrder, Journal
from tradehive_fix.message import FixMessage
from tradehive_fix.session import FixSession


@dataclass
class _Live:
    """One working order as the adapter tracks it (guarded by the venue's lock)."""

    cmd: SubmitOrder  # as currently working (after replaces)
    fix_id: str  # the ClOrdID the counterparty knows it by now
    accepted: bool = False
    held: bool = False  # an emulated stop not yet sent
    venue_order_id: str = ""
    filled: float = 0.0
    pending: str = ""  # "", "cancel", "replace"
    pending_id: str = ""  # the ClOrdID of the pending cancel/replace
    replace_to: SubmitOrder | None = None  # cancel_new: the order to enter once the cancel is confirmed
    ids: itertools.count[int] | None = None

    def next_id(self, kind: str) -> str:
        if self.ids is None:
            self.ids = itertools.count(1)
        return f"{self.cmd.client_order_id}~{kind}{next(self.ids)}"


class FixVenue:
    """Orders through a FIX session. Thread-safe: commands come from the host loop, reports from QuickFIX."""

    def __init__(
        self,
        cfg: FixSessionConfig,
        credentials: Credentials | None = None,
        instruments: InstrumentRegistry | None = None,
        name: str = "fix",
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.instruments = instruments or InstrumentRegistry.default()
        self.log = structlog.get_logger("tradehive_fix").bind(venue=name, target=cfg.target_comp_id)
        self._lock = threading.RLock()
        self._events: deque[OrderEvent] = deque()
        self._listener: EventListener | None = None
        self._orders: dict[ClientOrderId, _Live] = {}
        self._ids: dict[str, ClientOrderId] = {}  # every ClOrdID we used -> client order id
        self._seen_execs: set[str] = set()
        self._positions: dict[str, float] = {}
        self._quotes: dict[str, tuple[float, float]] = {}
        self._known: set[ClientOrderId] = set()
        self.counts = {"sent": 0, "reports": 0, "duplicates": 0, "session_rejects": 0, "business_rejects": 0,
                       "unknown_reports": 0, "refused_offline": 0, "stops_triggered": 0}  # fmt: skip
        self.last_reject = ""
        self.mass_status_supported: bool | None = None
        self._mass_status_seq = 0
        self.journal = Journal(Path(cfg.data_dir) / "orders.jsonl")
        self._restore()
        self.session = FixSession(
            cfg, credentials, on_message=self._on_message, on_status=self._on_status, name=name
        )
        replace = cfg.replace != "none"
        self._caps = VenueCapabilities(
            brackets=False,
            replace=replace,
            quotes=cfg.market_orders == "limit" or cfg.stop_orders == "emulate",
        )

    # ------------------------------------------------------------------------------------------- lifecycle
    @property
    def capabilities(self) -> VenueCapabilities:
        return self._caps

    def start(self) -> None:
        self.session.start()

    def close(self) -> None:
        self.session.stop()
        self.journal.close()

    def wait_logon(self, timeout: float) -> bool:
        return self.session.wait_logon(timeout)

    def set_event_listener(self, listener: EventListener | None) -> None:
        self._listener = listener

    def poll_events(self) -> list[OrderEvent]:
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return out

    # -------------------------------------------------------------------------------------------- commands
    def submit(self, cmd: SubmitOrder, now_ns: int) -> list[OrderEvent]:
        cid, sym = cmd.client_order_id, cmd.symbol
        problem = self._submit_problem(cmd)
        if problem:
            return [OrderRejected(cid, sym, problem, now_ns)]
        live = _Live(cmd, fix_id=cid)
        with self._lock:
            self._known.add(cid)
            self._orders[cid] = live
            self._ids[cid] = cid
            self.journal.write(JOrder(cmd, cid))
            if cmd.type is OrderType.STOP and self.cfg.stop_orders == "emulate":
                live.held = live.accepted = True
                live.venue_order_id = f"held-{cid}"
                return [OrderAccepted(cid, VenueOrderId(live.venue_order_id), sym, now_ns)]
        try:
            self._send_new(cmd, cid, now_ns)
        except FixError as exc:
            with self._lock:
                self._forget(cid)
            self.counts["refused_offline"] += 1
            return [OrderRejected(cid, sym, f"not sent: {exc}", now_ns)]
        return []

    def cancel(self, cmd: CancelOrder, now_ns: int) -> list[OrderEvent]:
        cid, sym = cmd.client_order_id, cmd.symbol
        with self._lock:
            live = self._orders.get(cid)
            if live is None:
                return [OrderCancelRejected(cid, sym, "unknown order (not working at this venue)", now_ns)]
            if live.held:
                self._forget(cid)
                return [OrderCancelled(cid, sym, now_ns, "cancelled by client")]
            if live.pending:
                return [OrderCancelRejected(cid, sym, f"a {live.pending} is already pending", now_ns)]
            fix_id = live.next_id("x")
            live.pending, live.pending_id = "cancel", fix_id
            self._map(cid, fix_id)
            fields = c.cancel_fields(fix_id, live.fix_id, sym, live.cmd.side, live.cmd.qty, now_ns)
        return self._send_or_undo(cid, "F", fields, now_ns)

    def replace(self, cmd: ReplaceOrder, now_ns: int) -> list[OrderEvent]:
        cid, sym = cmd.client_order_id, cmd.symbol
        with self._lock:
            live = self._orders.get(cid)
            if live is None:
                return [OrderCancelRejected(cid, sym, "unknown order (not working at this venue)", now_ns)]
            if self.cfg.replace == "none":
                return [OrderCancelRejected(cid, sym, "this venue does not replace orders", now_ns)]
            if live.pending:
                return [OrderCancelRejected(cid, sym, f"a {live.pending} is already pending", now_ns)]
            try:
                new_cmd = cmd.applied_to(live.cmd)
            except Exception as exc:  # noqa: BLE001 - an OrderError: answered, not raised
                return [OrderCancelRejected(cid, sym, str(exc), now_ns)]
            if new_cmd.qty <= live.filled:
                return [
                    OrderCancelRejected(cid, sym, f"new qty {new_cmd.qty} <= filled {live.filled}", now_ns)
                ]
            if live.held:
                live.cmd = new_cmd
                self.journal.write(JAmend(new_cmd))
                return [OrderReplaced(cid, sym, now_ns, new_cmd.qty, new_cmd.limit_price, new_cmd.stop_price)]
            if self.cfg.replace == "native":
                fix_id = live.next_id("r")
                live.pending, live.pending_id, live.replace_to = "replace", fix_id, new_cmd
                self._map(cid, fix_id)
                fields = c.order_fields(fix_id, sym, new_cmd.side, new_cmd.qty, new_cmd.type, new_cmd.limit_price,
                                        new_cmd.stop_price, self._tif(new_cmd), now_ns, self.cfg.account)  # fmt: skip
                fields.append((t.ORIG_CL_ORD_ID, live.fix_id))
                msg_type = "G"
            else:  # cancel_new: cancel, then enter the rest under a new ClOrdID once the cancel is confirmed
                fix_id = live.next_id("x")
                live.pending, live.pending_id, live.replace_to = "replace", fix_id, new_cmd
                self._map(cid, fix_id)
                fields = c.cancel_fields(fix_id, live.fix_id, sym, live.cmd.side, live.cmd.qty, now_ns)
                msg_type = "F"
        return self._send_or_undo(cid, msg_type, fields, now_ns)

    def on_quote(self, symbol: str, ts_ns: int, bid: float, ask: float) -> list[OrderEvent]:
        if not (bid > 0 and ask > 0 and math.isfinite(bid) and math.isfinite(ask)):
            return []
        self._quotes[symbol] = (bid, ask)
        if self.cfg.stop_orders != "emulate":
            return []
        triggered: list[_Live] = []
        with self._lock:
            for live in self._orders.values():
                cmd = live.cmd
                if live.held and cmd.symbol == symbol and cmd.stop_price is not None:
                    if (ask >= cmd.stop_price) if cmd.side is OrderSide.BUY else (bid <= cmd.stop_price):
                        live.held = False
                        triggered.append(live)
        events: list[OrderEvent] = []
        for live in triggered:
            self.counts["stops_triggered"] += 1
            as_market = msgspec.structs.replace(live.cmd, type=OrderType.MARKET, stop_price=None)
            try:
                self._send_new(as_market, live.fix_id, ts_ns)
            except FixError as exc:
                with self._lock:
                    self._forget(live.cmd.client_order_id)
                events.append(
                    OrderCancelled(
                        live.cmd.client_order_id, symbol, ts_ns, f"stop triggered, not sent: {exc}"
                    )
                )
        return events

    # --------------------------------------------------------------------------------------------- queries
    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._lock:
            return [
                VenueOrder(o.cmd.client_order_id, o.cmd.symbol, o.cmd.side, o.cmd.qty, o.filled, o.cmd.type,
                           o.cmd.limit_price, o.cmd.stop_price, VenueOrderId(o.venue_order_id) if o.venue_order_id else None)
                for o in self._orders.values() if symbol is None or o.cmd.symbol == symbol
            ]  # fmt: skip

    def positions(self) -> dict[str, float]:
        with self._lock:
            return {s: q for s, q in self._positions.items() if abs(q) > 1e-12}

    def busy(self, symbol: str) -> bool:
        with self._lock:
            return any(o.held and o.cmd.symbol == symbol for o in self._orders.values())

    def status(self) -> dict[str, Any]:
        send_seq, recv_seq = self.session.seq_numbers()
        s = self.session
        return {"logged_on": s.logged_on, "next_sender_seq": send_seq, "next_target_seq": recv_seq,
                "logons": s.logons, "disconnects": s.disconnects, "working": len(self._orders),
                "mass_status_supported": self.mass_status_supported, "last_reject": self.last_reject,
                **self.counts}  # fmt: skip

    # ------------------------------------------------------------------------------------------- internals
    def _submit_problem(self, cmd: SubmitOrder) -> str:
        if cmd.client_order_id in self._known or "~" in cmd.client_order_id:
            return f"duplicate or invalid client_order_id {cmd.client_order_id}"
        if cmd.has_bracket:
            return "this venue holds no stop-loss/take-profit: the trader emulates them"
        if (
            cmd.type is OrderType.MARKET
            and self.cfg.market_orders == "limit"
            and cmd.symbol not in self._quotes
        ):
            return f"no quote yet for {cmd.symbol}: a market order is sent as a marketable limit"
        if not self.session.logged_on and not (
            cmd.type is OrderType.STOP and self.cfg.stop_orders == "emulate"
        ):
            self.counts["refused_offline"] += 1
            return "FIX session not logged on"
        return ""

    def _tif(self, cmd: SubmitOrder) -> str:
        return c.tif_code(cmd.time_in_force, self.cfg.tif_map)

    def _send_new(self, cmd: SubmitOrder, fix_id: str, now_ns: int) -> None:
        ord_type, limit = cmd.type, cmd.limit_price
        if ord_type is OrderType.MARKET and self.cfg.market_orders == "limit":
            ord_type, limit = OrderType.LIMIT, self._collar_price(cmd)
        fields = c.order_fields(fix_id, cmd.symbol, cmd.side, cmd.qty, ord_type, limit, cmd.stop_price,
                                self._tif(cmd), now_ns, self.cfg.account)  # fmt: skip
        self._send("D", fields)

    def _collar_price(self, cmd: SubmitOrder) -> float:
        if cmd.symbol not in self._quotes:
            raise FixError(f"no quote for {cmd.symbol} to price a marketable limit")
        bid, ask = self._quotes[cmd.symbol]
        k = self.cfg.collar_bps * 1e-4
        price = ask * (1 + k) if cmd.side is OrderSide.BUY else bid * (1 - k)
        if cmd.symbol in self.instruments:
            inst = self.instruments.get(cmd.symbol)
            step = inst.tick_size
            q = price / step  # through the quote, to the tick grid (1e-6 of a tick absorbs float noise)
            price = (math.ceil(q - 1e-6) if cmd.side is OrderSide.BUY else math.floor(q + 1e-6)) * step
            price = round(price, 10)
        return price

    def _send(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        msg = c.set_fields(self.session.new_message(msg_type), fields)
        self.session.send(msg)  # raises FixSessionError when logged out
        self.counts["sent"] += 1

    def _send_or_undo(
        self, cid: ClientOrderId, msg_type: str, fields: list[tuple[int, str]], now_ns: int
    ) -> list[OrderEvent]:
        try:
            self._send(msg_type, fields)
        except FixError as exc:
            with self._lock:
                live = self._orders.get(cid)
                if live is not None:
                    live.pending, live.pending_id, live.replace_to = "", "", None
                sym = live.cmd.symbol if live else ""
            return [OrderCancelRejected(cid, sym, f"not sent: {exc}", now_ns)]
        return []

    def _map(self, cid: ClientOrderId, fix_id: str, current: bool = False) -> None:
        self._ids[fix_id] = cid
        self.journal.write(JFixId(cid, fix_id, current))

    def _forget(self, cid: ClientOrderId) -> None:
        if self._orders.pop(cid, None) is not None:
            self.journal.write(JDone(cid))

    def _emit(self, events: list[OrderEvent]) -> None:
        if not events:
            return
        with self._lock:
            self._events.extend(events)
        listener = self._listener
        if listener is not None:
            listener()

    # ------------------------------------------------------------------------------ reports (QuickFIX thread)
    def _on_status(self, event: str, detail: str) -> None:
        if event == "logon" and self.cfg.mass_status and self.cfg.begin_string == "FIX.4.4":
            threading.Thread(target=self._ask_mass_status, name="fix-mass-status", daemon=True).start()

    def _ask_mass_status(self) -> None:
        req = f"ms-{time.time_ns()}"
        try:
            msg = self.session.new_message("AF")
            c.set_fields(msg, [(t.MASS_STATUS_REQ_ID, req), (t.MASS_STATUS_REQ_TYPE, "7")])
            self.session.send(msg)
        except FixError as exc:
            self.log.warning("mass status request not sent", error=str(exc))

    def _on_message(self, msg: FixMessage) -> None:
        self.counts["reports"] += 1
        handler = {"8": self._on_exec_report, "9": self._on_cancel_reject, "3": self._on_session_reject,
                   "j": self._on_business_reject, "5": self._on_logout}.get(msg.msg_type)  # fmt: skip
        if handler is None:
            self.log.info("fix message ignored", msg_type=msg.msg_type, seq=msg.seq)
            return
        self._emit(handler(msg))

    def _on_logout(self, msg: FixMessage) -> list[OrderEvent]:
        text = msg.get(t.TEXT, "")
        if text:
            self.last_reject = f"logout: {text}"
            self.log.warning("fix logout from counterparty", text=text)
        return []

    def _cid_of(self, msg: FixMessage) -> ClientOrderId | None:
        for tag in (t.CL_ORD_ID, t.ORIG_CL_ORD_ID):
            value = msg.get(tag)
            if value and value in self._ids:
                return self._ids[value]
        value = msg.get(t.CL_ORD_ID) or ""
        base = value.split("~", 1)[0]
        return ClientOrderId(base) if base in self._orders else None

    def _ts(self, msg: FixMessage) -> int:
        raw = msg.get(t.TRANSACT_TIME) or msg.get(t.SENDING_TIME)
        try:
            return c.parse_utc_timestamp(raw) if raw else time.time_ns()
        except FixError:
            return time.time_ns()

    def _on_exec_report(self, msg: FixMessage) -> list[OrderEvent]:
        exec_type = msg.get(t.EXEC_TYPE) or ""
        exec_id = msg.get(t.EXEC_ID, "")
        key = f"{self.cfg.target_comp_id}-{exec_id}"
        if exec_type == c.EXEC_ORDER_STATUS:
            return self._on_status_report(msg)
        with self._lock:
            if exec_id and key in self._seen_execs:
                self.counts["duplicates"] += 1
                return []
            cid = self._cid_of(msg)
            live = self._orders.get(cid) if cid is not None else None
            if cid is None or live is None:
                self.counts["unknown_reports"] += 1
                self.log.warning("execution report for an unknown order", cl_ord_id=msg.get(t.CL_ORD_ID),
                                 exec_type=exec_type, seq=msg.seq)  # fmt: skip
                return []
            if exec_id:
                self._seen_execs.add(key)
            events = self._apply_report(cid, live, exec_type, msg, key)
            self.journal.write(JExec(key))
            return events

    def _apply_report(
        self, cid: ClientOrderId, live: _Live, exec_type: str, msg: FixMessage, key: str
    ) -> list[OrderEvent]:
        sym, ts, text = live.cmd.symbol, self._ts(msg), msg.get(t.TEXT, "") or ""
        cl = msg.get(t.CL_ORD_ID, "")
        events: list[OrderEvent] = []
        if exec_type == c.EXEC_NEW:
            if live.pending == "replace" and live.replace_to is not None and cl == live.pending_id:
                return self._replaced(cid, live, ts)  # cancel_new: the re-entered rest is working
            if not live.accepted:
                events.append(self._accepted(cid, live, msg, ts))
        elif exec_type in c.FILL_EXEC_TYPES:
            if not live.accepted:
                events.append(self._accepted(cid, live, msg, ts))
            events.append(self._filled(cid, live, msg, ts, key))
            if msg.get(t.ORD_STATUS) == "2" or live.filled >= live.cmd.qty * (1 - 1e-9):
                self._forget(cid)
        elif exec_type == c.EXEC_CANCELED:
            if live.pending == "replace" and live.replace_to is not None and self.cfg.replace == "cancel_new":
                return self._reenter(cid, live, ts)
            self._forget(cid)
            events.append(OrderCancelled(cid, sym, ts, text or "cancelled"))
        elif exec_type == c.EXEC_REPLACED:
            events.extend(self._replaced(cid, live, ts, msg))
        elif exec_type == c.EXEC_REJECTED:
            if live.pending == "replace" and cl == live.pending_id and live.accepted:
                self._forget(cid)  # cancel_new: the old order is gone and its replacement was refused
                events.append(OrderCancelled(cid, sym, ts, f"replace refused: {text}"))
            else:
                self._forget(cid)
                events.append(OrderRejected(cid, sym, self._reason(msg), ts))
        elif exec_type in (c.EXEC_EXPIRED, c.EXEC_DONE_FOR_DAY):
            self._forget(cid)
            events.append(OrderExpired(cid, sym, ts))
        else:
            self.log.info("execution report ignored", exec_type=exec_type, cl_ord_id=cl)
        return events

    def _reason(self, msg: FixMessage) -> str:
        text = msg.get(t.TEXT, "") or ""
        code = msg.get(t.ORD_REJ_REASON)
        reason = text or c.ORD_REJ_REASONS.get(
            code or "", f"rejected (OrdRejReason {code})" if code else "rejected"
        )
        self.last_reject = reason
        return reason

    def _accepted(self, cid: ClientOrderId, live: _Live, msg: FixMessage, ts: int) -> OrderAccepted:
        live.accepted = True
        live.venue_order_id = msg.get(t.ORDER_ID, "") or live.fix_id
        return OrderAccepted(cid, VenueOrderId(live.venue_order_id), live.cmd.symbol, ts)

    def _filled(self, cid: ClientOrderId, live: _Live, msg: FixMessage, ts: int, key: str) -> OrderFilled:
        qty = msg.float(t.LAST_QTY)
        price = msg.float(t.LAST_PX)
        live.filled += qty
        side = live.cmd.side
        self._positions[live.cmd.symbol] = self._positions.get(live.cmd.symbol, 0.0) + side.sign * qty
        self.journal.write(JExec(key, cid, live.cmd.symbol, side.sign * qty))
        liquidity = Liquidity.MAKER if msg.get(t.LAST_LIQUIDITY_IND) == "1" else Liquidity.TAKER
        return OrderFilled(cid, VenueOrderId(msg.get(t.ORDER_ID, "") or live.venue_order_id), key, live.cmd.symbol,
                           side, price, qty, abs(msg.float(t.COMMISSION)), liquidity, ts)  # fmt: skip

    def _replaced(
        self, cid: ClientOrderId, live: _Live, ts: int, msg: FixMessage | None = None
    ) -> list[OrderEvent]:
        new_cmd = live.replace_to or live.cmd
        if msg is not None and live.replace_to is None:  # unsolicited (venue-side amend): take its values
            new_cmd = msgspec.structs.replace(live.cmd, qty=msg.float(t.ORDER_QTY, live.cmd.qty))
        live.cmd, live.fix_id = new_cmd, live.pending_id or live.fix_id
        live.pending, live.pending_id, live.replace_to = "", "", None
        self.journal.write(JAmend(new_cmd))
        self.journal.write(JFixId(cid, live.fix_id, True))
        return [OrderReplaced(cid, new_cmd.symbol, ts, new_cmd.qty, new_cmd.limit_price, new_cmd.stop_price)]

    def _reenter(self, cid: ClientOrderId, live: _Live, ts: int) -> list[OrderEvent]:
        """cancel_new: the old order is cancelled; enter the rest of the replacement under a new ClOrdID."""
        assert live.replace_to is not None
        new_id = live.next_id("r")
        live.pending_id = new_id
        self._map(cid, new_id)
        rest = msgspec.structs.replace(live.replace_to, qty=live.replace_to.qty - live.filled)
        threading.Thread(target=self._send_reentry, args=(cid, rest, new_id, ts), daemon=True).start()
        return []

    def _send_reentry(self, cid: ClientOrderId, rest: SubmitOrder, fix_id: str, ts: int) -> None:
        try:
            self._send_new(rest, fix_id, time.time_ns())
        except FixError as exc:
            with self._lock:
                self._forget(cid)
            self._emit([OrderCancelled(cid, rest.symbol, ts, f"replace: re-entry not sent ({exc})")])

    def _on_cancel_reject(self, msg: FixMessage) -> list[OrderEvent]:
        with self._lock:
            cid = self._cid_of(msg)
            live = self._orders.get(cid) if cid is not None else None
            text = msg.get(t.TEXT) or c.CXL_REJ_REASONS.get(
                msg.get(t.CXL_REJ_REASON) or "", "cancel rejected"
            )
            if cid is None:
                self.counts["unknown_reports"] += 1
                return []
            if live is not None:
                live.pending, live.pending_id, live.replace_to = "", "", None
            sym = live.cmd.symbol if live else (msg.get(t.SYMBOL) or "")
        self.last_reject = text
        return [OrderCancelRejected(cid, sym, text, self._ts(msg))]

    def _on_session_reject(self, msg: FixMessage) -> list[OrderEvent]:
        self.counts["session_rejects"] += 1
        code = msg.get(t.SESSION_REJECT_REASON) or ""
        text = msg.get(t.TEXT) or c.SESSION_REJ_REASONS.get(code, "session reject")
        ref_tag = msg.get(t.REF_TAG_ID)
        reason = f"session reject: {text}" + (f" (tag {ref_tag})" if ref_tag else "")
        return self._reject_ref(msg, reason)

    def _on_business_reject(self, msg: FixMessage) -> list[OrderEvent]:
        self.counts["business_rejects"] += 1
        code = msg.get(t.BUSINESS_REJECT_REASON) or ""
        text = msg.get(t.TEXT) or c.BUSINESS_REJ_REASONS.get(code, "business reject")
        if msg.get(t.REF_MSG_TYPE) == "AF":
            self.mass_status_supported = False
            self.log.info(
                "counterparty has no OrderMassStatusRequest: the journal and resends reconcile", text=text
            )
            return []
        return self._reject_ref(msg, f"business reject: {text}")

    def _reject_ref(self, msg: FixMessage, reason: str) -> list[OrderEvent]:
        self.last_reject = reason
        ref_seq = int(msg.get(t.REF_SEQ_NUM) or 0)
        fix_id = self.session.cl_ord_id_of_seq(ref_seq) or msg.get(t.BUSINESS_REJECT_REF_ID) or ""
        ts = self._ts(msg)
        with self._lock:
            cid = self._ids.get(fix_id)
            live = self._orders.get(cid) if cid is not None else None
            if cid is None or live is None:
                self.log.warning(
                    "counterparty reject",
                    reason=reason,
                    ref_seq=ref_seq,
                    ref_msg_type=msg.get(t.REF_MSG_TYPE),
                )
                if msg.get(t.REF_MSG_TYPE) == "AF":
                    self.mass_status_supported = False
                return []
            if fix_id == live.pending_id:  # the cancel/replace was refused; the order itself still works
                live.pending, live.pending_id, live.replace_to = "", "", None
                return [OrderCancelRejected(cid, live.cmd.symbol, reason, ts)]
            self._forget(cid)
        return [OrderRejected(cid, live.cmd.symbol, reason, ts)]

    def _on_status_report(self, msg: FixMessage) -> list[OrderEvent]:
        """An OrderMassStatus answer: log what differs from the journal (the journal stays the record)."""
        self.mass_status_supported = True
        with self._lock:
            cid = self._cid_of(msg)
            if cid is None:
                self.log.warning("counterparty reports an order this adapter never sent", cl_ord_id=msg.get(t.CL_ORD_ID),
                                 status=msg.get(t.ORD_STATUS))  # fmt: skip
        return []

    # ------------------------------------------------------------------------------------------- recovery
    def _restore(self) -> None:
        for rec in self.journal.records():
            if isinstance(rec, JOrder):
                cid = rec.cmd.client_order_id
                self._orders[cid] = _Live(rec.cmd, rec.fix_id, accepted=True)
                self._ids[rec.fix_id] = cid
                self._known.add(cid)
            elif isinstance(rec, JFixId):
                self._ids[rec.fix_id] = ClientOrderId(rec.cid)
                live = self._orders.get(ClientOrderId(rec.cid))
                if live is not None:
                    if rec.current:
                        live.fix_id = rec.fix_id
                    n = int(rec.fix_id.rsplit("~", 1)[-1][1:] or 0) if "~" in rec.fix_id else 0
                    live.ids = itertools.count(n + 1)
            elif isinstance(rec, JAmend):
                live = self._orders.get(rec.cmd.client_order_id)
                if live is not None:
                    live.cmd = rec.cmd
            elif isinstance(rec, JExec):
                self._seen_execs.add(rec.exec_id)
                if rec.signed_qty:
                    self._positions[rec.symbol] = self._positions.get(rec.symbol, 0.0) + rec.signed_qty
                    live = self._orders.get(ClientOrderId(rec.cid))
                    if live is not None:
                        live.filled += abs(rec.signed_qty)
            elif isinstance(rec, JDone):
                self._orders.pop(ClientOrderId(rec.cid), None)
        if self._orders or self._positions:
            self.log.info("restored from journal", working=len(self._orders), positions=self.positions())


def make_fix_venue(context: VenueContext) -> FixVenue:
    """The ``fix`` venue factory: settings from the context's options, ``TRADEHIVE_FIX_*`` and a mounted file."""
    cfg, creds = load_config(context.options)
    return FixVenue(cfg, creds, context.instruments, name=context.name or "fix")


__all__ = ["FixVenue", "make_fix_venue"]
