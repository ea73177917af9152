"""E-mail and SMS providers behind one interface (notifications.md §5): smtp (default), resend, sendgrid, file,
and Twilio for sms. Credentials come from the environment and are never logged.

A provider selected without its key is a configuration error raised when a run opens a sender, never a silent
per-message failure. Every message carries `X-TEEI-Notification-Id` and a correlation id the provider echoes
back in its delivery webhooks.
"""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

import dagster as dg
import requests
from pydantic import Field

from teei_pipelines.domain.notifications import SendFailure, http_failure, smtp_failure
from teei_pipelines.errors import ConfigError

PROVIDERS = ("smtp", "resend", "sendgrid", "file")
HTTP_TIMEOUT_S = 10


@dataclass(frozen=True)
class OutgoingEmail:
    notification_id: str
    to: str
    subject: str
    html: str
    text: str


class Sender(Protocol):
    provider: str

    def send(self, message: OutgoingEmail) -> str:
        """Send one message; returns the provider message id or raises SendFailure."""

    def close(self) -> None: ...


def message_id(notification_id: str) -> str:
    return f"<{notification_id}@teei-pipelines>"


def mime(message: OutgoingEmail, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Message-ID"] = message_id(message.notification_id)
    mail["X-TEEI-Notification-Id"] = message.notification_id
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class SmtpSender:
    """One SMTP connection, opened lazily and re-opened after a network failure."""

    provider = "smtp"

    def __init__(self, resource: EmailResource) -> None:
        self.resource = resource
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.resource.smtp_host, self.resource.smtp_port, timeout=HTTP_TIMEOUT_S)
            if self.resource.smtp_starttls:
                smtp.starttls()
            if self.resource.smtp_username:
                smtp.login(self.resource.smtp_username, self.resource.smtp_password)
            self._smtp = smtp
        return self._smtp

    def send(self, message: OutgoingEmail) -> str:
        try:
            self._connection().send_message(mime(message, self.resource.sender))
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise smtp_failure(code, reply.decode(errors="replace")) from None
        except smtplib.SMTPResponseException as exc:
            raise smtp_failure(exc.smtp_code, exc.smtp_error.decode(errors="replace")) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendFailure(f"SMTP connection failed: {exc}", transient=True) from None
        return message_id(message.notification_id)

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


class _HttpSender:
    provider = ""

    def __init__(self, resource: EmailResource) -> None:
        self.resource = resource
        self.session = requests.Session()

    def post(self, url: str, api_key: str, body: dict) -> requests.Response:
        try:
            response = self.session.post(
                url, json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=HTTP_TIMEOUT_S
            )
        except requests.RequestException as exc:
            raise SendFailure(f"{self.provider}: {type(exc).__name__}", transient=True) from None
        if response.status_code >= 300:
            raise http_failure(response.status_code, response.text)
        return response

    def close(self) -> None:
        self.session.close()


class ResendSender(_HttpSender):
    provider = "resend"

    def send(self, message: OutgoingEmail) -> str:
        response = self.post(
            f"{self.resource.resend_api_url.rstrip('/')}/emails",
            self.resource.resend_api_key,
            {
                "from": self.resource.sender,
                "to": [message.to],
                "subject": message.subject,
                "html": message.html,
                "text": message.text,
                "headers": {"X-TEEI-Notification-Id": message.notification_id},
                "tags": [{"name": "notification_id", "value": message.notification_id}],
            },
        )
        return str(response.json()["id"])


class SendGridSender(_HttpSender):
    provider = "sendgrid"

    def send(self, message: OutgoingEmail) -> str:
        name, address = parseaddr(self.resource.sender)
        response = self.post(
            f"{self.resource.sendgrid_api_url.rstrip('/')}/v3/mail/send",
            self.resource.sendgrid_api_key,
            {
                "personalizations": [
                    {"to": [{"email": message.to}], "custom_args": {"notification_id": message.notification_id}}
                ],
                "from": {"email": address, "name": name} if name else {"email": address},
                "subject": message.subject,
                "content": [
                    {"type": "text/plain", "value": message.text},
                    {"type": "text/html", "value": message.html},
                ],
                "headers": {"X-TEEI-Notification-Id": message.notification_id},
                "tracking_settings": {"click_tracking": {"enable": True}, "open_tracking": {"enable": True}},
            },
        )
        return response.headers.get("x-message-id", "")


class FileSender:
    provider = "file"

    def __init__(self, resource: EmailResource) -> None:
        self.folder = Path(resource.outbox_dir)
        self.sender = resource.sender

    def send(self, message: OutgoingEmail) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{message.notification_id}.eml").write_bytes(bytes(mime(message, self.sender)))
        except OSError as exc:
            raise SendFailure(f"file outbox: {exc}", transient=True) from None
        return message.notification_id

    def close(self) -> None:
        pass


class EmailResource(dg.ConfigurableResource):
    """The configured e-mail provider (EMAIL_PROVIDER) and the optional Twilio SMS account."""

    provider: str = Field(default="smtp", description="env EMAIL_PROVIDER: smtp, resend, sendgrid or file")
    sender: str = Field(default="TEEI Platform <noreply@teei-platform.com>", description="env EMAIL_FROM")
    smtp_host: str = Field(default="127.0.0.1", description="env SMTP_HOST")
    smtp_port: int = Field(default=1025, description="env SMTP_PORT")
    smtp_username: str = Field(default="", description="env SMTP_USERNAME")
    smtp_password: str = Field(default="", description="env SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, description="env SMTP_STARTTLS")
    resend_api_key: str = Field(default="", description="env RESEND_API_KEY")
    resend_api_url: str = Field(default="https://api.resend.com", description="env RESEND_API_URL")
    sendgrid_api_key: str = Field(default="", description="env SENDGRID_API_KEY")
    sendgrid_api_url: str = Field(default="https://api.sendgrid.com", description="env SENDGRID_API_URL")
    outbox_dir: str = Field(default="", description="env EMAIL_OUTBOX_DIR (provider file)")
    twilio_account_sid: str = Field(default="", description="env TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field(default="", description="env TWILIO_AUTH_TOKEN")
    twilio_phone_number: str = Field(default="", description="env TWILIO_PHONE_NUMBER")
    twilio_api_url: str = Field(default="https://api.twilio.com", description="env TWILIO_API_URL")

    def validate_provider(self) -> None:
        """Raise ConfigError naming the variable when the selected provider cannot work."""
        if self.provider not in PROVIDERS:
            raise ConfigError("EMAIL_PROVIDER", f"{self.provider!r} is not one of {', '.join(PROVIDERS)}")
        required = {
            "resend": ("RESEND_API_KEY", self.resend_api_key),
            "sendgrid": ("SENDGRID_API_KEY", self.sendgrid_api_key),
        }
        if self.provider in required and not required[self.provider][1]:
            name = required[self.provider][0]
            raise ConfigError(name, f"EMAIL_PROVIDER={self.provider} needs {name}; it is not set")
        if self.provider == "file" and not self.outbox_dir:
            raise ConfigError("EMAIL_OUTBOX_DIR", "EMAIL_PROVIDER=file needs EMAIL_OUTBOX_DIR; it is not set")

    def open_sender(self) -> Sender:
        self.validate_provider()
        senders = {"smtp": SmtpSender, "resend": ResendSender, "sendgrid": SendGridSender, "file": FileSender}
        return senders[self.provider](self)

    @property
    def sms_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_phone_number)

    def send_sms(self, notification_id: str, to: str, body: str) -> str:
        """Twilio's Messages API; without credentials a permanent failure (never a mock success)."""
        if not self.sms_configured:
            raise SendFailure("SMS provider not configured", transient=False)
        try:
            response = requests.post(
                f"{self.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{self.twilio_account_sid}/Messages.json",
                data={"To": to, "From": self.twilio_phone_number, "Body": body},
                auth=(self.twilio_account_sid, self.twilio_auth_token),
                timeout=HTTP_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise SendFailure(f"twilio: {type(exc).__name__}", transient=True) from None
        if response.status_code >= 300:
            raise http_failure(response.status_code, response.text)
        return str(response.json()["sid"])
