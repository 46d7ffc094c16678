#!/usr/bin/python3
"""A real SMTP server on loopback for the helper's tests (aiosmtpd).

    smtp_sink.py --dir DIR --port-file FILE [--starttls CERT KEY] [--smtps CERT KEY]
                 [--auth USER:PASSWORD] [--delay SECONDS] [--port N]

Listens on 127.0.0.1 (a free port, written to --port-file once the server answers).
--starttls offers STARTTLS and refuses MAIL before it; --smtps speaks TLS from the first
byte; --auth offers AUTH PLAIN/LOGIN and requires it. --delay makes each message wait that
long before it is stored and accepted (a slow server); --port listens on that port. Each message is written to
DIR/msg-NNNN.json ({"mail_from", "rcpt_tos", "tls", "auth_user", "data", "peer_uid": the
uid of the process that connected}) through a temp name
and a rename, so a reader never sees half a message. Runs until SIGTERM or SIGINT.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def peer_uid(client_port, server_port):
    """The uid that owns the client end of a loopback TCP connection (/proc/net/tcp{,6})."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, remote, uid = cols[1], cols[2], cols[7]
                    if (int(local.rsplit(":", 1)[1], 16) == client_port
                            and int(remote.rsplit(":", 1)[1], 16) == server_port):
                        return int(uid)
        except OSError:
            pass
    return None


class Handler:
    def __init__(self, outdir, delay=0.0):
        self.outdir = outdir
        self.delay = delay
        self.count = 0
        self.lock = threading.Lock()
        self.port = None

    async def handle_DATA(self, server, session, envelope):
        if self.delay > 0:
            import asyncio
            await asyncio.sleep(self.delay)
        with self.lock:
            self.count += 1
            n = self.count
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        auth = session.auth_data
        user = None
        if isinstance(auth, LoginPassword):
            user = auth.login.decode("utf-8", "replace")
        rec = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": session.ssl is not None,
            "auth_user": user,
            "data": data.decode("utf-8", "surrogateescape"),
            "peer_uid": peer_uid(session.peer[1], self.port) if self.port else None,
        }
        fd, tmp = tempfile.mkstemp(dir=self.outdir, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(self.outdir, "msg-%04d.json" % n))
        return "250 Message accepted for delivery"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", metavar="USER:PASSWORD")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()

    kw = {}
    server_kw = {}
    if a.starttls:
        kw["tls_context"] = tls_context(*a.starttls)
        kw["require_starttls"] = True
    if a.smtps:
        server_kw["ssl"] = tls_context(*a.smtps)
    if a.auth:
        want_user, want_pw = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == want_user
                  and auth_data.password.decode() == want_pw)
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kw["authenticator"] = authenticator
        kw["auth_required"] = True
        kw["auth_require_tls"] = bool(a.starttls or a.smtps)

    handler = Handler(a.dir, a.delay)
    controller = None
    for _ in range(20):
        port = a.port or free_port()
        c = Controller(handler, hostname="127.0.0.1", port=port, server_kwargs=server_kw,
                       ready_timeout=10, **kw)
        if a.smtps:
            # the readiness probe speaks plain text; with implicit TLS it cannot, so skip it
            c._trigger_server = lambda: None
        handler.port = port
        try:
            c.start()
            controller = c
            break
        except Exception as e:  # port taken between the probe and the bind: try another
            print("smtp_sink: port %d: %s" % (port, e), file=sys.stderr)
            time.sleep(0.1)
    if controller is None:
        sys.exit(1)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.port_file)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
