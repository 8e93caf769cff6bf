"""The channels a message is sent by: webhook (HTTP POST, signed), email (SMTP) and text
message (the agency's own provider, through :class:`SmsSender`).

Each ``send`` returns the receiver's or provider's id of what it accepted, or raises
:class:`ChannelError` with what went wrong; the outbox retries, then parks the message dead
with that error.
"""

from __future__ import annotations

import importlib
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..core.notify import signature
from ..settings import Settings

if TYPE_CHECKING:
    import httpx


class ChannelError(Exception):
    """A message was not accepted: the receiver's answer or the failure, in one line."""


@runtime_checkable
class SmsSender(Protocol):
    """An agency's SMS provider, as the outbox uses it. ``[notify] sms_adapter`` names a
    factory, ``"package.module:name"``, called once without arguments, that returns one::

        class MyProvider:
            def send(self, to: str, text: str) -> str:
                # to: an 11-digit mainland mobile number; text: the Chinese message.
                # Return the provider's message id; raise on failure (the outbox retries).
                return provider_sdk.send_sms(phone=to, content=text).message_id

        def make() -> MyProvider:
            return MyProvider()
    """

    def send(self, to: str, text: str) -> str: ...


def load_sms_adapter(spec: str) -> SmsSender:
    """The sender ``"package.module:factory"`` makes (refused, in one line, if it is not one)."""
    module_name, _, name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ChannelError(f"the SMS adapter {spec} cannot be loaded: {exc}") from None
    sender = factory()
    if not isinstance(sender, SmsSender):
        raise ChannelError(f"the SMS adapter {spec} made no object with send(to, text)")
    return sender


class Channels:
    """The channels of one delivery run, from the ``[notify]`` settings."""

    def __init__(self, settings: Settings, *, sms: SmsSender | None = None) -> None:
        self.settings = settings
        self._sms = sms
        self._http: httpx.Client | None = None

    def available(self) -> set[str]:
        """The channels the settings give: webhook always, email with an SMTP server, text
        messages with an SMS adapter."""
        found = {"webhook"}
        if self.settings.smtp_host is not None:
            found.add("email")
        if self.settings.sms_adapter is not None or self._sms is not None:
            found.add("sms")
        return found

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # --- webhook ----------------------------------------------------------------------------
    def webhook(self, url: str, secret: str | None, event_id: str, body: bytes) -> str:
        """POST the event's JSON, signed; a 2xx answer is delivered, any other is an error."""
        import httpx  # only a delivery run sends webhooks: not imported with the engine

        if self._http is None:
            self._http = httpx.Client(timeout=self.settings.webhook_timeout_seconds,
                                      follow_redirects=False)
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "Idempotency-Key": event_id,
                   "X-Sstransfer-Timestamp": str(stamp), "User-Agent": "sstransfer-outbox"}
        if secret is not None:
            headers["X-Sstransfer-Signature"] = signature(secret, stamp, body)
        try:
            answer = self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}") from None
        if not 200 <= answer.status_code < 300:
            raise ChannelError(f"the receiver answered HTTP {answer.status_code}")
        return f"HTTP {answer.status_code}"

    # --- email ------------------------------------------------------------------------------
    def email(self, to: str, subject: str, body: str, event_id: str) -> str:
        """Send a plain-text mail in UTF-8 through the SMTP server (STARTTLS and login when
        the settings ask); its Message-ID names the event."""
        s = self.settings
        if s.smtp_host is None or s.smtp_from is None:
            raise ChannelError("email is not configured: [notify] smtp_host and smtp_from")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.smtp_from, to, subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(idstring=event_id, domain="sstransfer")
        message.set_content(body, charset="utf-8")
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user is not None:
                    smtp.login(s.smtp_user, self._password())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}") from None
        return str(message["Message-ID"])

    def _password(self) -> str:
        path = self.settings.smtp_password_file
        if path is None:
            raise ChannelError("[notify] smtp_user is set without smtp_password_file")
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ChannelError(f"the SMTP password file cannot be read: {exc.strerror}") from None

    # --- text message -----------------------------------------------------------------------
    def sms(self, to: str, text: str) -> str:
        if self._sms is None:
            if self.settings.sms_adapter is None:
                raise ChannelError("text messages are not configured: [notify] sms_adapter")
            self._sms = load_sms_adapter(self.settings.sms_adapter)
        try:
            return str(self._sms.send(to, text))
        except Exception as exc:
            raise ChannelError(f"the SMS provider refused: {type(exc).__name__}: {exc}") from None


__all__ = ["ChannelError", "Channels", "SmsSender", "load_sms_adapter"]
