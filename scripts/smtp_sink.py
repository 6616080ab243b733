"""A local stand-in for the SMTP relay: accepts every message Alertmanager's email receiver sends and prints
its recipients and subject.  Plain SMTP on loopback, with AUTH PLAIN accepted and ignored."""

from __future__ import annotations

import email
import email.policy
import socketserver
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from scripts.local_inbox import LocalInbox

MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass
class Mail:
    received_at: float
    recipients: list[str]
    subject: str
    body: str


class SmtpSink(LocalInbox):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, out: TextIO | None = sys.stdout):
        super().__init__(socketserver.ThreadingTCPServer((host, port), self._handler()), out, "smtp-sink")

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def mails(self) -> list[Mail]:
        return self.items()

    def record_mail(self, mail: Mail) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(mail.received_at))
        self.record(mail, f"[{stamp}] email to {', '.join(mail.recipients)}: {mail.subject}")

    def _handler(self):
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 localhost SMTP sink")
                recipients: list[str] = []
                while line := self.rfile.readline(8192):
                    command = line.decode(errors="replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        self.reply("250-AUTH PLAIN")
                        self.reply(f"250 SIZE {MAX_MESSAGE_BYTES}")
                    elif verb == "HELO":
                        self.reply("250 localhost")
                    elif verb == "AUTH":
                        self.reply("235 2.7.0 accepted")
                    elif verb == "MAIL":
                        recipients = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.partition(":")[2].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CR><LF>.<CR><LF>")
                        data = self._read_data()
                        if data is None:
                            self.reply("552 message too large")
                            return
                        message = email.message_from_bytes(data, policy=email.policy.default)
                        body = message.get_body(("plain", "html"))
                        sink.record_mail(
                            Mail(
                                time.time(),
                                recipients,
                                str(message.get("Subject", "")),
                                body.get_content() if body is not None else "",
                            )
                        )
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    else:
                        self.reply("502 command not implemented")

            def _read_data(self) -> bytes | None:
                lines = []
                size = 0
                while line := self.rfile.readline(65536):
                    if line in (b".\r\n", b".\n"):
                        return b"".join(lines)
                    size += len(line)
                    if size > MAX_MESSAGE_BYTES:
                        return None
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return None

        return Handler
