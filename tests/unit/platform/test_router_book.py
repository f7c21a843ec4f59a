"""Router building blocks: input validation and the per-symbol book (history, backfill de-duplication)."""

from __future__ import annotations

import numpy as np
import pytest
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive.routing.book import SymbolBook
from tradehive.routing.validate import clean_ticks

S = 1_000_000_000


def quotes(ts: list[int], bid: list[float], ask: list[float]) -> np.ndarray:
    t = np.zeros(len(ts), TICK_DTYPE)
    t["ts"], t["bid"], t["ask"], t["last"] = ts, bid, ask, np.nan
    return t


def test_clean_ticks_keeps_crossed_and_locked_quotes() -> None:
    t = quotes([1, 2, 3], [1.1, 1.2, 1.3], [1.0, 1.2, 1.31])  # crossed, locked, normal
    good, reasons = clean_ticks(t, None, "quote")
    assert good is t and reasons == {}


def test_clean_ticks_counts_bad_prices_and_out_of_order() -> None:
    t = quotes([5, 6, 4, 7, 8], [1.0, np.nan, 1.0, -1.0, 1.0], [1.1, 1.1, 1.1, 1.1, 1.1])
    good, reasons = clean_ticks(t, 5, "quote")
    assert list(good["ts"]) == [5, 8]
    assert reasons == {"bad_price": 2, "out_of_order": 1}


def test_clean_ticks_trade_feed_needs_last_and_volume() -> None:
    t = np.zeros(3, TICK_DTYPE)
    t["ts"] = [1, 2, 3]
    t["bid"] = t["ask"] = np.nan
    t["last"] = [0.001, 0.002, np.inf]
    t["volume"] = [1.0, -2.0, 1.0]
    good, reasons = clean_ticks(t, None, "trade")
    assert list(good["ts"]) == [1] and reasons == {"bad_price": 2}


def book() -> SymbolBook:
    sample = quotes([0], [1.0], [1.1])
    return SymbolBook("EURUSD", sample, ["1m"], [], "skip", "+00:00", 1000, 100)


def test_book_builds_bars_and_serves_history_with_partial() -> None:
    b = book()
    assert b.kind == "quote" and b.sources == ("bid", "ask", "mid")
    b.add(quotes([10 * S, 70 * S, 80 * S], [1.0, 2.0, 3.0], [1.5, 2.5, 3.5]))
    closed = b.bars(p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price="bid"))
    assert list(closed["ts"]) == [0] and closed["close"][0] == 1.0
    both = b.bars(p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price="bid", include_partial=True))
    assert list(both["ts"]) == [0, 60 * S] and both["high"][1] == 3.0 and both["count"][1] == 2
    # a timeframe not built live is computed from the tick history
    five = b.bars(p.BarHistoryRequest(symbol="EURUSD", timeframe="5m", price="ask"))
    assert five.size == 1 and five["open"][0] == 1.5 and five["close"][0] == 3.5
    assert b.ticks(0, 75 * S, None).size == 2 and b.ticks(0, 2**62, 1)["ts"][0] == 80 * S


def test_skip_seen_drops_only_what_was_ingested_at_the_boundary() -> None:
    b = book()
    b.add(quotes([1, 2, 2], [1.0, 1.0, 1.1], [1.1, 1.1, 1.2]))  # two ticks at ts=2 already seen
    history = quotes(
        [2, 2, 2, 3], [1.0, 1.1, 1.2, 1.3], [1.1, 1.2, 1.3, 1.4]
    )  # a third tick at ts=2 was missed
    fresh = b.skip_seen(history)
    assert list(fresh["ts"]) == [2, 3] and fresh["bid"][0] == 1.2


def test_history_request_of_unknown_price_is_refused() -> None:
    with pytest.raises(ValueError):
        book().bars(p.BarHistoryRequest(symbol="EURUSD", timeframe="2m", price="nope"))
