"""BrainInbox: bars, signals and fills handled in decision-time order whatever order they arrived in."""

from __future__ import annotations

import itertools

from tradehive.eventtime import ROUTER, BrainInbox


def _run(arrivals):
    seen: list[str] = []
    marks: list[int] = []
    inbox = BrainInbox(["regime"], lambda s, ts: marks.append(ts), trader="trader")
    for kind, up, d, name in arrivals:
        if kind == "item":
            inbox.put(up, "EURUSD", d, seen.append, name)
        else:
            inbox.watermark(up, "EURUSD", d)
    return seen, marks


ITEMS = [
    ("item", ROUTER, 60, "bar60"), ("item", ROUTER, 120, "bar120"), ("wm", ROUTER, 125, ""),
    ("item", "regime", 60, "sig60"), ("wm", "regime", 125, ""),
    ("item", "trader", 90, "fill90"), ("wm", "trader", 119, ""),
]  # fmt: skip


def test_every_arrival_order_gives_the_same_handling_order():
    """Per upstream the order is fixed (a socket keeps it); across upstreams any interleaving may happen."""
    streams = {u: [a for a in ITEMS if a[1] == u] for u in (ROUTER, "regime", "trader")}
    results = set()
    for order in itertools.permutations([ROUTER] * 3 + ["regime"] * 2 + ["trader"] * 2):
        pos = dict.fromkeys(streams, 0)
        arrivals = []
        for u in order:
            arrivals.append(streams[u][pos[u]])
            pos[u] += 1
        seen, _ = _run(arrivals)
        results.add(tuple(seen))
    # a signal of the same time before the bar; a fill before the next bar; everything handled
    assert results == {("sig60", "bar60", "fill90", "bar120")}


def test_the_watermark_excludes_the_trader_and_waits_for_pending_items():
    seen, marks = _run([("item", ROUTER, 60, "bar60"), ("wm", ROUTER, 70, ""), ("wm", "regime", 70, "")])
    assert seen == []  # bar60 waits for the trader's fills before 60
    assert marks == [59]  # every decision before 60 is taken: the trader may fill up to there (no cycle)
    seen, marks = _run([("item", ROUTER, 60, "bar60"), ("wm", ROUTER, 70, ""), ("wm", "regime", 70, ""),
                        ("wm", "trader", 59, "")])  # fmt: skip
    assert seen == ["bar60"] and marks[-1] == 70


def test_trader_gate_without_brains_takes_decisions_without_error():
    """A trader without event time (no sync brains) must accept stamped decisions: the gate is a no-op."""
    from tradehive.eventtime import TraderGate

    sent: list[tuple] = []

    class _Agent:
        name = "trader"

        def send(self, *a, **k):
            sent.append((a, k))

        def every(self, *a):
            raise AssertionError("no timer without a hold limit")

        def at_pass_end(self, fn):
            hooks.append(fn)

    hooks: list = []
    released: list[str] = []
    gate = TraderGate(_Agent(), [], lambda s, t, o: released.append(s), "events")
    ran: list[str] = []
    gate.on_decision("brain-trend", "EURUSD", 1_000, "c-1", lambda: ran.append("c-1"))
    gate.on_watermark("brain-trend", "EURUSD", 2_000)
    for fn in hooks:  # the loop's pass ends
        fn()
    assert sent == [] and released == [] and ran == ["c-1"]  # run at once


def test_an_idle_trader_is_not_waited_for_until_the_brain_orders_again():
    seen: list[str] = []
    marks: list[int] = []
    inbox = BrainInbox([], lambda s, ts: marks.append(ts), trader="trader")
    for d in (60, 120, 180):
        inbox.put(ROUTER, "EURUSD", d, seen.append, f"bar{d}")
    inbox.watermark(ROUTER, "EURUSD", 200)
    assert seen == []  # no word from the trader: bar60 waits for its fills before 60
    inbox.idle("somebody-else", "EURUSD", 10)  # only the trader this brain follows counts
    assert seen == []
    inbox.idle("trader", "EURUSD", 10)  # idle at 10, and this brain never ordered: no fill of it can come
    assert seen == ["bar60", "bar120", "bar180"] and marks[-1] == 200

    # an order decided at 240: the next bar waits for the trader's fills again
    inbox.put(ROUTER, "EURUSD", 240, lambda item: (seen.append(item), inbox.ordered("EURUSD", 240)), "bar240")
    inbox.put(ROUTER, "EURUSD", 300, seen.append, "bar300")
    inbox.watermark(ROUTER, "EURUSD", 400)
    assert seen[-1] == "bar240"  # bar240 ran (idle at 10 covered no order), bar300 waits
    inbox.idle("trader", "EURUSD", 200)  # an idle declared before the order ran: still waiting
    assert seen[-1] == "bar240"
    inbox.put("trader", "EURUSD", 250, seen.append, "fill250")
    inbox.watermark("trader", "EURUSD", 299)  # every fill before 300 is out
    assert seen[-2:] == ["fill250", "bar300"]
    inbox.put(ROUTER, "EURUSD", 360, seen.append, "bar360")
    inbox.watermark(ROUTER, "EURUSD", 500)
    assert seen[-1] == "bar300"  # the trader busy (no idle since the order): bar360 waits for its watermark
    inbox.idle("trader", "EURUSD", 299)  # flat again after running the order at 240
    assert seen[-1] == "bar360"


def test_the_trader_declares_idle_once_per_spell_after_its_watermark():
    from tradehive.eventtime import TraderGate

    sent: list[tuple[str, int]] = []
    hooks: list = []
    busy = {"EURUSD": False}

    class _Agent:
        name = "trader"

        def send(self, alias, data, topic="", type_=""):
            sent.append((topic, data))

        def at_pass_end(self, fn):
            hooks.append(fn)

    import numpy as np
    from marketcore.schema import TICK_DTYPE

    def ticks(*ts: int) -> np.ndarray:
        out = np.zeros(len(ts), dtype=TICK_DTYPE)
        out["ts"] = ts
        return out

    gate = TraderGate(_Agent(), ["brain-trend"], lambda s, t, o: None, "events", idle=lambda s: not busy[s])

    def pass_end() -> list[tuple[str, int]]:
        sent.clear()
        for fn in hooks:
            fn()
        return list(sent)

    gate.on_ticks("EURUSD", ticks(100, 200), 0)
    assert pass_end() == []  # no brain watermark yet: nothing released, no watermark, no idle
    gate.on_watermark("brain-trend", "EURUSD", 150)
    assert pass_end() == [("wm.EURUSD", 150), ("idle.EURUSD", 150)]
    gate.on_watermark("brain-trend", "EURUSD", 180)
    assert pass_end() == [("wm.EURUSD", 180)]  # still the same idle spell: said once

    def run() -> None:
        busy["EURUSD"] = True  # the order rests at the venue

    gate.on_decision("brain-trend", "EURUSD", 190, "c-1", run)
    gate.on_watermark("brain-trend", "EURUSD", 200)
    assert pass_end() == [("wm.EURUSD", 200)]  # busy: no idle
    busy["EURUSD"] = False  # filled
    gate.on_ticks("EURUSD", ticks(300), 0)
    gate.on_watermark("brain-trend", "EURUSD", 300)
    assert pass_end() == [("wm.EURUSD", 300), ("idle.EURUSD", 300)]
