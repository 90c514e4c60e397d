"""Calling a webhook safely: the automation action that tells another system something happened.

- Server-side request forgery is refused at send time: the host is resolved, and if any address it resolves to is
  private, loopback, link-local (cloud metadata at 169.254.169.254), multicast, reserved or unspecified — in any
  spelling: `0177.0.0.1`, `2130706433`, `[::ffff:7f00:1]` — nothing is sent. The connection then goes to the
  address that was checked (no second lookup a DNS rebinding could change). `FRIDAY_WEBHOOK_ALLOWED_NETWORKS`
  lets a business reach its own internal service on purpose (e.g. `10.1.2.0/24`).
- Redirects are never followed: a 3xx is a failure that says where it pointed.
- The body is signed: `X-Friday-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
  rule's secret, so the receiver can check it came from us and is fresh. `X-Friday-Delivery` is the idempotency
  key: a retried delivery carries the same one.
- A timeout, and at most 64 KB of the response is read.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from friday.core.errors import FridayError

TIMEOUT = 10.0
MAX_RESPONSE = 64 * 1024
USER_AGENT = "Friday-CRM-Webhook/1"


class WebhookRefused(FridayError):
    """The target is not allowed (or not reachable as given): a permanent failure, never retried."""

    code = "webhook.refused"
    status = 422


class WebhookFailed(FridayError):
    """The call was made and failed (timeout, 5xx, connection reset): worth retrying."""

    code = "webhook.failed"
    status = 502


@dataclass(frozen=True)
class Delivery:
    status: int
    body: str
    address: str


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = getattr(settings, "FRIDAY_WEBHOOK_ALLOWED_NETWORKS", "") or ""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip in net for net in _allowed_networks()):
        return True
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path+query) of an acceptable URL, or WebhookRefused saying why."""
    if len(url) > 2000:
        raise WebhookRefused("A webhook address has at most 2,000 characters.", field="url")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http"):
        raise WebhookRefused("A webhook address starts with https:// (or http://).", field="url")
    if parts.username or parts.password:
        raise WebhookRefused("Put credentials in the rule's secret, not in the address.", field="url")
    host = parts.hostname or ""
    if not host:
        raise WebhookRefused("The webhook address has no host.", field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookRefused("The webhook address has a bad port.", field="url") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path


def resolve(host: str, port: int) -> str:
    """The address to connect to: every address the host resolves to must be allowed; the first is used."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"The webhook host {host!r} does not resolve.", field="url") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise WebhookRefused(
            f"The webhook host {host!r} is a private, loopback or link-local address ({', '.join(refused)}): "
            "Friday does not call those.",
            field="url",
        )
    return addresses[0]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def deliver(url: str, payload: dict[str, Any], *, secret: str, delivery_id: str) -> Delivery:
    """POST `payload` as JSON to `url`. WebhookRefused (never retry) or WebhookFailed (retry) on failure."""
    scheme, host, port, path = check_url(url)
    address = resolve(host, port)
    body = json.dumps(payload, default=str, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Host": host if port in (80, 443) else f"{host}:{port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Friday-Delivery": delivery_id,
        "X-Friday-Signature": signature(secret, timestamp, body),
    }
    try:
        sock = socket.create_connection((address, port), timeout=TIMEOUT)
    except OSError as exc:
        raise WebhookFailed(f"Could not connect to {host} ({address}): {exc}") from exc
    try:
        conn: http.client.HTTPConnection
        if scheme == "https":
            context = ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT, context=context)
            conn.sock = context.wrap_socket(sock, server_hostname=host)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
            conn.sock = sock
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(MAX_RESPONSE).decode("utf-8", "replace")
        location = response.getheader("Location", "")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise WebhookFailed(f"The call to {host} failed: {exc}") from exc
    finally:
        sock.close()
    if 300 <= response.status < 400:
        raise WebhookRefused(
            f"{host} answered {response.status} pointing to {location[:200]!r}: redirects are not followed.",
            field="url",
        )
    if response.status >= 500 or response.status in (408, 429):
        raise WebhookFailed(f"{host} answered {response.status}: {text[:200]}")
    if response.status >= 400:
        raise WebhookRefused(f"{host} answered {response.status}: {text[:200]}", field="url")
    return Delivery(status=response.status, body=text, address=address)
