"""Versioned msgpack encoding of order commands and events.

Wire layout: a msgpack map ``{"v": <schema version>, "m": <message>}`` where the message is a map tagged by
its ``msg`` field (``"submit_order"``, ``"order_filled"``...). The version is checked before the message is
decoded, so a peer speaking a newer schema gets a clear :class:`UnsupportedVersion` instead of a field error.
"""

from __future__ import annotations

from typing import Final

import msgspec

from marketcore.errors import DecodeError
from marketcore.orders.messages import Message

ORDER_SCHEMA_VERSION: Final = 1


class UnsupportedVersion(DecodeError):
    """A message encoded with a schema version this build cannot read."""


class _Envelope(msgspec.Struct, frozen=True):
    v: int
    m: msgspec.Raw


_encoder = msgspec.msgpack.Encoder()
_envelope_decoder = msgspec.msgpack.Decoder(_Envelope)
_message_decoder = msgspec.msgpack.Decoder(Message)


def encode(msg: Message) -> bytes:
    """``msg`` as versioned msgpack bytes."""
    return _encoder.encode(_Envelope(ORDER_SCHEMA_VERSION, msgspec.Raw(_encoder.encode(msg))))


def decode(data: bytes) -> Message:
    """The message in ``data``; raises :class:`DecodeError` (cause chained) for anything invalid."""
    try:
        envelope = _envelope_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:  # msgspec raises the latter on bad UTF-8
        raise DecodeError(f"not an order message envelope: {e}") from e
    if envelope.v != ORDER_SCHEMA_VERSION:
        raise UnsupportedVersion(
            f"order message schema version {envelope.v} is not supported "
            f"(this build reads {ORDER_SCHEMA_VERSION})"
        )
    try:
        msg: Message = _message_decoder.decode(envelope.m)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise DecodeError(f"invalid order message (schema v{envelope.v}): {e}") from e
    return msg
