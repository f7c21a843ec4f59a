"""A received FIX message as an immutable value, copied out of QuickFIX inside its callback.

QuickFIX's Python binding must not keep a ``quickfix.Message`` past the callback that received it (it is
freed by the engine), so the raw client turns every message into a :class:`FixMessage` right away: the wire
pairs in order (repeating groups stay in their order) plus the header values the adapter needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

SOH = "\x01"

# FIX tags the adapter reads (names as in the FIX specification)
ACCOUNT, AVG_PX, CL_ORD_ID, CUM_QTY, EXEC_ID = 1, 6, 11, 14, 17
LAST_PX, LAST_QTY, MSG_SEQ_NUM, MSG_TYPE, ORDER_ID = 31, 32, 34, 35, 37
ORDER_QTY, ORD_STATUS, ORD_TYPE, ORIG_CL_ORD_ID, POSS_DUP = 38, 39, 40, 41, 43
PRICE, REF_SEQ_NUM, SENDING_TIME, SIDE, SYMBOL, TEXT = 44, 45, 52, 54, 55, 58
TIME_IN_FORCE, TRANSACT_TIME, STOP_PX, EXEC_TYPE, LEAVES_QTY = 59, 60, 99, 150, 151
HANDL_INST, COMMISSION, LAST_LIQUIDITY_IND = 21, 12, 851
CXL_REJ_REASON, ORD_REJ_REASON, CXL_REJ_RESPONSE_TO = 102, 103, 434
REF_TAG_ID, REF_MSG_TYPE, SESSION_REJECT_REASON = 371, 372, 373
BUSINESS_REJECT_REF_ID, BUSINESS_REJECT_REASON = 379, 380
MD_REQ_ID, SUBSCRIPTION_REQUEST_TYPE, MARKET_DEPTH, MD_UPDATE_TYPE = 262, 263, 264, 265
NO_MD_ENTRY_TYPES, NO_MD_ENTRIES, MD_ENTRY_TYPE, MD_ENTRY_PX, MD_ENTRY_SIZE = 267, 268, 269, 270, 271
MD_ENTRY_DATE, MD_ENTRY_TIME, MD_UPDATE_ACTION, NO_RELATED_SYM, MD_REQ_REJ_REASON = 272, 273, 279, 146, 281
MASS_STATUS_REQ_ID, MASS_STATUS_REQ_TYPE, USERNAME, PASSWORD = 584, 585, 553, 554


class FixMessage(msgspec.Struct, frozen=True):
    """``pairs``: every (tag, value) of the message in wire order (header, body, trailer)."""

    msg_type: str
    seq: int
    poss_dup: bool
    pairs: tuple[tuple[int, str], ...]

    @classmethod
    def parse(cls, raw: str) -> FixMessage:
        pairs = []
        for item in raw.split(SOH):
            if item:
                tag, _, value = item.partition("=")
                pairs.append((int(tag), value))
        first = dict(reversed(pairs))
        return cls(first.get(MSG_TYPE, ""), int(first.get(MSG_SEQ_NUM, "0") or 0), first.get(POSS_DUP) == "Y",
                   tuple(pairs))  # fmt: skip

    def get(self, tag: int, default: str | None = None) -> str | None:
        for t, v in self.pairs:
            if t == tag:
                return v
        return default

    def require(self, tag: int) -> str:
        value = self.get(tag)
        if value is None:
            from tradehive_fix.errors import FixError

            raise FixError(f"FIX {self.msg_type} message seq {self.seq} lacks tag {tag}")
        return value

    def float(self, tag: int, default: float = 0.0) -> float:
        value = self.get(tag)
        return default if value in (None, "") else float(value)  # type: ignore[arg-type]

    def group(self, count_tag: int, delimiter: int) -> Iterator[dict[int, str]]:
        """The entries of the repeating group counted by ``count_tag`` (each starts at ``delimiter``)."""
        entry: dict[int, str] | None = None
        inside = False
        for tag, value in self.pairs:
            if tag == count_tag:
                inside = True
                continue
            if not inside:
                continue
            if tag == delimiter:
                if entry is not None:
                    yield entry
                entry = {tag: value}
            elif entry is not None:
                if tag in entry or tag in (10, 93, 89):  # a repeated tag or the trailer ends the group
                    break
                entry[tag] = value
        if entry is not None:
            yield entry


__all__ = ["SOH", "FixMessage"]
