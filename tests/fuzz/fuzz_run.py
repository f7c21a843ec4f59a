"""``make fuzz``: >= 1M mutated inputs per decoder (``FUZZ_CASES``), a report of outcomes and rates.

Usage: ``uv run python tests/fuzz/fuzz_run.py [--cases N] [--seed S] [--only wire,orders] [--out FILE]``.
Exit status 1 when any decoder raised something other than its own error (the input is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_targets as ft  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=int(os.environ.get("FUZZ_CASES", "1000000")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "1")))
    ap.add_argument("--only", default=os.environ.get("FUZZ_ONLY", ""))
    ap.add_argument("--out", default="", help="also write the report as JSON here")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(ft.TARGETS)
    report, failed = {}, False
    print(f"{'decoder':<10} {'cases':>10} {'seconds':>9} {'cases/s':>9}  outcomes")
    for name in names:
        target = ft.TARGETS[name]()
        t0 = time.perf_counter()
        try:
            outcomes = ft.fuzz(target, args.cases, seed=args.seed)
        except ft.FuzzFailure as exc:
            print(f"{name:<10} FAILED: {exc}")
            report[name] = {"failed": str(exc)}
            failed = True
            continue
        dt = time.perf_counter() - t0
        report[name] = {"cases": args.cases, "seconds": round(dt, 1), "outcomes": outcomes}
        top = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])[:5])
        print(f"{name:<10} {args.cases:>10} {dt:>9.1f} {args.cases / dt:>9.0f}  {top}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"seed": args.seed, "decoders": report}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
