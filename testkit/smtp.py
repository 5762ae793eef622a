"""A real SMTP server on loopback for tests (aiosmtpd), which can also refuse or stall."""

import asyncio
import email
from email import policy

from aiosmtpd.controller import Controller

from testkit.processes import free_port


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        if self.server.stall:
            await asyncio.sleep(self.server.stall)
        if self.server.refuse:
            return "554 Transaction failed: refused by the test"
        self.server.messages.append(
            email.message_from_bytes(envelope.content, policy=policy.default)
        )
        return "250 OK"


class LocalSMTPServer:
    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.refuse = False
        self.stall = 0  # seconds to sit on each message before answering
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def env(self):
        """Environment variables that make a child process send mail here."""
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": self.port}
