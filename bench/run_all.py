"""Run every benchmark in turn: ``bench/*.py`` and ``bench/*/main.py`` (what ``make bench`` runs).

Run: ``uv run python bench/run_all.py [--quick] [NAME ...]`` — ``--quick`` is passed on to the scripts that
accept it (they say so with ``--quick`` in their docstring); NAMEs select scripts by substring. Each script
prints its own medians and ratios; this prints a one-line summary per script and exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    me = Path(__file__).name
    found = sorted(p for p in HERE.glob("*.py") if p.name != me and not p.name.startswith("_"))
    return found + sorted(HERE.glob("*/main.py"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()

    def wanted(p: Path) -> bool:
        return not args.names or any(n in str(p.relative_to(HERE)) for n in args.names)

    chosen = [p for p in scripts() if wanted(p)]
    summary = []
    for path in chosen:
        cmd = [sys.executable, str(path)]
        if args.quick and "--quick" in path.read_text():
            cmd.append("--quick")
        rel = path.relative_to(HERE.parent)
        print(f"\n=== {rel} {' '.join(cmd[2:])}", flush=True)
        t0 = time.monotonic()
        code = subprocess.call(cmd, cwd=HERE.parent)
        summary.append((str(rel), code, time.monotonic() - t0))
    print("\n=== summary")
    for rel, code, dt in summary:
        print(f"{'ok    ' if code == 0 else 'FAILED'} {rel} ({dt:.0f} s)")
    return 1 if any(code for _, code, _ in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
