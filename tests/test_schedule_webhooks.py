"""Webhook URLs against SSRF, and posting to real HTTP(S) servers on 127.0.0.1: every refused
address kind (literal IPs of each class, names resolving to loopback, IPv6 forms, decimal /
octal / hex IPv4), non-http schemes, user info; loopback only when the workspace allows
private webhooks; redirects checked hop by hop (a refused target is never contacted); the
Host header and TLS SNI keep the name while the connection goes to the checked address."""

from __future__ import annotations

import json
import socket

import pytest
from webhook_receiver import Receiver, self_signed

from jupyter_mlws.errors import InvalidInput, Unavailable
from jupyter_mlws.schedules.notify import check_webhook_url, post_webhook, redact_url

ALWAYS_REFUSED = [  # (URL, what the refusal says), whatever the owner allows
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
    ("http://100.100.100.200/latest/meta-data/", "100.100.100.200 is a cloud metadata address"),
    ("http://metadata.google.internal/computeMetadata/v1/",
     "metadata.google.internal is a cloud metadata address"),
    ("http://METADATA.google.internal./", "metadata.google.internal is a cloud metadata address"),
    ("http://169.254.10.20/", "169.254.10.20 is a link-local address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://[::ffff:169.254.169.254]/", "is a cloud metadata address (169.254.169.254 inside"),
    ("http://[64:ff9b::a9fe:a9fe]/", "is a cloud metadata address (169.254.169.254 inside"),
    ("http://[::ffff:169.254.1.1]/", "is a link-local address (169.254.1.1 inside"),
    ("http://0.0.0.0:8080/", "0.0.0.0 is an unspecified address"),
    ("http://[::]/", ":: is an unspecified address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://[ff02::1]/", "ff02::1 is a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://255.255.255.255/", "255.255.255.255 is a reserved address"),
    ("http://2130706433/", "2130706433 is the IPv4 address 127.0.0.1 in a non-standard"),
    ("http://0177.0.0.1/", "0177.0.0.1 is the IPv4 address 127.0.0.1 in a non-standard"),
    ("http://0x7f.1/", "0x7f.1 is the IPv4 address 127.0.0.1 in a non-standard"),
    ("http://2852039166/", "2852039166 is the IPv4 address 169.254.169.254 in a non-standard"),
]
PRIVATE = [  # refused unless the workspace's owner allows private webhooks
    ("http://127.0.0.1:9000/hook", "127.0.0.1 is a loopback address"),
    ("http://127.8.9.10/", "127.8.9.10 is a loopback address"),
    ("http://localhost:9000/", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "is a loopback address (127.0.0.1 inside an IPv6 address)"),
    ("http://[2002:7f00:1::]/", "is a loopback address (127.0.0.1 inside an IPv6 address)"),
    ("http://10.0.0.7/", "10.0.0.7 is a private address"),
    ("http://172.16.4.2/", "172.16.4.2 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://100.64.0.1/", "100.64.0.1 is a private address"),
    ("http://[fd12:3456::1]/", "fd12:3456::1 is a private address"),
    ("https://192.0.2.10/", "192.0.2.10 is a private address"),  # documentation: not routed
]
NOT_WEBHOOKS = [  # (URL, what the refusal says)
    ("ftp://example.org/hook", "ftp: is not a webhook scheme"),
    ("file:///etc/passwd", "file: is not a webhook scheme"),
    ("gopher://127.0.0.1:6379/_INFO", "gopher: is not a webhook scheme"),
    ("javascript:alert(1)", "javascript: is not a webhook scheme"),
    ("//example.org/hook", "the URL has no scheme"),
    ("https://user:hunter2@example.org/hook", "cannot carry a user name or password"),
    ("https://token@example.org/hook", "cannot carry a user name or password"),
    ("http://example.org\\@127.0.0.1/", "backslashes"),
    ("http://example.org/a b", "spaces"),
    ("http://example.org/\r\nX-Injected: 1", "control characters"),
    ("http:///nohost", "has no host"),
    ("http://example.org:99999/", "not a valid URL"),
    ("https://" + "a" * 2100 + ".org/", "at most 2048 characters"),
]


def _refusal(url: str, allow_private: bool) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_webhook_url(url, allow_private=allow_private)
    return str(refused.value)


@pytest.mark.parametrize("url,said", ALWAYS_REFUSED, ids=[u for u, _ in ALWAYS_REFUSED])
def test_metadata_link_local_and_odd_addresses_are_refused_even_when_private_is_allowed(url, said):
    for allow_private in (False, True):
        message = _refusal(url, allow_private)
        assert message.startswith("refused: ") and said in message, message
        assert "webhooks_allow_private" not in message  # nothing the owner can allow


@pytest.mark.parametrize("url,said", PRIVATE, ids=[u for u, _ in PRIVATE])
def test_loopback_and_private_addresses_need_the_owners_permission(url, said):
    message = _refusal(url, False)
    assert message.startswith("refused: ") and said in message, message
    assert "webhooks_allow_private = true under [schedules]" in message  # what to do
    assert check_webhook_url(url, allow_private=True).split("://")[1].rstrip("/") == \
        url.split("://")[1].rstrip("/")


@pytest.mark.parametrize("url,said", NOT_WEBHOOKS, ids=[u[:40] for u, _ in NOT_WEBHOOKS])
def test_only_plain_http_and_https_urls_are_webhooks(url, said):
    message = _refusal(url, True)
    assert said in message, message
    assert "hunter2" not in message and "token@" not in message


def test_a_name_is_refused_when_any_address_it_resolves_to_is():
    """``localhost`` may resolve to ::1 and 127.0.0.1: each is checked (and each is loopback)."""
    found = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    addresses = {info[4][0] for info in found}
    assert addresses and all(a in ("127.0.0.1", "::1") for a in addresses)
    assert "a loopback address" in _refusal("http://localhost/", False)
    message = _refusal("http://nonexistent.invalid/hook", True)
    assert "cannot be resolved" in message and "check the name" in message


def test_a_public_url_is_normalised_and_its_secrets_never_shown():
    url = "HTTPS://Hooks.Example.COM:8443/services/T0/B0/s3cr3t?token=abc#frag"
    assert (check_webhook_url("https://8.8.8.8/services/T0/B0/s3cr3t?token=abc#frag")
            == "https://8.8.8.8/services/T0/B0/s3cr3t?token=abc")
    assert redact_url(url) == "https://hooks.example.com:8443/…"
    assert redact_url("https://user:pw@example.org/?k=v") == "https://example.org/…"
    assert redact_url("http://[::1]:80") == "http://[::1]:80/"
    assert redact_url("not a url") == "a webhook URL"


def _body(request) -> dict:
    return json.loads(request["body"])


def test_a_local_receiver_is_posted_to_only_when_private_webhooks_are_allowed():
    with Receiver() as receiver:
        url = receiver.url("/hook/T0/s3cr3t?token=abc")
        with pytest.raises(InvalidInput) as refused:
            post_webhook(url, {"run_id": "r1"})
        message = str(refused.value)
        assert "127.0.0.1 is a loopback address" in message
        assert "s3cr3t" not in message and "abc" not in message
        assert receiver.requests == []  # refused before any connection

        post_webhook(url, {"run_id": "r1", "status": "failed"}, allow_private=True)
        (request,) = receiver.requests
        assert request["method"] == "POST" and request["path"] == "/hook/T0/s3cr3t?token=abc"
        assert _body(request) == {"run_id": "r1", "status": "failed"}
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["Host"] == f"127.0.0.1:{receiver.port}"
        assert not {"Authorization", "Cookie"} & set(request["headers"])


def test_a_name_is_resolved_and_checked_at_send_time_and_keeps_its_host_header():
    with Receiver() as receiver:  # listens on 127.0.0.1 only: the name's checked address
        url = receiver.url("/h", host="localhost")
        with pytest.raises(InvalidInput, match="localhost resolves to .*a loopback address"):
            post_webhook(url, {"n": 1})  # checked again when sending, not only when given
        assert receiver.requests == []
        post_webhook(url, {"n": 1}, allow_private=True)
        assert [r["headers"]["Host"] for r in receiver.requests] == [f"localhost:{receiver.port}"]


def test_an_ipv6_loopback_receiver():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        receiver = Receiver(host="::1")
    except OSError:
        pytest.skip("::1 cannot be bound here")
    with receiver:
        with pytest.raises(InvalidInput, match=r"::1 is a loopback address"):
            post_webhook(receiver.url("/v6"), {"v": 6})
        post_webhook(receiver.url("/v6"), {"v": 6}, allow_private=True)
        assert [r["headers"]["Host"] for r in receiver.requests] == [f"[::1]:{receiver.port}"]


def test_redirects_are_followed_only_to_checked_targets():
    with Receiver() as target:
        # 307 posts the body again; 302 follows with a GET, as browsers do
        for status, method in ((307, "POST"), (308, "POST"), (302, "GET"), (303, "GET")):
            with Receiver([(status, {"Location": target.url(f"/moved/{status}")})]) as first:
                post_webhook(first.url("/old"), {"s": status}, allow_private=True)
                assert len(first.requests) == 1
            got = target.requests[-1]
            assert (got["method"], got["path"]) == (method, f"/moved/{status}")
            assert (_body(got) == {"s": status}) if method == "POST" else got["body"] == b""
        seen = len(target.requests)
        refused = {  # a target never contacted, and why
            f"http://0177.0.0.1:{target.port}/": "in a non-standard",
            f"http://2130706433:{target.port}/": "in a non-standard",
            "http://169.254.169.254/latest/meta-data/iam/":
                "169.254.169.254 is a cloud metadata address",
            "http://[fe80::1]/": "fe80::1 is a link-local address",
            "http://metadata.google.internal/": "metadata.google.internal is a cloud metadata",
            f"http://user:pw@127.0.0.1:{target.port}/": "user name or password",
            "file:///etc/passwd": "file: is not a webhook scheme",
        }
        for location, said in refused.items():
            with Receiver([(307, {"Location": location})]) as first:
                with pytest.raises(InvalidInput) as stopped:
                    post_webhook(first.url("/start?key=k3y"), {"x": 1}, allow_private=True)
                message = str(stopped.value)
                assert "not followed" in message and said in message, message
                assert "k3y" not in message and "pw@" not in message and "iam" not in message
                assert len(first.requests) == 1
        assert len(target.requests) == seen  # none of the refused targets was the receiver


def test_at_most_three_redirects():
    with Receiver([(307, {"Location": "/again"})]) as loop:
        with pytest.raises(Unavailable, match="redirected more than 3 times"):
            post_webhook(loop.url("/"), {"x": 1}, allow_private=True)
        assert len(loop.requests) == 4  # the request and 3 redirects


def test_failed_posts_say_why_without_the_urls_secrets():
    with Receiver([(500, {})]) as busy, Receiver([(404, {})]) as wrong:
        with pytest.raises(Unavailable) as down:
            post_webhook(busy.url("/x/s3cr3t?token=abc"), {}, allow_private=True)
        assert f"http://127.0.0.1:{busy.port}/… answered 500" in str(down.value)
        with pytest.raises(InvalidInput) as refused:
            post_webhook(wrong.url("/x/s3cr3t"), {}, allow_private=True)
        assert "answered 404" in str(refused.value) and "check its URL" in str(refused.value)
        port = busy.port
    with pytest.raises(Unavailable) as unreachable:  # the receiver has stopped
        post_webhook(f"http://127.0.0.1:{port}/x/s3cr3t?token=abc", {}, allow_private=True)
    assert "could not be reached: connection refused" in str(unreachable.value)
    for error in (down.value, refused.value, unreachable.value):
        assert "s3cr3t" not in str(error) and "abc" not in str(error)


def test_https_verifies_the_certificate_against_the_name_and_sends_it_as_sni(tmp_path):
    with Receiver(tls=self_signed(tmp_path)) as receiver:
        with pytest.raises(Unavailable) as refused:
            post_webhook(receiver.url("/tls/s3cr3t", host="localhost"), {}, allow_private=True)
        assert "certificate verify failed" in str(refused.value)
        assert "s3cr3t" not in str(refused.value)
        assert receiver.sni == ["localhost"]  # connected to 127.0.0.1, named localhost
        assert receiver.requests == []  # nothing sent over an unverified connection
