"""A real SMTP server for the tests (aiosmtpd on a free port) and helpers to read mail.

`SMTPServer` collects every mail it receives as an `email.message.EmailMessage`; it can
be stopped (the port refuses connections, like a server that is down) and started again
on the same port. `mail_settings(server)` is the app configuration that sends to it.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from tests.support.servers import free_port

PUBLIC_URL = "https://portfolio.schule.example"


class _Collect:
    def __init__(self, inbox: list[EmailMessage]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.inbox.append(message)
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox: list[EmailMessage] = []
        self._controller: Controller | None = None

    def start(self) -> SMTPServer:
        self._controller = Controller(_Collect(self.inbox), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """The mails received for this address."""
        return [m for m in self.inbox if address in str(m["To"])]

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.inbox) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.inbox


def mail_settings(server: SMTPServer) -> dict:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": server.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": "",
        "MAIL_DEFAULT_SENDER": "Berufswahlpass <berufswahlpass@schule.example>",
        "MAIL_TIMEOUT": 5,
        "PUBLIC_URL": PUBLIC_URL,
    }


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def everything(message: EmailMessage) -> str:
    """Headers and every decoded part: to assert what a mail does not contain."""
    parts = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            parts.append(part.get_content())
    return "\n".join(parts)


def links(message: EmailMessage) -> list[str]:
    """The app's addresses in the text part, as paths for the test client."""
    found = re.findall(re.escape(PUBLIC_URL) + r"(/[^\s<>\"]*)", text_of(message))
    return [urlsplit(PUBLIC_URL + path)._replace(scheme="", netloc="").geturl() for path in found]
