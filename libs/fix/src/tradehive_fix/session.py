"""The raw client: one QuickFIX initiator session, as the FIX protocol sees it.

QuickFIX does the protocol: logon/logout, heartbeats and test requests, sequence numbers in a FileStore under
``data_dir`` (so they continue after a restart or a SIGKILL), resend requests and gap fills after a reconnect.
This class adds what a trading process needs around it:

- every received application message (and the session-level rejects) is copied into an immutable
  :class:`FixMessage` inside the engine's callback and handed to ``on_message`` (from QuickFIX's thread);
- ``send`` refuses to queue while logged out (a stale order must not go out later by surprise);
- reconnects back off: after a lost session the engine is held disabled for ``reconnect_s``, doubling up to
  ``reconnect_max_s`` while logons keep failing, and reset once a logon succeeds;
- credentials are added to the outgoing Logon only (553/554); they are not logged.

Engine rules of the Python binding: a ``quickfix.Message`` is never kept past its callback, and ``stop()``
must run before the interpreter exits (it is registered with ``atexit``).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import quickfix as fix
import structlog

from tradehive_fix.config import Credentials, FixSessionConfig, quickfix_settings
from tradehive_fix.errors import FixConfigError, FixSessionError
from tradehive_fix.message import CL_ORD_ID, MSG_SEQ_NUM, MSG_TYPE, PASSWORD, USERNAME, FixMessage

MessageHandler = Callable[[FixMessage], None]
StatusHandler = Callable[[str, str], None]  # (event, detail): "logon" | "logout" | "error"

_ADMIN_WANTED = {"3", "5", "j"}  # session Reject and Logout (their Text) reach the domain client
_SENT_MEMORY = 100_000  # outgoing seq -> ClOrdID remembered for rejects that refer to a seq number


class _App(fix.Application):  # type: ignore[misc]
    def __init__(self, owner: FixSession) -> None:
        super().__init__()
        self.owner = owner

    def onCreate(self, sid: fix.SessionID) -> None:  # noqa: N802 - QuickFIX's callback names
        self.owner._created(sid)

    def onLogon(self, sid: fix.SessionID) -> None:  # noqa: N802
        self.owner._status("logon", "")

    def onLogout(self, sid: fix.SessionID) -> None:  # noqa: N802
        self.owner._status("logout", "")

    def toAdmin(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        self.owner._to_admin(message)

    def fromAdmin(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        self.owner._received(message, admin=True)

    def toApp(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        self.owner._sent(message)

    def fromApp(self, message: fix.Message, sid: fix.SessionID) -> None:  # noqa: N802
        self.owner._received(message, admin=False)


class FixSession:
    """One initiator session. ``on_message``/``on_status`` are called from QuickFIX's thread: keep them cheap."""

    def __init__(
        self,
        cfg: FixSessionConfig,
        credentials: Credentials | None = None,
        *,
        on_message: MessageHandler,
        on_status: StatusHandler | None = None,
        name: str = "fix",
    ) -> None:
        self.cfg = cfg
        self._creds = credentials or Credentials()
        if cfg.message_log and self._creds:
            raise FixConfigError("message_log would write the logon password to disk: turn it off")
        self._on_message = on_message
        self._on_status = on_status or (lambda event, detail: None)
        self.log = structlog.get_logger("tradehive_fix").bind(session=name, target=cfg.target_comp_id)
        self._sid: fix.SessionID | None = None
        self._initiator: fix.SocketInitiator | None = None
        self._logged_on = threading.Event()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._sent_ids: OrderedDict[int, str] = OrderedDict()
        self._lock = threading.Lock()
        self.logons = 0
        self.disconnects = 0
        self.reconnect_delays: list[float] = []

    # -------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        data = Path(self.cfg.data_dir)
        for sub in ("", "store", "log"):
            (data / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        cfg_path = data / "session.cfg"
        cfg_path.write_text(quickfix_settings(self.cfg))
        os.chmod(cfg_path, 0o600)
        try:
            settings = fix.SessionSettings(str(cfg_path))
            self._app = _App(self)
            self._store = fix.FileStoreFactory(settings)
            if self.cfg.message_log:
                self._logs = fix.FileLogFactory(settings)
                self._initiator = fix.SocketInitiator(self._app, self._store, settings, self._logs)
            else:
                self._initiator = fix.SocketInitiator(self._app, self._store, settings)
            self._initiator.start()
        except (fix.ConfigError, fix.RuntimeError) as exc:
            raise FixSessionError(f"QuickFIX could not start the session: {exc}") from exc
        atexit.register(self.stop)
        self._supervisor = threading.Thread(target=self._supervise, name="fix-reconnect", daemon=True)
        self._supervisor.start()
        self.log.info("fix session started", host=self.cfg.host, port=self.cfg.port,
                      begin_string=self.cfg.begin_string, sender=self.cfg.sender_comp_id)  # fmt: skip

    def stop(self, logout_wait_s: float = 2.0) -> None:
        """Log out (waiting up to ``logout_wait_s``) and stop the engine. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        initiator, self._initiator = self._initiator, None
        if initiator is not None:
            session = self._session()
            if session is not None and session.isLoggedOn():
                session.logout("client stopping")
                deadline = time.monotonic() + logout_wait_s
                while self._logged_on.is_set() and time.monotonic() < deadline:
                    time.sleep(0.02)
            initiator.stop(True)
        if self._supervisor is not None:
            self._supervisor.join(timeout=2.0)
        self.log.info("fix session stopped")

    def wait_logon(self, timeout: float) -> bool:
        return self._logged_on.wait(timeout)

    @property
    def logged_on(self) -> bool:
        return self._logged_on.is_set()

    @property
    def begin_string(self) -> str:
        return self.cfg.begin_string

    def seq_numbers(self) -> tuple[int, int]:
        """(next sender seq, next expected target seq) from the persisted store."""
        session = self._session()
        if session is None:
            return (0, 0)
        return int(session.getExpectedSenderNum()), int(session.getExpectedTargetNum())

    # ---------------------------------------------------------------------------------------------- sending
    def new_message(self, msg_type: str) -> fix.Message:
        msg = fix.Message()
        header = msg.getHeader()
        header.setField(fix.BeginString(self.cfg.begin_string))
        header.setField(fix.MsgType(msg_type))
        return msg

    def send(self, msg: fix.Message) -> None:
        """Send now; raises :class:`FixSessionError` when not logged on (nothing is queued)."""
        if self._sid is None or not self._logged_on.is_set():
            raise FixSessionError("FIX session not logged on")
        try:
            ok = fix.Session.sendToTarget(msg, self._sid)
        except fix.SessionNotFound as exc:
            raise FixSessionError(f"FIX session not found: {exc}") from exc
        if not ok:
            raise FixSessionError("FIX session refused to send (logged out meanwhile)")

    def cl_ord_id_of_seq(self, seq: int) -> str | None:
        """The ClOrdID carried by the outgoing message numbered ``seq`` (for rejects that cite a seq)."""
        with self._lock:
            return self._sent_ids.get(seq)

    # ----------------------------------------------------------------------------- engine callbacks (QF thread)
    def _created(self, sid: fix.SessionID) -> None:
        self._sid = sid

    def _status(self, event: str, detail: str) -> None:
        if event == "logon":
            self.logons += 1
            self._logged_on.set()
        else:
            if self._logged_on.is_set():
                self.disconnects += 1
            self._logged_on.clear()
        send, recv = self.seq_numbers()
        self.log.info("fix " + event, next_sender_seq=send, next_target_seq=recv)
        self._guard(self._on_status, event, detail)

    def _to_admin(self, message: fix.Message) -> None:
        if self._creds and message.getHeader().getField(MSG_TYPE) == "A":
            if self._creds.username:
                message.setField(fix.StringField(USERNAME, self._creds.username))
            if self._creds.password:
                message.setField(fix.StringField(PASSWORD, self._creds.password))

    def _sent(self, message: fix.Message) -> None:
        try:
            seq = int(message.getHeader().getField(MSG_SEQ_NUM))
            cl = message.getField(CL_ORD_ID) if message.isSetField(CL_ORD_ID) else ""
        except (fix.FieldNotFound, ValueError):
            return
        if cl:
            with self._lock:
                self._sent_ids[seq] = cl
                while len(self._sent_ids) > _SENT_MEMORY:
                    self._sent_ids.popitem(last=False)

    def _received(self, message: fix.Message, admin: bool) -> None:
        try:
            msg = FixMessage.parse(message.toString())
        except ValueError as exc:
            self.log.error("unparseable FIX message", error=str(exc))
            return
        if admin and msg.msg_type not in _ADMIN_WANTED:
            return
        self._guard(self._on_message, msg)

    def _guard(self, fn: Callable[..., None], *args: object) -> None:
        """An exception must never travel back into the engine (it would reject or drop the message)."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - logged and counted by the owner; the session goes on
            self.log.error("fix handler failed", error=f"{type(exc).__name__}: {exc}", exc_info=exc)

    def _session(self) -> fix.Session | None:
        return fix.Session.lookupSession(self._sid) if self._sid is not None else None

    # ----------------------------------------------------------------------------------- reconnect backoff
    def _supervise(self) -> None:
        """Hold the engine disabled between attempts: reconnect_s, doubling while logons fail."""
        delay = self.cfg.reconnect_s
        attempt_started = time.monotonic()
        window = max(2.0, float(self.cfg.logon_timeout_s))
        while not self._stopping.wait(0.1):
            session = self._session()
            if session is None:
                continue
            if self._logged_on.is_set():
                delay, attempt_started = self.cfg.reconnect_s, time.monotonic()
                continue
            if time.monotonic() - attempt_started < window + 1.0:
                continue  # the engine is trying (it dials every second while enabled)
            session.logout("reconnect backoff")  # disables the session: the engine stops dialling
            self.reconnect_delays.append(delay)
            self.log.warning("fix reconnect backoff", delay_s=delay)
            if self._stopping.wait(delay):
                return
            session.logon()  # enables it again: the engine dials within a second
            attempt_started = time.monotonic()
            delay = min(delay * 2, self.cfg.reconnect_max_s)


__all__ = ["FixSession", "MessageHandler", "StatusHandler"]
