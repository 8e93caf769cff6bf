"""Real receivers on loopback for the outbox's tests: a webhook receiver (an HTTP server that
checks each request's signature and counts events by their ``Idempotency-Key``), an SMTP
server (aiosmtpd) and an SMS adapter an agency would write (recording what it sent)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from workflow.core.notify import verify_signature


@dataclass
class Webhook:
    """What a webhook receiver got: each request's event, key and whether it was signed
    right; ``status`` is what it answers, ``delay`` how long it takes."""

    url: str = ""
    secret: str | None = None
    status: int = 204
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str]:
        with self.lock:
            return [r["key"] for r in self.received]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r["event"] for r in self.received if name is None or r["event"]["name"] == name]


@contextmanager
def webhook_receiver(status: int = 204, delay: float = 0.0) -> Iterator[Webhook]:
    """A threaded HTTP server on 127.0.0.1 recording each POST (set ``.secret`` to check
    signatures, as a receiver does: within 5 minutes, HMAC over "<timestamp>.<body>")."""
    hook = Webhook(status=status, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(hook.delay)
            signed = hook.secret is not None and verify_signature(
                hook.secret, self.headers.get("X-Sstransfer-Timestamp", ""),
                self.headers.get("X-Sstransfer-Signature", ""), body, time.time())
            with hook.lock:
                hook.received.append({"key": self.headers.get("Idempotency-Key"),
                                      "signed": signed, "event": json.loads(body)})
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_port}/sstransfer"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


@contextmanager
def smtp_server(*, user: str | None = None, password: str | None = None) -> Iterator[Mailbox]:
    """An aiosmtpd server on 127.0.0.1 keeping every mail; with ``user``, it asks for a login
    (plain, without TLS on loopback) and refuses a wrong password."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == user \
            and data.password.decode() == password
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    options: dict[str, Any] = {}
    if user is not None:
        options = {"authenticator": authenticator, "auth_require_tls": False,
                   "auth_required": True}
    with socket.socket() as probe:  # a free port (the controller checks it is up by connecting)
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port, **options)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


class RecordingSms:
    """An SMS adapter as an agency writes one (``[notify] sms_adapter =
    "tests.receivers:make_sms"``), recording instead of calling a provider's SDK."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, to: str, text: str) -> str:
        self.sent.append((to, text))
        return f"sms-{len(self.sent)}"


def make_sms() -> RecordingSms:
    return RecordingSms()
