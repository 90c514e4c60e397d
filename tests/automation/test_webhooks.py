"""Webhooks through a real HTTP server on loopback: signed, never to a private address (however it is spelt),
never following a redirect, failures sorted into retry-worthy and final."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading

import pytest

from friday.automation.webhooks import WebhookFailed, WebhookRefused, deliver, signature


class Receiver(http.server.BaseHTTPRequestHandler):
    calls: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        Receiver.calls.append((self.path, dict(self.headers), body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        status = {"/broken": 500, "/gone": 404}.get(self.path, 200)
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"no")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://0177.0.0.1/hook",
        "http://2130706433/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hook",
        "http://192.168.1.1/hook",
        "http://0.0.0.0/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
        "http://user:pass@example.com/hook",
    ],
)
def test_private_and_odd_targets_are_refused_before_anything_is_sent(url, receiver):
    with pytest.raises(WebhookRefused) as exc:
        deliver(url, {"x": 1}, secret="s", delivery_id="d1")
    assert exc.value.field == "url"
    assert Receiver.calls == []


def test_a_signed_delivery_to_an_allowed_network(receiver, settings):
    settings.FRIDAY_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    result = deliver(
        f"{receiver}/hook?x=1", {"event": "party.created", "id": 7}, secret="s3cret", delivery_id="f:9:0"
    )
    assert result.status == 200 and result.address == "127.0.0.1"
    ((path, headers, body),) = Receiver.calls
    assert path == "/hook?x=1" and json.loads(body) == {"event": "party.created", "id": 7}
    assert headers["X-Friday-Delivery"] == "f:9:0"
    sig = headers["X-Friday-Signature"]
    timestamp = int(sig.split(",")[0].removeprefix("t="))
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert sig == f"t={timestamp},v1={expected}" == signature("s3cret", timestamp, body)


def test_a_redirect_is_not_followed_and_errors_are_sorted(receiver, settings):
    settings.FRIDAY_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"
    with pytest.raises(WebhookRefused) as exc:
        deliver(f"{receiver}/redirect", {}, secret="s", delivery_id="d")
    assert "169.254.169.254" in exc.value.detail and "not followed" in exc.value.detail
    assert len(Receiver.calls) == 1  # the metadata address was never called
    with pytest.raises(WebhookFailed):  # 5xx: worth retrying
        deliver(f"{receiver}/broken", {}, secret="s", delivery_id="d")
    with pytest.raises(WebhookRefused):  # 4xx: it will not get better
        deliver(f"{receiver}/gone", {}, secret="s", delivery_id="d")
    settings.FRIDAY_WEBHOOK_ALLOWED_NETWORKS = ""
    with pytest.raises(WebhookRefused):  # the same server, no longer allowed
        deliver(f"{receiver}/hook", {}, secret="s", delivery_id="d")
