"""The trader keeps its books across a SIGKILL (issue 12): real processes, a real name server and ZeroMQ.

A trader with an open position, an emulated stop-loss, a resting limit and an order in flight (venue latency)
is killed; quotes that cross the stop arrive while it is down. Restarted on the same journal it reports the
same books before accepting anything, answers a resent intent with the original ack, fills the in-flight
order and fires the stop on the first quote it sees, and no client order id reaches the venue twice. A second
trader is killed after journaling a fill but before publishing it or acknowledging the intent."""

from __future__ import annotations

import collections
import os
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq
from agentcore import naming, process, wire
from agentcore.testing import wait_until
from marketcore.execution.journal import Record, Sent
from marketcore.orders import ClientOrderId, OrderSide, OrderType, SubmitOrder, encode
from tradehive import protocol as p
from tradehive.platform import TRADER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
HERE = Path(__file__).resolve().parent
E, T0, MS = "EURUSD", 1_700_000_000 * 10**9, 10**6


class Desk:
    """The test's hands: quotes through the QuoteDesk agent, intents through a DEALER like a brain's."""

    def __init__(self, port: int, quotes: Any) -> None:
        self.port, self.quotes, self.seq = port, quotes, 0
        self.sock: zmq.Socket[bytes] | None = None

    def connect(self) -> None:
        if self.sock is not None:
            self.sock.close()
        _pattern, endpoint = naming.resolve(naming.locate("127.0.0.1", self.port), "trader.orders")
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)

    def send(self, cmd: SubmitOrder, wait: float = 15.0) -> p.OrderAck | None:
        assert self.sock is not None
        self.seq += 1
        self.sock.send_multipart(wire.encode("", encode(cmd), sender="test", seq=self.seq))
        if not self.sock.poll(int(wait * 1000)):
            return None
        rec = p.decode(wire.decode(self.sock.recv_multipart()).data)
        assert isinstance(rec, p.OrderAck)
        return rec

    def quote(self, ts: int, bid: float) -> None:
        self.quotes.quote(E, ts, bid, round(bid + 0.0002, 5))


def status(port: int) -> dict[str, Any]:
    import Pyro5.api

    with Pyro5.api.Proxy(naming.locate("127.0.0.1", port).lookup("trader")) as proxy:
        return dict(proxy.status())


def fills(port: int) -> list[dict[str, Any]]:
    import Pyro5.api

    with Pyro5.api.Proxy(naming.locate("127.0.0.1", port).lookup("trader")) as proxy:
        return list(proxy.fills_list())


def sent_per_id(journal: Path) -> collections.Counter[str]:
    """How many times each client order id was handed to the venue (the journal's "sent" records)."""
    dec = msgspec.msgpack.Decoder(Record)  # type: ignore[arg-type]
    with sqlite3.connect(journal) as db:
        recs = [dec.decode(blob) for (blob,) in db.execute("SELECT rec FROM journal ORDER BY seq")]
    return collections.Counter(r.cmd.client_order_id for r in recs if isinstance(r, Sent))


def books(st: dict[str, Any]) -> tuple[Any, ...]:
    """What must survive: marks (unrealised PnL) come back with the next quote."""
    pnl = {cur: (v["realised"], v["fees"]) for cur, v in st["pnl"].items()}
    return (
        st["positions"],
        pnl,
        st["fills"],
        st["emulated_brackets"],
        st["orders"]["open"],
        st["orders"]["by_status"],
    )


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch, nameserver: Any) -> Any:
    monkeypatch.setenv("PYTHONPATH", f"{HERE}:{os.environ.get('PYTHONPATH', '')}")
    naming.configure_pyro(30.0)
    settings = {"ns_port": nameserver.port, "log_level": "warning"}
    quotes = process.spawn("faultagents:QuoteDesk", "quotes", settings=settings, timeout=60)
    try:
        yield Desk(nameserver.port, quotes.proxy()), settings
    finally:
        quotes.stop()


def spawn_trader(
    settings: dict[str, Any], data_dir: Path, cls: str = TRADER, latency_ms: float = 50.0
) -> process.AgentProcess:
    cfg = {"router": "quotes", "data_dir": str(data_dir), "latency_ms": latency_ms, "journal_sync": "full"}
    return process.spawn(cls, "trader", settings=settings, config=cfg, timeout=60)


def warm(d: Desk, port: int, ts: int, bid: float) -> None:
    """Quote until the (re)started trader's subscription delivers: the first quotes may be lost (slow joiner)."""
    seen = status(port)["quotes"]

    def got() -> bool:
        d.quote(ts, bid)
        return status(port)["quotes"] > seen

    wait_until(got, 30, interval=0.3, message="trader receiving quotes")


def test_sigkill_with_position_brackets_and_orders_in_flight(desk: Any, tmp_path: Path) -> None:
    d, settings = desk
    first = spawn_trader(settings, tmp_path)
    d.connect()
    warm(d, d.port, T0, 1.1000)
    entry = SubmitOrder(ClientOrderId("b-1"), E, OrderSide.BUY, 10_000.0, stop_loss=1.0950)
    rest = SubmitOrder(ClientOrderId("b-2"), E, OrderSide.BUY, 5_000.0, OrderType.LIMIT, limit_price=1.0900)
    assert d.send(entry).accepted and d.send(rest).accepted  # type: ignore[union-attr]
    d.quote(T0 + 200 * MS, 1.1001)  # both arrive (50 ms latency): the entry fills, the limit rests
    wait_until(lambda: status(d.port)["emulated_brackets"] == 1, 20, message="entry filled, SL armed")
    flying = SubmitOrder(ClientOrderId("b-3"), E, OrderSide.SELL, 2_000.0)
    assert d.send(flying).accepted  # type: ignore[union-attr]  # in flight: no quote after its arrival yet
    before = status(d.port)
    assert (
        before["fills"] == 1 and before["orders"]["open"] == 2 and before["positions"][E]["qty"] == 10_000.0
    )
    first.kill()
    first.proc.wait(10)
    d.quote(T0 + 400 * MS, 1.0940)  # crosses the stop while the trader is down: nobody hears it

    second = spawn_trader(settings, tmp_path)
    try:
        after = status(d.port)
        assert after["pid"] == second.pid and books(after) == books(before)
        assert after["recovery"]["differences"] == [] and after["recovery"]["journal_records"] > 0
        d.connect()
        again = d.send(entry)  # a brain resending the intent after the restart: the original ack
        assert again is not None and again.accepted and again.duplicate
        warm(d, d.port, T0 + 500 * MS, 1.0945)  # the first quote it hears: in flight fills, the SL fires
        d.quote(T0 + 700 * MS, 1.0945)  # the SL's market exit reaches the venue (50 ms latency) and fills
        wait_until(lambda: status(d.port)["fills"] == 3, 20, message="in-flight fill and SL exit")
        st = status(d.port)
        got = {f["client_order_id"]: f for f in fills(d.port)}
        assert set(got) == {"b-1", "b-3", "b-1-sl"} and got["b-1-sl"]["side"] == "SELL"
        assert got["b-1-sl"]["price"] == 1.0945 and got["b-3"]["ts_ns"] == T0 + 500 * MS
        assert st["positions"][E]["qty"] == -2_000.0 and st["emulated_brackets"] == 0
        assert st["orders"]["open"] == 1  # the resting limit, untouched (1.0947 ask > 1.0900)
    finally:
        second.stop()
    counts = sent_per_id(tmp_path / "trader.journal")
    assert counts == {"b-1": 1, "b-2": 1, "b-3": 1, "b-1-sl": 1}  # each id reached the venue once


def test_sigkill_between_journaling_and_publishing(desk: Any, tmp_path: Path) -> None:
    d, settings = desk
    first = spawn_trader(settings, tmp_path, "faultagents:CrashAfterJournal", latency_ms=0.0)
    d.connect()
    warm(d, d.port, T0, 1.1000)
    cmd = SubmitOrder(ClientOrderId("crash-1"), E, OrderSide.BUY, 3_000.0)
    assert d.send(cmd, wait=3.0) is None  # its fill was journaled, then the trader died: no ack, no event
    first.proc.wait(20)
    assert first.proc.returncode == -9
    second = spawn_trader(settings, tmp_path, latency_ms=0.0)
    try:
        st = status(d.port)
        assert st["recovery"]["differences"] == []
        d.connect()
        ack = d.send(cmd)  # the brain's resend: the original ack, never a second order
        assert ack is not None and ack.accepted and ack.duplicate
        warm(d, d.port, T0 + 400 * MS, 1.1002)
        st = status(d.port)
        (fill,) = fills(d.port)
        assert fill["client_order_id"] == "crash-1" and st["positions"][E]["qty"] == 3_000.0
    finally:
        second.stop()
    assert sent_per_id(tmp_path / "trader.journal") == {"crash-1": 1}
