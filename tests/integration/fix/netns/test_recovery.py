"""Recovery against ordermatch: a TCP connection dropped mid-session (reports sent meanwhile arrive by resend,
an order lost in flight is resent once, nothing is sent while down), and a venue process SIGKILLed and restarted
(sequence numbers continue, working orders and positions come back from the journal plus the resends)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from marketcore.orders import OrderSide
from tradehive_fix.testing.proxy import TcpCutter

from .conftest import kinds, venue_config, wait_events
from .test_orders import NOW, counterparty_position, order

pytestmark = pytest.mark.timeout(90)
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def new_acks(cp, client: str, cl_ord_id: str) -> int:
    return sum(
        1
        for m in cp.sent_messages(client)
        if m.msg_type == "8" and m.get(150) == "0" and m.get(11) == cl_ord_id
    )


def test_dropped_connection_resends_and_never_doubles(ordermatch, open_venue) -> None:
    cutter = TcpCutter(ordermatch.port)
    try:
        maker = open_venue(ordermatch, "T4", port=cutter.port)
        taker = open_venue(ordermatch, "T5")
        maker.submit(order("D1", BUY, 1000, limit=0.70, symbol="AUDUSD"), NOW)
        wait_events(maker, lambda ev: "OrderAccepted" in kinds(ev))
        seq_before = maker.session.seq_numbers()

        cutter.pause()
        cutter.cut()  # the cable is pulled
        deadline = time.monotonic() + 10
        while maker.session.logged_on and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not maker.session.logged_on
        refused = maker.submit(order("D2", BUY, 100, limit=0.70, symbol="AUDUSD"), NOW)
        assert kinds(refused) == ["OrderRejected"] and "not logged on" in refused[0].reason  # nothing queued
        taker.submit(order("D3", SELL, 1000, limit=0.70, symbol="AUDUSD"), NOW)  # fills D1 while T4 is away
        wait_events(taker, lambda ev: "OrderFilled" in kinds(ev))
        time.sleep(1.0)

        cutter.resume()
        assert maker.wait_logon(20), "no reconnect"
        events = wait_events(maker, lambda ev: "OrderFilled" in kinds(ev), timeout=15)
        assert kinds(events) == ["OrderFilled"] and events[0].qty == 1000  # delivered by resend, once
        assert maker.session.seq_numbers()[1] > seq_before[1]
        assert maker.session.disconnects == 1 and maker.session.logons == 2
        assert (
            maker.positions()
            == {"AUDUSD": 1000.0}
            == {"AUDUSD": counterparty_position(ordermatch, "T4", "AUDUSD")}
        )

        # an order whose bytes are lost in flight: the counterparty sees the gap after the reconnect, asks for a
        # resend, and takes the order exactly once (PossDupFlag)
        cutter.blackhole = True
        assert maker.submit(order("D4", BUY, 500, limit=0.60, symbol="AUDUSD"), NOW) == []
        time.sleep(0.3)
        assert new_acks(ordermatch, "T4", "D4") == 0
        cutter.pause()
        cutter.cut()
        time.sleep(0.5)
        cutter.resume()
        assert maker.wait_logon(20)
        events = wait_events(maker, lambda ev: "OrderAccepted" in kinds(ev), timeout=15)
        time.sleep(1.0)
        events += maker.poll_events()
        assert kinds(events, "D4") == ["OrderAccepted"]
        assert new_acks(ordermatch, "T4", "D4") == 1, "the lost order was not sent exactly once"
        assert [o.client_order_id for o in maker.open_orders()] == ["D4"]
        assert maker.session.reconnect_delays == sorted(
            maker.session.reconnect_delays
        )  # backoff never shrinks
    finally:
        cutter.close()


class Driver:
    """A venue in its own process (``tradehive_fix.testing.driver``)."""

    def __init__(self, cfg: Any) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tradehive_fix.testing.driver",
                                      msgspec.json.encode(cfg).decode()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self.other: list[str] = []  # anything on stdout that is not a protocol line
        self._buf = b""
        self.ready = self.read_until(lambda d: "ready" in d, 30)

    def seen(self, pred: Any, timeout: float) -> dict[str, Any]:
        """A line matching ``pred``: one already read (e.g. while waiting for a status) or the next ones."""
        for d in self.lines:
            if pred(d):
                return d
        return self.read_until(pred, timeout)

    def read_until(self, pred: Any, timeout: float) -> dict[str, Any]:
        """The next protocol line matching ``pred``; a clear failure (not a blocked read) after ``timeout`` s."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            line = self._readline(left)
            if line is None:
                break
            if not line:
                raise AssertionError(f"driver exited ({self.proc.poll()}); lines: {self.lines}")
            if not line.startswith("{"):
                self.other.append(line)
                continue
            d = json.loads(line)
            self.lines.append(d)
            if pred(d):
                return d
        raise AssertionError(f"timeout after {timeout} s; lines: {self.lines}; other output: {self.other[-5:]}")

    def _readline(self, timeout: float) -> str | None:
        """One line of the driver's stdout, or None when none completes within ``timeout`` s."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                line, self._buf = self._buf, b""
                return line.decode()
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode() + "\n"

    def send(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read_until(lambda d: "status" in d and "ready" not in d, 15)


def test_sigkilled_venue_process_restarts_with_its_sequence_and_orders(
    ordermatch, open_venue, tmp_path: Path
) -> None:
    cfg = venue_config(ordermatch, "T6", tmp_path / "t6")
    first = Driver(cfg)
    assert first.ready["ready"] is True
    first.send(
        {"op": "submit", "order": msgspec.to_builtins(order("K1", BUY, 1000, limit=0.55, symbol="NZDUSD"))}
    )
    first.send(
        {"op": "submit", "order": msgspec.to_builtins(order("K2", BUY, 300, limit=0.50, symbol="NZDUSD"))}
    )
    first.seen(lambda d: "event" in d and d["event"]["client_order_id"] == "K2"
                     and d["event"]["msg"] == "order_accepted", 15)  # fmt: skip
    seq = first.send({"op": "status"})["status"]
    assert first.other == [], "the driver's stdout carries protocol lines only"
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)

    taker = open_venue(ordermatch, "T7")
    taker.submit(order("K3", SELL, 400, limit=0.55, symbol="NZDUSD"), NOW)  # K1 partly fills while T6 is dead
    wait_events(taker, lambda ev: "OrderFilled" in kinds(ev))

    second = Driver(cfg)
    try:
        st = second.ready["status"]
        assert second.ready["ready"] is True
        assert st["next_sender_seq"] > seq["next_sender_seq"], (st, seq)  # continued, not reset
        fill = second.seen(lambda d: "event" in d and d["event"]["msg"] == "order_filled", 15)["event"]
        assert (fill["client_order_id"], fill["qty"]) == (
            "K1",
            400.0,
        )  # the report sent while dead, by resend
        now = second.send({"op": "status"})
        working = {o["client_order_id"]: o["filled_qty"] for o in now["open_orders"]}
        assert working == {"K1": 400.0, "K2": 0.0}
        assert (
            now["positions"]
            == {"NZDUSD": 400.0}
            == {"NZDUSD": counterparty_position(ordermatch, "T6", "NZDUSD")}
        )
        second.send({"op": "cancel", "order": {"client_order_id": "K2", "symbol": "NZDUSD"}})
        second.seen(lambda d: "event" in d and d["event"]["msg"] == "order_cancelled", 15)
    finally:
        second.proc.stdin.close()  # type: ignore[union-attr]
        second.proc.wait(15)
