"""``make fuzz`` (second half): coverage-guided fuzzing of the same decoders with atheris (libFuzzer), bounded.

Usage: ``uv run --with atheris==3.0.0 python tests/fuzz/atheris_run.py [--runs N] [--seconds S] [--only a,b]``:
per decoder, at most N inputs and at most S seconds (``ATHERIS_RUNS``, ``ATHERIS_SECONDS``; 1M / 60 s).
atheris is not a project dependency: ``uv run --with`` fetches its wheel (CPython 3.11/3.12 manylinux wheels
exist; elsewhere it builds from source and needs clang with libFuzzer). Each decoder runs in its own process
(libFuzzer exits at the end of its runs) over a corpus seeded from ``fuzz_targets``' valid inputs, with the
project's own code instrumented for coverage. An exception other than the decoder's documented error is a
crash: libFuzzer writes ``crash-*`` with the input into ``--artifacts`` and the run exits non-zero.
A frame-list target (the wire header) reads its input as: a count byte, then 2-byte lengths, then the frames.
Coverage reaches Python code only: the Lean and Binance readers' Numba kernels and msgspec's C decoders are
opaque to it (few features on those targets: mutation is then nearly blind, like fuzz_run.py's).
Measured (2 cores shared, load ~8): 2,000 runs of each decoder in 57 s; the readers and the CLI run 100-500
inputs/s, the pure decoders thousands.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INSTRUMENTED = ["agentcore", "marketcore", "tradehive", "fuzz_targets"]


def pack_frames(frames: list[bytes]) -> bytes:
    out = bytes([len(frames)]) + b"".join(struct.pack(">H", min(len(f), 0xFFFF)) for f in frames[:-1])
    return out + b"".join(frames)


def unpack_frames(data: bytes) -> list[bytes]:
    if not data:
        return []
    n, pos = min(data[0], 8) or 1, 1
    lengths = []
    for _ in range(n - 1):
        lengths.append(int.from_bytes(data[pos : pos + 2], "big"))
        pos += 2
    frames = []
    for length in lengths:
        frames.append(data[pos : pos + length])
        pos += length
    return [*frames, data[pos:]]


def fuzz_one(name: str, runs: int, seconds: int, artifacts: Path) -> None:
    """This process fuzzes ``name`` (never returns: libFuzzer exits)."""
    import atheris

    sys.path.insert(0, str(HERE))
    with atheris.instrument_imports(include=INSTRUMENTED):
        import fuzz_targets as ft

        target = ft.TARGETS[name]()
        seeds = target.seeds()  # imports the decoder's modules under instrumentation
    corpus = Path(tempfile.mkdtemp(prefix=f"atheris-{name}-"))
    longest = 4096
    for i, seed in enumerate(seeds):
        data = pack_frames(seed) if target.frames else seed
        (corpus / f"seed{i}").write_bytes(data)
        longest = max(longest, len(data))

    def one(data: bytes) -> None:
        value: Any = unpack_frames(data) if target.frames else data
        try:
            target.run(value)
        except target.clean:
            pass

    flags = [f"-runs={runs}", f"-max_total_time={seconds}", f"-artifact_prefix={artifacts}/{name}-",
             "-rss_limit_mb=2048", f"-max_len={longest}", "-print_final_stats=1"]  # fmt: skip
    atheris.Setup([sys.argv[0], *flags, str(corpus)], one)
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("ATHERIS_RUNS", "1000000")))
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("ATHERIS_SECONDS", "60")))
    ap.add_argument("--only", default=os.environ.get("FUZZ_ONLY", ""))
    ap.add_argument("--artifacts", default=".bench/atheris")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    artifacts = Path(args.artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    if args.child:
        fuzz_one(args.child, args.runs, args.seconds, artifacts)
        return 0
    sys.path.insert(0, str(HERE))
    import fuzz_targets as ft

    names = [n for n in args.only.split(",") if n] or list(ft.TARGETS)
    failed = []
    print(f"{'decoder':<10} {'seconds':>8}  result (atheris: <= {args.runs} runs, <= {args.seconds} s each)")
    for name in names:
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", name, "--runs", str(args.runs), "--seconds", str(args.seconds),
               "--artifacts", str(artifacts)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        stats = [
            ln
            for ln in proc.stderr.splitlines()
            if ln.startswith(("stat::number_of_executed_units", "INFO: Done"))
        ]
        cov = [ln for ln in proc.stderr.splitlines() if " cov: " in ln][-1:]
        ok = proc.returncode == 0
        print(f"{name:<10} {dt:>8.1f}  {'ok' if ok else 'CRASH'} {' '.join(cov + stats)[:160]}", flush=True)
        if not ok:
            failed.append(name)
            print(proc.stderr[-3000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
