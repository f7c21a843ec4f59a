"""ExecutionEngine cost per intent and per quote batch, in memory and with the journal (sync full/normal/off).

Run: ``uv run python bench/execution.py [--quick]``. One process, no sockets: a market order submitted and
filled by the paper venue (journaled before the ack when a journal is on), and a quote batch of 100 rows with
nothing working (the common case). Prints medians over repetitions and the ratio to the in-memory engine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from marketcore.clock import DataClock
from marketcore.execution import ExecutionEngine, Journal
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import ClientOrderId, OrderSide, SubmitOrder
from marketcore.paper import PaperVenue, PaperVenueConfig
from marketcore.risk import RiskEngine, RiskLimits
from marketcore.schema import TICK_DTYPE

INST = InstrumentRegistry.default()


def engine(path: Path | None, sync: str) -> ExecutionEngine:
    journal = Journal(path, sync) if path else None  # type: ignore[arg-type]
    clock = DataClock(1)
    venue = PaperVenue(PaperVenueConfig(supports_brackets=False), INST, clock, journal)
    return ExecutionEngine(venue, INST, RiskEngine(RiskLimits(), INST), clock, journal=journal)


def run(path: Path | None, sync: str, orders: int, reps: int) -> tuple[float, float]:
    per_order, per_batch = [], []
    batch = np.zeros(100, TICK_DTYPE)
    batch["bid"], batch["ask"], batch["last"] = 1.1, 1.1002, np.nan
    for r in range(reps):
        eng = engine(path.with_name(f"{path.stem}-{r}.journal") if path else None, sync)
        batch["ts"] = np.arange(1, 101)
        eng.on_ticks("EURUSD", batch)
        t0 = time.perf_counter()
        for i in range(orders):
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            eng.submit(SubmitOrder(ClientOrderId(f"o-{i}"), "EURUSD", side, 1000.0))
        per_order.append((time.perf_counter() - t0) / orders)
        t0 = time.perf_counter()
        for k in range(orders):
            batch["ts"] = np.arange(1, 101) + 1000 * (k + 1)
            eng.on_ticks("EURUSD", batch)
        per_batch.append((time.perf_counter() - t0) / orders)
        if eng.journal is not None:
            eng.journal.close()
    return statistics.median(per_order), statistics.median(per_batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    orders, reps = (200, 3) if args.quick else (1000, 5)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("in memory", None, "off")] + [
            (f"journal sync={s}", Path(tmp) / f"bench-{s}.journal", s) for s in ("off", "normal", "full")
        ]
        base = None
        print(f"{'engine':22} {'us/intent (ack)':>16} {'x':>6} {'us/quote batch(100)':>20} {'x':>6}")
        for label, path, sync in rows:
            o, b = run(path, sync, orders, reps)
            base = base or (o, b)
            print(f"{label:22} {o * 1e6:16.1f} {o / base[0]:6.2f} {b * 1e6:20.1f} {b / base[1]:6.2f}")


if __name__ == "__main__":
    main()
