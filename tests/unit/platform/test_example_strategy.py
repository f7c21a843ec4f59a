"""The guide's example strategy (examples/bollinger_rsi.py), loaded from its file the way every command loads it,
run by the real StrategyRunner over real FXCM minute bars: it sends bracketed intents sized by the instrument,
and its parameters change what it does. Orders are filled at once at the bar's close by the test (no venue)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from marketcore.io.lean import read_lean_quote_bars
from marketcore.orders import ClientOrderId, Liquidity, OrderFilled, SubmitOrder, VenueOrderId, decode
from marketcore.schema import BAR_DTYPE
from tradehive import protocol as p
from tradehive.loader import load_strategy_class
from tradehive.runner import StrategyRunner

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = f"{ROOT / 'examples' / 'bollinger_rsi.py'}:BollingerRsi"
DAYS = ("20140506", "20140507", "20140508")


@pytest.fixture(scope="module")
def eurusd_bars(data_dir: Path) -> np.ndarray:
    """Three days of real EURUSD one-minute bid bars (FXCM, as recorded)."""
    days = [read_lean_quote_bars(data_dir / "fxcm" / "minute" / "eurusd" / f"{d}_quote.zip")[0] for d in DAYS]
    bars = np.concatenate(days)
    assert bars.dtype == BAR_DTYPE and bars.size > 3000
    return bars


class Wire:
    """The runner's transport: keeps the orders; history is what the test hands it."""

    def __init__(self, history: np.ndarray) -> None:
        self.history = history
        self.orders: list[SubmitOrder] = []

    def send_order(self, data: bytes, origin_ns: int, resend: bool = False) -> None:
        cmd = decode(data)
        assert isinstance(cmd, SubmitOrder)
        self.orders.append(cmd)

    def send_signal(self, signal: p.Signal, origin_ns: int) -> None:
        pass

    def fetch_bars(self, symbol: str, last_n: int, end_ns: int) -> np.ndarray:
        return self.history[self.history["ts"] < end_ns][-last_n:]


def run(bars: np.ndarray, params: dict[str, object], warmup: int = 100) -> tuple[list[SubmitOrder], object]:
    """Warm-up bars as history, then one closed bar at a time (as event time delivers them); every order is
    filled at once at that bar's close."""
    cls = load_strategy_class(EXAMPLE)
    wire = Wire(bars[:warmup])
    runner = StrategyRunner("brain-x", "t", wire, timeframe_ns=60_000_000_000)
    strategy = cls(runner, params)
    runner.attach(strategy)
    runner.warming_up = False
    for i in range(warmup, bars.size):
        n = len(wire.orders)
        runner.bars("EURUSD", bars[i : i + 1], origin_ns=0, partial=False, warmup_bars=warmup)
        for cmd in wire.orders[n:]:
            runner.ack(p.OrderAck(client_order_id=cmd.client_order_id, accepted=True))
            runner.fill(OrderFilled(ClientOrderId(cmd.client_order_id), VenueOrderId("V"), f"F{i}", cmd.symbol,
                                    cmd.side, float(bars["close"][i]), cmd.qty, 0.0, Liquidity.TAKER,
                                    int(bars["ts"][i]) + 60_000_000_000))  # fmt: skip
    return wire.orders, strategy


def test_the_example_trades_real_bars_with_brackets_at_the_instruments_size(eurusd_bars: np.ndarray) -> None:
    orders, strategy = run(eurusd_bars, {})
    entries = [o for o in orders if o.stop_loss is not None]
    exits = [o for o in orders if o.stop_loss is None]
    assert len(entries) >= 10, "three days of EURUSD minutes must give mean-reversion entries"
    assert abs(len(entries) - len(exits)) <= 1  # every entry closed (the last one may still be open)
    for o in entries:
        assert o.qty == 10_000.0  # EURUSD's default order size (the instrument registry), no qty given
        assert o.take_profit is not None
        if o.side.sign > 0:  # a long: stop below, target (the middle band) above the stop
            assert o.stop_loss < o.take_profit
        else:
            assert o.stop_loss > o.take_profit
        assert round(o.stop_loss, 5) == o.stop_loss  # on EURUSD's tick grid
    assert all(o.data_ts_ns > 0 for o in orders)  # each decision carries its bar's end (event time)
    assert strategy.state()["entries"] == len(entries)


def test_parameters_change_what_it_does(eurusd_bars: np.ndarray) -> None:
    base, _ = run(eurusd_bars, {})
    strict, _ = run(eurusd_bars, {"k": 3.0, "oversold": 20.0, "overbought": 80.0})
    longs, _ = run(eurusd_bars, {"allow_short": False, "qty": 2500.0})
    n = sum(o.stop_loss is not None for o in base)
    assert sum(o.stop_loss is not None for o in strict) < n / 2  # wider bands, harder RSI: far fewer entries
    assert longs and all(o.side.sign > 0 for o in longs if o.stop_loss is not None)
    assert {o.qty for o in longs} == {2500.0}


def test_set_param_live_reshapes_the_indicators(eurusd_bars: np.ndarray) -> None:
    orders, strategy = run(eurusd_bars[:400], {})
    old = strategy.set_param("period", "30")  # the brain passes text from the command line: converted to int
    assert old == 20 and strategy.params["period"] == 30 and strategy._ind == {}
    with pytest.raises(KeyError, match="no parameter"):
        strategy.set_param("perido", 3)
