"""A TCP relay between the adapter and a counterparty that a test can cut, to drop a FIX connection mid-session.

``cut()`` closes every relayed connection at once (both sides see a reset/EOF, as with a pulled cable or a
failed NAT); with ``blackhole=True`` the bytes the client sends meanwhile are swallowed (lost in flight) until
the cut. ``pause()`` refuses new connections until ``resume()``.
"""

from __future__ import annotations

import socket
import threading


class TcpCutter:
    def __init__(self, target_port: int, listen_port: int = 0, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self._server = socket.create_server((host, listen_port))
        self.port = int(self._server.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._accepting = threading.Event()
        self._accepting.set()
        self.blackhole = False
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._accepting.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and self.blackhole:
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def pause(self) -> None:
        self._accepting.clear()

    def resume(self) -> None:
        self.blackhole = False
        self._accepting.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._server.close()


__all__ = ["TcpCutter"]
