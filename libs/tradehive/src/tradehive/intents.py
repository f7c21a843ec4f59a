"""Order intents awaiting the trader's ack: idempotent re-sends with back-off, then give-up.

The sender keeps each intent's encoded bytes under its client order id; ``due`` says which to send again
(the same bytes: the trader answers a known id with its original ack, so nothing doubles) and which were
never acknowledged after ``max_resends`` tries. Time is passed in (monotonic seconds).
"""

from __future__ import annotations

from typing import Literal

from tradehive.protocol import OrderAck

Outcome = Literal["accepted", "rejected", "duplicate"]


class PendingIntents:
    def __init__(self, ack_timeout_s: float = 2.0, max_resends: int = 5) -> None:
        self.ack_timeout_s = ack_timeout_s
        self.max_resends = max_resends
        self._pending: dict[str, tuple[bytes, float, int]] = {}  # client id -> (encoded, last sent, tries)

    def add(self, client_order_id: str, data: bytes, now: float) -> None:
        self._pending[client_order_id] = (data, now, 1)

    def due(self, now: float) -> tuple[list[tuple[str, bytes]], list[tuple[str, int]]]:
        """(intents to re-send now, (id, tries) given up): each try waits twice as long as the one before,
        so re-sends never pile onto a trader that is only behind."""
        resend: list[tuple[str, bytes]] = []
        expired: list[tuple[str, int]] = []
        for cid, (data, sent, tries) in list(self._pending.items()):
            if now - sent < self.ack_timeout_s * 2 ** (tries - 1):
                continue
            if tries > self.max_resends:
                del self._pending[cid]
                expired.append((cid, tries))
                continue
            self._pending[cid] = (data, now, tries + 1)
            resend.append((cid, data))
        return resend, expired

    def acked(self, ack: OrderAck) -> Outcome:
        """Forget the intent ``ack`` answers; the outcome to count."""
        self._pending.pop(ack.client_order_id, None)
        if ack.duplicate:
            return "duplicate"
        return "accepted" if ack.accepted else "rejected"

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._pending


__all__ = ["Outcome", "PendingIntents"]
