"""What the trading roles say to each other: topics, message types and request/response records.

Market data travel as numpy structured arrays (``marketcore.schema``); requests, signals and acknowledgements
as msgspec records encoded to msgpack (``encode``/``decode`` below); order commands and events with
``marketcore.orders.encode``/``decode``. Every record carries a schema version in its envelope.

Topics (first ZeroMQ frame, prefix-filtered by subscribers):

* ``tick.<SYMBOL>`` — a batch of ticks (TICK_DTYPE), type ``ticks``;
* ``bar.<tf>.<SYMBOL>.<price>`` — closed bars (BAR_DTYPE), type ``bar``; the same topic + ``.partial`` carries the
  forming bar, type ``bar.partial`` (a subscriber to the closed-bar topic receives both and tells them by type);
* ``signal.<brain>.<name>`` — a :class:`Signal`;
* ``exec.<trader>`` — order events (marketcore.orders codec), type = the event tag;
* ``pos.<trader>`` — a :class:`PositionReport`.

Topics are built and parsed here only (``tick_topic``/``parse_tick_topic`` ...): no role slices a topic.
A request a role refuses is answered with the wire format's error kind (``agentcore.Refused``), which the asking
side receives as :class:`agentcore.RemoteError`; a reply is therefore always the data asked for.
Order events travel with their msgspec tag as the message type (:func:`event_type`).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, NamedTuple

import msgspec

from tradehive.errors import TradehiveError

PROTOCOL_VERSION: Final = 1

# socket aliases bound by each role
FEEDER_TICKS: Final = "ticks"
FEEDER_HISTORY: Final = "history"
ROUTER_MARKET: Final = "market"
ROUTER_HISTORY: Final = "history"
BRAIN_SIGNALS: Final = "signals"
TRADER_ORDERS: Final = "orders"
TRADER_EVENTS: Final = "events"

TYPE_TICKS: Final = "ticks"
TYPE_BAR: Final = "bar"
TYPE_BAR_PARTIAL: Final = "bar.partial"
TYPE_SIGNAL: Final = "signal"
TYPE_POSITIONS: Final = "positions"
TYPE_ORDER: Final = "order"
TYPE_ACK: Final = "ack"
TYPE_WATERMARK: Final = "watermark"
PARTIAL_SUFFIX: Final = ".partial"

# topic prefixes (SUB subscriptions and handler tables)
TICK_PREFIX: Final = "tick."
BAR_PREFIX: Final = "bar."
SIGNAL_PREFIX: Final = "signal."
EXEC_PREFIX: Final = "exec."
POS_PREFIX: Final = "pos."
AT_PREFIX: Final = "at."


class ProtocolError(TradehiveError, ValueError):
    """A record or topic that does not parse (garbage, unknown tag, a schema version this build cannot read)."""


class BarTopic(NamedTuple):
    timeframe: str
    symbol: str
    price: str
    partial: bool = False


def tick_topic(symbol: str) -> str:
    return f"{TICK_PREFIX}{symbol}"


def bar_topic(timeframe: str, symbol: str, price: str, partial: bool = False) -> str:
    return f"{BAR_PREFIX}{timeframe}.{symbol}.{price}{PARTIAL_SUFFIX if partial else ''}"


def wm_topic(symbol: str) -> str:
    """The router's watermark after each batch of ``symbol``: everything before it on the stream is out."""
    return f"wm.{symbol}"


def idle_topic(symbol: str) -> str:
    """A trader's ``idle.<SYMBOL>`` (event time): at its watermark (the integer payload) every decision up to it had
    run and nothing of ``symbol`` could fill any more (nothing in flight, resting or armed) until a new order."""
    return f"idle.{symbol}"


def signal_topic(brain: str, name: str) -> str:
    return f"{SIGNAL_PREFIX}{brain}.{name}"


def exec_topic(trader: str) -> str:
    return f"{EXEC_PREFIX}{trader}"


def pos_topic(trader: str) -> str:
    return f"{POS_PREFIX}{trader}"


def at_topic(trader: str) -> str:
    """The trader's :class:`QuotePosition` records (where its venue stood when each order reached it)."""
    return f"{AT_PREFIX}{trader}"


def _rest(topic: str, prefix: str) -> str:
    if not topic.startswith(prefix) or len(topic) == len(prefix):
        raise ProtocolError(f"topic {topic!r} is not a {prefix}<...> topic")
    return topic[len(prefix) :]


_TICK_SYMBOLS: dict[str, str] = {}


def parse_tick_topic(topic: str) -> str:
    """The symbol of ``tick.<SYMBOL>`` (cached per topic: this runs for every tick message)."""
    try:
        return _TICK_SYMBOLS[topic]
    except KeyError:
        symbol = _rest(topic, TICK_PREFIX)
        if len(_TICK_SYMBOLS) < 100_000:
            _TICK_SYMBOLS[topic] = symbol
        return symbol


@cache
def parse_bar_topic(topic: str) -> BarTopic:
    """``bar.<tf>.<SYMBOL>.<price>[.partial]`` -> :class:`BarTopic` (symbols may hold dots; cached)."""
    rest = _rest(topic, BAR_PREFIX)
    partial = rest.endswith(PARTIAL_SUFFIX)
    if partial:
        rest = rest[: -len(PARTIAL_SUFFIX)]
    tf, _, sym_price = rest.partition(".")
    symbol, _, price = sym_price.rpartition(".")
    if not (tf and symbol and price):
        raise ProtocolError(f"topic {topic!r} is not bar.<timeframe>.<symbol>.<price>[.partial]")
    return BarTopic(tf, symbol, price, partial)


def parse_signal_topic(topic: str) -> tuple[str, str]:
    """``signal.<brain>.<name>`` -> ``(brain, name)`` (brain names hold no dots: agentcore forbids them)."""
    brain, _, name = _rest(topic, SIGNAL_PREFIX).partition(".")
    if not (brain and name):
        raise ProtocolError(f"topic {topic!r} is not signal.<brain>.<name>")
    return brain, name


def parse_exec_topic(topic: str) -> str:
    """The trader of ``exec.<trader>``."""
    return _rest(topic, EXEC_PREFIX)


def parse_pos_topic(topic: str) -> str:
    """The trader of ``pos.<trader>``."""
    return _rest(topic, POS_PREFIX)


def tag_of(cls: type[msgspec.Struct]) -> str:
    """The msgspec tag of a tagged record or order message class (``OrderFilled`` -> ``"order_filled"``)."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise ProtocolError(f"{cls.__name__} has no string msgspec tag")
    return tag


_EVENT_TYPES: dict[type, str] = {}


def event_type(event: msgspec.Struct) -> str:
    """The message type an order event travels with: its msgspec tag (cached per class, hot path)."""
    cls = type(event)
    try:
        return _EVENT_TYPES[cls]
    except KeyError:
        tag = _EVENT_TYPES[cls] = tag_of(cls)
        return tag


class _Record(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TickHistoryRequest(_Record, frozen=True, tag="tick_history"):
    """Ask a feeder for ticks with ``start_ns <= ts < end_ns`` (the last ``limit`` of them when set)."""

    symbol: str
    start_ns: int
    end_ns: int
    limit: int | None = None


class StreamStatusRequest(_Record, frozen=True, tag="stream_status_request"):
    """Ask a feeder how far each of its tick streams has gone."""


class StreamStatus(_Record, frozen=True, tag="stream_status"):
    """Per symbol: ``[messages published (= the last sequence number on tick.<symbol>), last tick ts]``.

    A subscriber that joined late or missed the tail of a stream compares it with what it received and recovers
    the difference from the feeder's history (ZeroMQ SUB sockets silently miss what precedes their connection).
    """

    streams: dict[str, tuple[int, int]]


class BarHistoryRequest(_Record, frozen=True, tag="bar_history"):
    """Ask the router for bars: the last ``last_n`` closed bars, or those opening in [start_ns, end_ns)."""

    symbol: str
    timeframe: str = "1m"
    price: str = "bid"
    last_n: int | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    include_partial: bool = False


class Signal(_Record, frozen=True, tag="signal"):
    """A brain's published opinion, e.g. a volatility regime consumed by another brain."""

    brain: str
    name: str
    symbol: str
    value: float
    ts_ns: int
    data: dict[str, Any] = {}


class OrderAck(_Record, frozen=True, tag="order_ack"):
    """The trader's answer to an order intent: accepted for execution or rejected (with the rule)."""

    client_order_id: str
    accepted: bool
    duplicate: bool = False
    reason: str = ""
    rule: str = ""


class PositionReport(_Record, frozen=True, tag="positions"):
    trader: str
    ts_ns: int
    positions: dict[str, dict[str, float | None]]  # None: unknown (a flat position's average price)
    realised_pnl: float
    unrealised_pnl: float
    fees: float


class Watermark(_Record, frozen=True, tag="watermark"):
    """``agent`` has handled every ``symbol`` datum (every symbol when empty) with ``ts <= ts_ns``; ``ts_ns = 0``
    says hello: connected and listening. Brains send it to the trader (event-time execution) and consumers to
    the feeder (replay flow control)."""

    agent: str
    ts_ns: int
    symbol: str = ""


class QuotePosition(_Record, frozen=True, tag="quote_position"):
    """Where the trader's venue stood when an order reached it: the data time of the last ``symbol`` quote it had
    processed. Published on the trader's events (``at.<trader>``) for every order it decided on; a replay of a
    recorded session holds its venue at the same place for that order (live, a quote may have gone to the venue
    before a slow brain decided: ``sync_max_hold_s``)."""

    client_order_id: str
    symbol: str
    ts_ns: int


class ErrorReply(_Record, frozen=True, tag="error"):
    """Kept decodable for peers of an earlier build; roles now refuse through the wire error kind."""

    reason: str


Record = (
    TickHistoryRequest
    | StreamStatusRequest
    | StreamStatus
    | BarHistoryRequest
    | Signal
    | OrderAck
    | PositionReport
    | Watermark
    | QuotePosition
    | ErrorReply
)


class _Envelope(msgspec.Struct, frozen=True):
    v: int
    r: Record


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Envelope)


def encode(record: Record) -> bytes:
    return _encoder.encode(_Envelope(PROTOCOL_VERSION, record))


def decode(data: bytes | memoryview) -> Record:
    try:
        env = _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec raises the latter on bad UTF-8
        raise ProtocolError(f"undecodable record: {exc}") from exc
    if env.v != PROTOCOL_VERSION:
        raise ProtocolError(f"record schema version {env.v}, this build reads {PROTOCOL_VERSION}")
    return env.r
