#!/usr/bin/env python3
"""A real SMTP server for lxmon-notify's email tests (aiosmtpd).

Prints the bound port on its first stdout line once it accepts connections,
then appends one JSON line per received message to --out:
{"mail_from": ..., "rcpt_tos": [...], "content": "<raw message>", "tls": bool,
 "auth_login": "<user or null>", "headers": [[name, value], ...],
 "subject": "<decoded>", "body": "<decoded text>", "defects": [...]}
where the last four come from Python's own MIME parser (email.policy.default),
so a test checks what a real mail client would show.
Runs until stdin is closed (the test holding the pipe went away) or killed.

  --starttls CERT KEY   offer STARTTLS with this certificate and key
  --tls CERT KEY        implicit TLS (port-465 style) instead
  --auth USER:PASS      accept AUTH PLAIN/LOGIN for this one user; AUTH is
                        offered only over TLS (auth_require_tls) except with
                        implicit TLS, where the whole connection is TLS
  --require-auth        refuse MAIL before a successful AUTH
  --tempfail N          answer the first N messages with 451 (transient)
  --reject-rcpt ADDR    answer RCPT TO:<ADDR> with 550 (permanent)
"""

import argparse
import email
import email.policy
import json
import logging
import socket
import ssl
import sys
import threading
import warnings

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed: run scripts/install-test-deps.sh\n")
    sys.exit(3)


class Sink:
    def __init__(self, out_path, tempfail, reject_rcpt):
        self.out_path = out_path
        self.lock = threading.Lock()
        self.tempfail = tempfail
        self.reject_rcpt = reject_rcpt

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address == self.reject_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfail > 0:
                self.tempfail -= 1
                return "451 4.3.0 Try again later"
        content = envelope.original_content or envelope.content
        msg = email.message_from_bytes(content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "content": content.decode("utf-8", errors="replace"),
            "tls": session.ssl is not None or server_is_tls[0],
            "auth_login": (session.auth_data.login.decode()
                           if isinstance(session.auth_data, LoginPassword)
                           else None),
            "headers": [[k, str(v)] for k, v in msg.items()],
            "subject": str(msg["subject"]),
            "body": msg.get_content(),
            "defects": [repr(d) for d in msg.defects],
        }
        with self.lock, open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK queued"


server_is_tls = [False]


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == user.encode()
                and auth_data.password == password.encode()):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticate


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    # Keep test output clean: aiosmtpd's own warnings (AUTH without
    # STARTTLS under implicit TLS, deprecated login_data) are expected here.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--require-auth", action="store_true")
    p.add_argument("--tempfail", type=int, default=0)
    p.add_argument("--reject-rcpt")
    a = p.parse_args()

    kwargs = {}
    ssl_context = None
    pair = a.starttls or a.tls
    if pair:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pair[0], pair[1])
        if a.starttls:
            kwargs["tls_context"] = ctx
        else:
            ssl_context = ctx
            server_is_tls[0] = True
    if a.auth:
        user, _, password = a.auth.partition(":")
        kwargs["authenticator"] = authenticator_for(user, password)
        kwargs["auth_require_tls"] = not a.tls
        kwargs["auth_required"] = a.require_auth
    # Port 0 cannot be used: the Controller probes host:port after start-up.
    # A free port is picked instead, retried if another process took it.
    for attempt in range(20):
        port = free_port()
        sink = Sink(a.out, a.tempfail, a.reject_rcpt)
        controller = Controller(sink, hostname="127.0.0.1", port=port,
                                ssl_context=ssl_context,
                                server_hostname="sink.lxmon.test", **kwargs)
        try:
            controller.start()
            break
        except OSError:
            if attempt == 19:
                raise
    print(port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
