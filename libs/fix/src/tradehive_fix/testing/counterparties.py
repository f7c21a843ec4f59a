"""QuickFIX's own example acceptors as counterparties: ``executor`` (fills every limit order at its price) and
``ordermatch`` (a price-time-priority limit book, FIX 4.2, limit/DAY orders only).

Debian's ``libquickfix-doc`` ships their sources (gzipped) and ``libquickfix-dev`` the engine; :func:`build`
compiles them once with ``g++ -std=c++11 -I.`` into ``~/.cache/tradehive/fix/<kind>-<hash>/`` (the hash covers
the sources and the compiler, so an upgraded package rebuilds) and reuses the binary afterwards.
:class:`Counterparty` runs one with a generated settings file (FileStore under its own directory, so its
sequence numbers persist too) and its sent messages readable for checks (:meth:`Counterparty.sent_messages`).
They bind every interface: run them inside a loopback-only network namespace (``testing.netns``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tradehive_fix.errors import FixError
from tradehive_fix.message import FixMessage

EXAMPLES = Path("/usr/share/doc/libquickfix-doc/examples")
_SOURCES = {
    "executor": ("executor/C++", ["Application.cpp", "executor.cpp"]),
    "ordermatch": ("ordermatch", ["Application.cpp", "Market.cpp", "ordermatch.cpp"]),
}
BEGIN_STRING = {"executor": "FIX.4.4", "ordermatch": "FIX.4.2"}


class CounterpartyUnavailable(FixError):
    """The QuickFIX examples or a compiler are missing (install libquickfix-dev, libquickfix-doc, g++)."""


def cache_root() -> Path:
    base = os.environ.get("TRADEHIVE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tradehive")
    return Path(base) / "fix"


def build(kind: str) -> Path:
    """The compiled ``executor`` or ``ordermatch`` (built on first use, ~30 s; cached by source hash)."""
    if kind not in _SOURCES:
        raise FixError(f"unknown counterparty {kind!r}; known: {sorted(_SOURCES)}")
    subdir, units = _SOURCES[kind]
    src = EXAMPLES / subdir
    if not src.is_dir() or not Path("/usr/include/quickfix/Session.h").exists():
        raise CounterpartyUnavailable(
            "QuickFIX examples/headers missing: apt-get install libquickfix-dev libquickfix-doc"
        )
    gxx = shutil.which("g++")
    if gxx is None:
        raise CounterpartyUnavailable("g++ not found: apt-get install g++")
    files = sorted(
        p for p in src.iterdir() if p.suffix in (".h", ".cpp") or p.name.endswith((".cpp.gz", ".h.gz"))
    )
    digest = hashlib.sha256(subprocess.run([gxx, "--version"], capture_output=True).stdout)
    for p in files:
        digest.update(p.name.encode() + p.read_bytes())
    out_dir = cache_root() / f"{kind}-{digest.hexdigest()[:12]}"
    binary = out_dir / kind
    if binary.exists():
        return binary
    work = out_dir.with_name(out_dir.name + f".build-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for p in files:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        (work / p.name.removesuffix(".gz")).write_bytes(data)
    (work / "config.h").write_text("")  # autoconf's header: empty is enough for these examples
    cmd = [gxx, "-std=c++11", "-O1", "-w", "-I.", "-o", kind, *units, "-lquickfix", "-lpthread"]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CounterpartyUnavailable(f"building {kind} failed:\n{proc.stderr[-2000:]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    os.replace(work / kind, binary)  # atomic: a concurrent build never sees half a binary
    shutil.rmtree(work, ignore_errors=True)
    return binary


@dataclass(frozen=True)
class SessionSpec:
    """One session the acceptor takes: its own CompID and the client's."""

    sender_comp_id: str  # the counterparty's id (the client's TargetCompID)
    target_comp_id: str  # the client's SenderCompID


class Counterparty:
    """A running executor/ordermatch acceptor on ``port`` (loopback reachable) with its own FileStore."""

    def __init__(self, kind: str, workdir: Path, port: int, sessions: Iterable[SessionSpec]) -> None:
        self.kind, self.workdir, self.port = kind, Path(workdir), port
        self.sessions = list(sessions)
        self.begin_string = BEGIN_STRING[kind]
        self.proc: subprocess.Popen[bytes] | None = None

    def settings_text(self) -> str:
        lines = ["[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={self.port}",
                 f"FileStorePath={self.workdir / 'store'}", "StartTime=00:00:00", "EndTime=00:00:00",
                 "UseDataDictionary=N", "ResetOnLogon=N", "ResetOnDisconnect=N", "ResetOnLogout=N"]  # fmt: skip
        for s in self.sessions:
            lines += ["[SESSION]", f"BeginString={self.begin_string}", f"SenderCompID={s.sender_comp_id}",
                      f"TargetCompID={s.target_comp_id}"]  # fmt: skip
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> Counterparty:
        binary = build(self.kind)
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / f"{self.kind}.cfg"
        cfg.write_text(self.settings_text())
        out = open(self.workdir / "stdout.log", "ab")  # noqa: SIM115 - owned by the child process
        # ordermatch reads commands from stdin and spins on EOF: give it a pipe that stays open
        self.proc = subprocess.Popen([str(binary), str(cfg)], stdin=subprocess.PIPE, stdout=out, stderr=out,
                                     cwd=self.workdir)  # fmt: skip
        out.close()
        wait_port("127.0.0.1", self.port, timeout, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdin:
            proc.stdin.close()

    def sent_messages(self, client_comp_id: str) -> list[FixMessage]:
        """Every application message this acceptor persisted as sent to ``client_comp_id`` (its FileStore)."""
        spec = next(s for s in self.sessions if s.target_comp_id == client_comp_id)
        body = (
            self.workdir / "store" / f"{self.begin_string}-{spec.sender_comp_id}-{spec.target_comp_id}.body"
        )
        if not body.exists():
            return []
        return _split_messages(body.read_bytes().decode("ascii", "replace"))

    def __enter__(self) -> Counterparty:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _split_messages(text: str) -> list[FixMessage]:
    out = []
    for chunk in text.split("8=FIX")[1:]:
        raw = "8=FIX" + chunk
        end = raw.find("\x0110=")
        if end < 0:
            continue
        raw = raw[: raw.find("\x01", end + 1) + 1]
        out.append(FixMessage.parse(raw))
    return out


def wait_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise FixError(f"process exited ({proc.returncode}) before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise FixError(f"nothing listening on {host}:{port} after {timeout}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = ["BEGIN_STRING", "Counterparty", "CounterpartyUnavailable", "SessionSpec", "build", "cache_root",
           "free_port", "wait_port"]  # fmt: skip
