"""A FIX 4.4 market-data acceptor on the QuickFIX engine (Python binding) streaming recorded quotes.

Test infrastructure, not a fake: both ends are the real engine and the prices are FXCM's recorded feed
(``/work/shared/data``, read with marketcore's replay source). Answers MarketDataRequest (35=V):
subscribe (263=1) -> a full-refresh snapshot (35=W) per symbol, then incremental refreshes (35=X) as the recorded
ticks come due (``--speed`` times real time; timestamps mapped onto the wall clock as t0 + (ts - first) /
speed, as a live feed);
unsubscribe (263=2) stops a symbol; an unknown symbol gets MarketDataRequestReject (35=Y) with its reason.
Its own FileStore keeps sequence numbers across reconnects, so a client that was away gets a resend.

``python -m tradehive_fix.testing.md_acceptor --port P --data DIR --client FEEDER [--speed 10]``
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import quickfix as fix
from marketcore.sources import SourceContext, make_tick_source

from tradehive_fix import codec as c
from tradehive_fix import message as t
from tradehive_fix.config import SPEC_DIR
from tradehive_fix.message import FixMessage

SENDER = "MDFEED"
MAX_TICKS_PER_MESSAGE = 50


class MarketDataServer(fix.Application):  # type: ignore[misc]
    def __init__(self, data_dir: str, symbols: list[str], speed: str, start: str) -> None:
        super().__init__()
        opts = {"data_dir": data_dir, "speed": speed, "symbols": symbols, "start": start, "batch_max": 2000}
        self.source = make_tick_source("replay", SourceContext(opts))
        self.symbols = set(self.source.symbols)
        self.subs: dict[str, dict[str, str]] = {}  # session -> symbol -> MDReqID
        self.sids: dict[str, fix.SessionID] = {}
        self.last: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()
        self.offset_ns: int | None = None
        self.first_ns = 0
        self.speed = 1e9 if speed == "max" else float(speed)
        self.sent_ticks = 0
        self.stop = threading.Event()
        self._primed: Any = None

    # QuickFIX callbacks
    def onCreate(self, sid: fix.SessionID) -> None:  # noqa: N802
        self.sids[sid.toString()] = sid

    def onLogon(self, sid: fix.SessionID) -> None:  # noqa: N802
        print("logon", flush=True)

    def onLogout(self, sid: fix.SessionID) -> None:  # noqa: N802
        with self.lock:
            self.subs.pop(sid.toString(), None)  # a client resubscribes after its next logon
        print("logout", flush=True)

    def toAdmin(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        pass

    def fromAdmin(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        pass

    def toApp(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        pass

    def fromApp(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        msg = FixMessage.parse(message.toString())  # never keep the engine's message
        if msg.msg_type != "V":
            raise fix.UnsupportedMessageType()
        req_id = msg.get(t.MD_REQ_ID, "") or ""
        kind = msg.get(t.SUBSCRIPTION_REQUEST_TYPE)
        symbols = [e[t.SYMBOL] for e in msg.group(t.NO_RELATED_SYM, t.SYMBOL)]
        unknown = [s for s in symbols if s not in self.symbols]
        if unknown:
            self._send(self._reject(req_id, f"unknown symbol(s) {','.join(unknown)}"), sid)
            return
        with self.lock:
            subs = self.subs.setdefault(sid.toString(), {})
            if kind == "2":
                for s in symbols:
                    subs.pop(s, None)
                return
            for s in symbols:
                subs[s] = req_id
                if s in self.last:
                    self._send(self._snapshot(req_id, s, *self.last[s]), sid)

    # messages
    def _reject(self, req_id: str, text: str) -> fix.Message:
        m = _new("Y")
        m.setField(t.MD_REQ_ID, req_id)
        m.setField(t.MD_REQ_REJ_REASON, "0")
        m.setField(t.TEXT, text)
        return m

    def _snapshot(self, req_id: str, symbol: str, bid: float, ask: float) -> fix.Message:
        m = _new("W")
        m.setField(t.MD_REQ_ID, req_id)
        m.setField(t.SYMBOL, symbol)
        now = c.utc_timestamp(time.time_ns())
        for side, px in (("0", bid), ("1", ask)):
            g = fix.Group(t.NO_MD_ENTRIES, t.MD_ENTRY_TYPE)
            g.setField(t.MD_ENTRY_TYPE, side)
            g.setField(t.MD_ENTRY_PX, c.fmt_price(px))
            g.setField(t.MD_ENTRY_DATE, now[:8])
            g.setField(t.MD_ENTRY_TIME, now[9:])
            m.addGroup(g)
        return m

    def _increment(self, rows: list[tuple[str, int, float, float]]) -> fix.Message:
        m = _new("X")
        for symbol, ts, bid, ask in rows:
            stamp = c.utc_timestamp(ts)
            for side, px in (("0", bid), ("1", ask)):
                g = fix.Group(t.NO_MD_ENTRIES, t.MD_UPDATE_ACTION)
                g.setField(t.MD_UPDATE_ACTION, "1")  # change
                g.setField(t.MD_ENTRY_TYPE, side)
                g.setField(t.SYMBOL, symbol)
                g.setField(t.MD_ENTRY_PX, c.fmt_price(px))
                g.setField(t.MD_ENTRY_DATE, stamp[:8])
                g.setField(t.MD_ENTRY_TIME, stamp[9:])
                m.addGroup(g)
        return m

    def _send(self, m: fix.Message, sid: fix.SessionID) -> None:
        fix.Session.sendToTarget(m, sid)

    # the pump: recorded ticks, paced, to every subscribed symbol
    def prime(self) -> None:
        """Read the first batch now (the files load on first use, seconds on a busy machine), before listening."""
        self._primed = self.source.poll(time.time_ns())

    def run(self) -> None:
        while not self.stop.is_set():
            poll, self._primed = (self._primed or self.source.poll(time.time_ns())), None
            if poll.done:
                print("replay finished", flush=True)
                return
            rows: list[tuple[str, int, float, float]] = []
            for symbol, ticks in poll.runs:
                if not ticks.size:
                    continue
                if (
                    self.offset_ns is None
                ):  # data time -> wall time: t0 + (ts - first) / speed, never ahead of now
                    self.offset_ns, self.first_ns = time.time_ns(), int(ticks["ts"][0])
                ts = self.offset_ns + ((ticks["ts"].astype(np.int64) - self.first_ns) / self.speed).astype(
                    np.int64
                )
                for k in range(ticks.size):
                    bid, ask = float(ticks["bid"][k]), float(ticks["ask"][k])
                    self.last[symbol] = (bid, ask)
                    rows.append((symbol, int(ts[k]), bid, ask))
            with self.lock:
                for key, subs in self.subs.items():
                    live = [r for r in rows if r[0] in subs]
                    for i in range(0, len(live), MAX_TICKS_PER_MESSAGE):
                        self._send(self._increment(live[i : i + MAX_TICKS_PER_MESSAGE]), self.sids[key])
                        self.sent_ticks += len(live[i : i + MAX_TICKS_PER_MESSAGE])
            self.stop.wait(min(max(poll.wait_s, 0.0), 0.05) if not rows else 0.0)


def _new(msg_type: str) -> fix.Message:
    m = fix.Message()
    m.getHeader().setField(fix.BeginString("FIX.4.4"))
    m.getHeader().setField(fix.MsgType(msg_type))
    return m


def settings_text(port: int, clients: list[str], workdir: Path) -> str:
    lines = [
        "[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={port}", "SocketAcceptHost=127.0.0.1",
        f"FileStorePath={workdir / 'store'}", "StartTime=00:00:00", "EndTime=00:00:00", "UseDataDictionary=Y",
        f"DataDictionary={SPEC_DIR / 'FIX44.xml'}", "ResetOnLogon=N", "ResetOnDisconnect=N",
    ]  # fmt: skip
    for client in clients:
        lines += ["[SESSION]", "BeginString=FIX.4.4", f"SenderCompID={SENDER}", f"TargetCompID={client}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--client", default="FEEDER", help="the clients' SenderCompIDs (comma-separated)")
    ap.add_argument("--symbols", default="")
    ap.add_argument("--speed", default="10")
    ap.add_argument("--start", default="")
    ap.add_argument("--workdir", default=".")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "md_acceptor.cfg"
    cfg.write_text(settings_text(args.port, args.client.split(","), workdir))
    app = MarketDataServer(args.data, [s for s in args.symbols.split(",") if s], args.speed, args.start)
    app.prime()
    settings = fix.SessionSettings(str(cfg))
    acceptor = fix.SocketAcceptor(app, fix.FileStoreFactory(settings), settings)
    acceptor.start()
    print("listening", args.port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: app.stop.set())
    try:
        app.run()
        app.stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        acceptor.stop()  # the binding crashes at exit unless the engine is stopped first
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
