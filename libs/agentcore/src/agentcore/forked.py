"""Fork-started agents: the parent has imported agentcore and the agent class once; each child only runs it.

An exec'd agent spends ~0.5 s importing numpy, zmq, Pyro5 and structlog before it does anything; a forked one
starts with them imported. Forking is only safe from a single-threaded parent (a lock held by another thread
would stay held forever in the child), so :func:`can_fork` says when it may be used, and
:mod:`agentcore.process` falls back to exec otherwise. The child makes its own ZeroMQ context, Pyro daemon
and HTTP server (pyzmq and Pyro5 objects inherited from the parent are never used there) and leaves with
``os._exit`` so it never runs the parent's code after the fork.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from agentcore.errors import AgentcoreError


def can_fork() -> bool:
    """True on POSIX when this process runs a single Python thread."""
    return hasattr(os, "fork") and threading.active_count() == 1


class ForkedProcess:
    """The ``subprocess.Popen`` subset :class:`agentcore.process.AgentProcess` uses, for a forked child."""

    def __init__(self, pid: int, stderr: Any = None) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stderr = stderr  # the read end of the child's stderr when captured (like Popen(stderr=PIPE))

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: it is gone, the code is unknown
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"agent pid {self.pid}", timeout or 0.0)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _stderr_fd(stderr: Any) -> int | None:
    if stderr is None:
        return None
    if stderr == subprocess.DEVNULL:
        return os.open(os.devnull, os.O_WRONLY)
    if isinstance(stderr, int) and stderr >= 0:
        return stderr
    if hasattr(stderr, "fileno"):
        return int(stderr.fileno())
    raise AgentcoreError(f"stderr={stderr!r} is not supported by the fork start method (a file or DEVNULL)")


def fork_agent(
    class_path: str, name: str, env: Mapping[str, str], wfd: int, rfd: int, stderr: Any
) -> ForkedProcess:
    """Fork a child that runs ``class_path`` as agent ``name`` with ``env``, reporting ready on ``wfd``."""
    import agentcore.runtime  # noqa: F401 - imported before the fork, not in every child
    from agentcore.remoting import import_object

    try:
        import_object(class_path)  # imported once here, so every child starts with it (and errors show now)
    except (ImportError, AttributeError, ValueError) as exc:
        raise AgentcoreError(f"cannot import agent class {class_path!r}: {exc}") from exc
    err_fd = _stderr_fd(stderr)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or the child would write the parent's buffered output again
    pid = os.fork()
    if pid:
        if err_fd is not None and stderr == subprocess.DEVNULL:
            os.close(err_fd)
        return ForkedProcess(pid)
    code = 70  # EX_SOFTWARE unless the agent says otherwise
    try:
        os.close(rfd)
        if err_fd is not None:
            os.dup2(err_fd, 2)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(env)
        from agentcore.runtime import main

        code = main([class_path, "--name", name, "--ready-fd", str(wfd)])
    except BaseException:  # noqa: BLE001 - the child must never fall back into the parent's code
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def fork_call(fn: Callable[[], Any], env: Mapping[str, str]) -> ForkedProcess:
    """Run ``fn()`` in a forked child with ``env``, stdout to /dev/null and stderr captured (``.stderr``)."""
    rfd, wfd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid:
        os.close(wfd)
        return ForkedProcess(pid, os.fdopen(rfd, "rb"))
    code = 70
    try:
        os.close(rfd)
        os.dup2(wfd, 2)
        os.close(wfd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        os.environ.clear()
        os.environ.update(env)
        fn()
        code = 0
    except BaseException:  # noqa: BLE001 - the child must never fall back into the parent's code
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)
