"""Our order types <-> FIX 4.2/4.4 fields: building outgoing messages and reading the values of incoming ones.

Times are converted here, at the parsing boundary: FIX UTCTimestamps (``YYYYMMDD-HH:MM:SS[.sss...]``) become
integer nanoseconds since the epoch (UTC), and our nanoseconds become UTCTimestamps with milliseconds.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable
from typing import Final

import quickfix as fix
from marketcore.orders import OrderSide, OrderType, TimeInForce

from tradehive_fix.errors import FixError
from tradehive_fix.message import (
    CL_ORD_ID,
    HANDL_INST,
    ORD_TYPE,
    ORDER_QTY,
    ORIG_CL_ORD_ID,
    PRICE,
    SIDE,
    STOP_PX,
    SYMBOL,
    TIME_IN_FORCE,
    TRANSACT_TIME,
)

SIDE_TO_FIX: Final = {OrderSide.BUY: "1", OrderSide.SELL: "2"}
SIDE_FROM_FIX: Final = {"1": OrderSide.BUY, "2": OrderSide.SELL}
TYPE_TO_FIX: Final = {OrderType.MARKET: "1", OrderType.LIMIT: "2", OrderType.STOP: "3"}
TIF_TO_FIX: Final = {"DAY": "0", "GTC": "1", "IOC": "3"}

# ExecType (150) values, FIX 4.2 and 4.4
EXEC_NEW, EXEC_PARTIAL_42, EXEC_FILL_42, EXEC_TRADE_44 = "0", "1", "2", "F"
EXEC_DONE_FOR_DAY, EXEC_CANCELED, EXEC_REPLACED, EXEC_PENDING_CANCEL = "3", "4", "5", "6"
EXEC_REJECTED, EXEC_EXPIRED, EXEC_PENDING_NEW, EXEC_RESTATED = "8", "C", "A", "D"
EXEC_PENDING_REPLACE, EXEC_ORDER_STATUS = "E", "I"
FILL_EXEC_TYPES: Final = frozenset({EXEC_PARTIAL_42, EXEC_FILL_42, EXEC_TRADE_44})

ORD_REJ_REASONS: Final = {
    "0": "broker option", "1": "unknown symbol", "2": "exchange closed", "3": "order exceeds limit",
    "4": "too late to enter", "5": "unknown order", "6": "duplicate order",
    "7": "duplicate of a verbally communicated order",
    "8": "stale order", "11": "unsupported order characteristic", "13": "incorrect quantity", "99": "other",
}  # fmt: skip
CXL_REJ_REASONS: Final = {"0": "too late to cancel", "1": "unknown order", "2": "broker option",
                          "3": "already pending cancel or replace", "6": "duplicate ClOrdID"}  # fmt: skip
SESSION_REJ_REASONS: Final = {
    "0": "invalid tag number", "1": "required tag missing", "2": "tag not defined for this message type",
    "3": "undefined tag", "4": "tag without a value", "5": "value is incorrect (out of range) for this tag",
    "6": "incorrect data format", "9": "CompID problem", "10": "SendingTime accuracy problem",
    "11": "invalid MsgType", "13": "tag appears more than once", "15": "repeating group fields out of order",
    "16": "incorrect NumInGroup count",
}  # fmt: skip
BUSINESS_REJ_REASONS: Final = {"0": "other", "1": "unknown ID", "2": "unknown security",
                               "3": "unsupported message type", "4": "application not available",
                               "5": "conditionally required field missing", "6": "not authorized"}  # fmt: skip


def utc_timestamp(ns: int) -> str:
    """Nanoseconds since the epoch -> FIX UTCTimestamp with milliseconds."""
    secs, rem = divmod(int(ns), 1_000_000_000)
    tm = time.gmtime(secs)
    return time.strftime("%Y%m%d-%H:%M:%S", tm) + f".{rem // 1_000_000:03d}"


def parse_utc_timestamp(text: str) -> int:
    """FIX UTCTimestamp (``YYYYMMDD-HH:MM:SS`` with optional fraction up to ns) -> ns since the epoch."""
    try:
        date, _, clock = text.partition("-")
        hms, _, frac = clock.partition(".")
        h, m, s = (int(x) for x in hms.split(":"))
        secs = calendar.timegm((int(date[:4]), int(date[4:6]), int(date[6:8]), h, m, s, 0, 0, 0))
        return secs * 1_000_000_000 + (int(frac.ljust(9, "0")[:9]) if frac else 0)
    except (ValueError, IndexError) as exc:
        raise FixError(f"bad FIX UTCTimestamp {text!r}") from exc


def parse_date_time(date: str, clock: str) -> int:
    """MDEntryDate (``YYYYMMDD``) + MDEntryTime (``HH:MM:SS[.fff]``) -> ns since the epoch."""
    return parse_utc_timestamp(f"{date}-{clock}")


def fmt_qty(qty: float) -> str:
    return str(int(qty)) if float(qty).is_integer() else repr(float(qty))


def fmt_price(price: float) -> str:
    return f"{price:.10g}"


def set_fields(msg: fix.Message, fields: Iterable[tuple[int, str]]) -> fix.Message:
    for tag, value in fields:
        msg.setField(tag, value)
    return msg


def tif_code(tif: TimeInForce | str, mapping: dict[str, str]) -> str:
    name = tif.value if isinstance(tif, TimeInForce) else tif
    name = mapping.get(name, name)
    if name not in TIF_TO_FIX:
        raise FixError(f"time in force {name} has no FIX mapping")
    return TIF_TO_FIX[name]


def order_fields(
    fix_id: str, symbol: str, side: OrderSide, qty: float, ord_type: OrderType, limit: float | None,
    stop: float | None, tif: str, now_ns: int, account: str = "",
) -> list[tuple[int, str]]:  # fmt: skip
    """The body of a NewOrderSingle (also the core of an OrderCancelReplaceRequest)."""
    out = [(CL_ORD_ID, fix_id), (HANDL_INST, "1"), (SYMBOL, symbol), (SIDE, SIDE_TO_FIX[side]),
           (TRANSACT_TIME, utc_timestamp(now_ns)), (ORDER_QTY, fmt_qty(qty)), (ORD_TYPE, TYPE_TO_FIX[ord_type]),
           (TIME_IN_FORCE, tif)]  # fmt: skip
    if limit is not None:
        out.append((PRICE, fmt_price(limit)))
    if stop is not None:
        out.append((STOP_PX, fmt_price(stop)))
    if account:
        out.append((1, account))
    return out


def cancel_fields(
    fix_id: str, orig_id: str, symbol: str, side: OrderSide, qty: float, now_ns: int
) -> list[tuple[int, str]]:
    return [(ORIG_CL_ORD_ID, orig_id), (CL_ORD_ID, fix_id), (SYMBOL, symbol), (SIDE, SIDE_TO_FIX[side]),
            (TRANSACT_TIME, utc_timestamp(now_ns)), (ORDER_QTY, fmt_qty(qty))]  # fmt: skip


__all__ = [
    "BUSINESS_REJ_REASONS", "CXL_REJ_REASONS", "FILL_EXEC_TYPES", "ORD_REJ_REASONS", "SESSION_REJ_REASONS",
    "SIDE_FROM_FIX", "SIDE_TO_FIX", "TIF_TO_FIX", "TYPE_TO_FIX", "cancel_fields", "fmt_price", "fmt_qty",
    "order_fields", "parse_date_time", "parse_utc_timestamp", "set_fields", "tif_code", "utc_timestamp",
]  # fmt: skip
