"""The execution journal: an append-only record log plus a small key/value state store in one SQLite file.

WAL mode; ``sync`` is the durability policy (SQLite's ``synchronous``): ``full`` fsyncs every commit (a
commit survives power loss), ``normal`` fsyncs at WAL checkpoints (a commit survives the process being
killed, the OS crashing may lose the last ones), ``off`` leaves it to the OS. Writes accumulate in one
transaction until ``commit``: the engine commits once per input (an intent, a quote batch, venue events)
before it acknowledges or publishes anything, so what others saw is always on disk.

Records are msgspec structs tagged by ``rec`` (msgpack, no pickle). The state store holds the paper venue's
book (it plays the broker): rows by (namespace, key), replaced in the same transactions as the records.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import msgspec

from marketcore.brackets import EmulatedBracket
from marketcore.errors import MarketcoreError
from marketcore.orders.messages import CancelOrder, ClientOrderId, OrderEvent, ReplaceOrder, SubmitOrder

SyncPolicy = Literal["full", "normal", "off"]


class JournalError(MarketcoreError):
    """The journal cannot be opened, read or written (cause chained)."""


class _Rec(msgspec.Struct, frozen=True, tag_field="rec"):
    pass


class Sent(_Rec, frozen=True, tag="sent"):
    """``cmd`` (as the client sent it, brackets included) is about to go to the venue."""

    cmd: SubmitOrder


class Amend(_Rec, frozen=True, tag="amend"):
    """A cancel or replace is about to go to the venue."""

    cmd: CancelOrder | ReplaceOrder


class Acked(_Rec, frozen=True, tag="ack"):
    client_order_id: str
    accepted: bool
    reason: str = ""
    rule: str = ""


class Event(_Rec, frozen=True, tag="event"):
    event: OrderEvent


class Armed(_Rec, frozen=True, tag="arm"):
    bracket: EmulatedBracket


class Disarmed(_Rec, frozen=True, tag="disarm"):
    parent_id: ClientOrderId


class KillSwitch(_Rec, frozen=True, tag="kill"):
    engaged: bool
    reason: str = ""


Record = Sent | Amend | Acked | Event | Armed | Disarmed | KillSwitch

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Record)


class Journal:
    """One trader's journal file (created with its directory when missing); also a ``venue.StateStore``."""

    def __init__(self, path: str | Path, sync: SyncPolicy = "full") -> None:
        if sync not in ("full", "normal", "off"):
            raise JournalError(f"journal sync must be full, normal or off, not {sync!r}")
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level="DEFERRED", check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={sync.upper()}")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, rec BLOB NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS state (ns TEXT, key TEXT, value BLOB NOT NULL, PRIMARY KEY (ns, key))"
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        self.sync = sync
        self.records_written = 0
        self.commits = 0

    # -- writing ---------------------------------------------------------------------------------------------
    def append(self, record: Record) -> None:
        self._db.execute("INSERT INTO journal (rec) VALUES (?)", (_enc.encode(record),))
        self.records_written += 1

    def put(self, ns: str, key: str, value: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO state (ns, key, value) VALUES (?, ?, ?)", (ns, key, value))

    def delete(self, ns: str, key: str) -> None:
        self._db.execute("DELETE FROM state WHERE ns = ? AND key = ?", (ns, key))

    @property
    def dirty(self) -> bool:
        return self._db.in_transaction

    def commit(self) -> None:
        """Make everything written so far durable (per the sync policy); a no-op when nothing was written."""
        if self._db.in_transaction:
            try:
                self._db.commit()
            except sqlite3.Error as exc:
                raise JournalError(f"journal commit failed ({self.path}): {exc}") from exc
            self.commits += 1

    # -- reading ---------------------------------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        try:
            rows = self._db.execute("SELECT seq, rec FROM journal ORDER BY seq").fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read journal {self.path}: {exc}") from exc
        for seq, blob in rows:
            try:
                yield _dec.decode(blob)
            except msgspec.DecodeError as exc:
                raise JournalError(f"{self.path}: record {seq} is unreadable: {exc}") from exc

    def items(self, ns: str) -> list[tuple[str, bytes]]:
        return list(self._db.execute("SELECT key, value FROM state WHERE ns = ? ORDER BY key", (ns,)))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM journal").fetchone()[0])

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()


__all__ = [
    "Acked",
    "Amend",
    "Armed",
    "Disarmed",
    "Event",
    "Journal",
    "JournalError",
    "KillSwitch",
    "Record",
    "Sent",
    "SyncPolicy",
]
