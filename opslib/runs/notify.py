"""Notices: a webhook post and/or an e-mail when a run fails, and the digest after a run.

Configured in playbook.toml `[runs]`: `webhook_url` (any endpoint that takes a JSON post;
the `text` field suits chat webhooks), and `smtp_host`, `smtp_port`, `mail_from`,
`mail_to` (comma-separated), `smtp_user`. The SMTP password is read from the
PLAYBOOK_SMTP_PASSWORD environment variable, never from a file. Sending never raises: a
notice that cannot be sent is reported as a line of text, and the run's exit code already
says it failed. The digest (`send_digest = true`, opslib.runs.digest) goes the same ways.

>>> from opslib.config import RunSettings
>>> send_failure_notice(subject="x", lines=["y"], details={}, runs=RunSettings())
[]
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from typing import Any

from opslib.config import RunSettings

__all__ = ["send_failure_notice", "send_notice", "post_webhook", "send_mail", "PASSWORD_ENV"]

PASSWORD_ENV = "PLAYBOOK_SMTP_PASSWORD"
_TIMEOUT = 20


def post_webhook(url: str, payload: dict[str, Any], *, timeout: float = _TIMEOUT) -> None:
    """POST `payload` as JSON to `url` (http or https only); raise OSError on failure."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise OSError(f"webhook_url must start with https:// or http://, found {scheme!r}")
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked)
        if response.status >= 300:
            raise OSError(f"the webhook answered HTTP {response.status}")


def send_mail(runs: RunSettings, *, subject: str, body: str,
              timeout: float = _TIMEOUT) -> None:
    """Send a plain-text mail through the configured SMTP server; raise OSError/SMTP errors.

    Port 465 uses TLS from the start; otherwise STARTTLS is used when the server offers it.
    """
    recipients = [a.strip() for a in runs.mail_to.split(",") if a.strip()]
    if not recipients or not runs.mail_from:
        raise OSError("smtp_host is set but mail_from or mail_to is empty in [runs]")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = runs.mail_from
    message["To"] = ", ".join(recipients)
    message.set_content(body)
    if runs.smtp_port == 465:
        server: smtplib.SMTP = smtplib.SMTP_SSL(runs.smtp_host, runs.smtp_port, timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(runs.smtp_host, runs.smtp_port, timeout=timeout)
    with server:
        server.ehlo()
        if runs.smtp_port != 465 and server.has_extn("starttls"):
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if runs.smtp_user:
            server.login(runs.smtp_user, os.environ.get(PASSWORD_ENV, ""))
        server.send_message(message)


def send_failure_notice(*, subject: str, lines: list[str], details: dict[str, Any],
                        runs: RunSettings) -> list[str]:
    """Send the notice by every configured channel; return one line per channel tried."""
    body = "\n".join([subject, "", *lines])
    return send_notice("Failure notice", subject=subject, body=body,
                       payload={"text": body, **details}, runs=runs)


def send_notice(what: str, *, subject: str, body: str, payload: dict[str, Any],
                runs: RunSettings) -> list[str]:
    """Post `payload` to the webhook and mail `body`, as configured; never raises.

    Returns one line per channel tried, starting with `what` ("Failure notice", "Digest").
    """
    outcome = []
    if runs.webhook_url:
        try:
            post_webhook(runs.webhook_url, payload)
            outcome.append(f"{what} posted to the webhook.")
        except (OSError, ValueError) as err:
            outcome.append(f"Could not post the {what.lower()} to the webhook: {err}")
    if runs.smtp_host:
        try:
            send_mail(runs, subject=subject, body=body)
            outcome.append(f"{what} mailed to {runs.mail_to}.")
        except (OSError, ValueError, smtplib.SMTPException) as err:
            outcome.append(f"Could not mail the {what.lower()} via {runs.smtp_host}:"
                           f"{runs.smtp_port}: {err}")
    return outcome
