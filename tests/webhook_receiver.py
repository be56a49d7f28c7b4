"""A real HTTP(S) server on 127.0.0.1 (or ::1) that records every request a webhook makes.

``Receiver(answers)``: ``answers`` is a list of ``(status, headers)`` given in turn (the last
one repeats), e.g. ``[(307, {"Location": "http://..."})]`` or ``[(500, {}), (200, {})]``.
``requests`` holds what arrived: ``{"method", "path", "headers", "body"}``.  With ``tls`` (a
``(cert_file, key_file)`` pair) it serves HTTPS and records the SNI name each handshake sent in
``sni``.
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a failed TLS handshake is expected
        pass


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class Receiver:
    """See the module's text; use as a context manager (stopped on exit)."""

    def __init__(self, answers=((200, {}),), *, host: str = "127.0.0.1", tls=None):
        self.answers = list(answers)
        self.requests: list[dict] = []
        self.sni: list[str | None] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "body": body})
                    index = min(len(receiver.requests), len(receiver.answers)) - 1
                    status, headers = receiver.answers[index]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value.format(port=receiver.port))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        server_class = _IPv6Server if ":" in host else _Server
        self.server = server_class((host, 0), Handler)
        self.host, self.port = host, self.server.server_address[1]
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str = "/", host: str | None = None) -> str:
        host = host or self.host
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


def self_signed(folder, name: str = "localhost") -> tuple[str, str]:
    """A self-signed certificate for ``name`` (and 127.0.0.1): ``(cert_file, key_file)``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)
