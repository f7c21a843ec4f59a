"""The adapter's durable order journal: what it sent and what the counterparty answered, one JSON line each.

FIX recovers what was missed while disconnected (resend requests), but a process that restarts must also
remember its working orders, the ClOrdIDs it used, the executions it already applied (a resent report must not
count twice) and its positions. Counterparties that answer OrderMassStatusRequest refresh this view at each logon;
for the others (QuickFIX's executor and ordermatch) the journal plus the session's resends *are* the
reconciliation. Each record is flushed as written, so a SIGKILL loses nothing the adapter acted on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import msgspec
from marketcore.orders import SubmitOrder


class JOrder(msgspec.Struct, frozen=True, tag="order"):
    cmd: SubmitOrder
    fix_id: str


class JFixId(msgspec.Struct, frozen=True, tag="fix_id"):
    """``fix_id`` (a cancel or replace ClOrdID) belongs to order ``cid``; ``current`` when it now names it."""

    cid: str
    fix_id: str
    current: bool = False


class JAmend(msgspec.Struct, frozen=True, tag="amend"):
    cmd: SubmitOrder


class JExec(msgspec.Struct, frozen=True, tag="exec"):
    """An execution report applied: ``qty`` > 0 for a fill (signed position change = side * qty)."""

    exec_id: str
    cid: str = ""
    symbol: str = ""
    signed_qty: float = 0.0


class JDone(msgspec.Struct, frozen=True, tag="done"):
    cid: str


Record = JOrder | JFixId | JAmend | JExec | JDone
_decoder = msgspec.json.Decoder(Record)
_encoder = msgspec.json.Encoder()


class Journal:
    """Append-only JSON lines at ``path`` (created 0600). ``records()`` reads back what survived."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._fh: IO[bytes] | None = os.fdopen(fd, "ab")
        self.bad_lines = 0

    def records(self) -> list[Any]:
        out = []
        with open(self.path, "rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    out.append(_decoder.decode(line))
                except msgspec.DecodeError:
                    self.bad_lines += 1  # a torn last line after a crash: skipped, counted
        return out

    def write(self, record: Record) -> None:
        if self._fh is None:
            return
        self._fh.write(_encoder.encode(record) + b"\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


__all__ = ["JAmend", "JDone", "JExec", "JFixId", "JOrder", "Journal", "Record"]
