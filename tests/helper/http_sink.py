#!/usr/bin/python3
"""Loopback HTTP endpoints for the helper's tests: an SMS gateway and the Telegram Bot API.

    http_sink.py --dir DIR --port-file FILE --token TOKEN [--delay SECONDS]

Listens on 127.0.0.1 (a free port, written to --port-file once listening). Every request
but the control ones is recorded as DIR/req-NNNN.json ({"method", "path", "headers", "body",
"peer_uid": the uid of the process that connected})
through a temp name and a rename. --delay: each request but the control ones waits that long
before it is recorded and answered (a slow gateway).

  POST /sms                      the SMS gateway: answers with the configured status
                                 (200 {"status":"queued"} by default)
  POST /bot<TOKEN>/sendMessage   {"ok":true,"result":{message}} like the Bot API
  POST /bot<TOKEN>/getUpdates    {"ok":true,"result":[queued updates]} (not consumed)
  POST /bot<TOKEN>/getMe         {"ok":true,"result":{"username":"recover_test_bot",...}}
  /bot<OTHER>/...                401 {"ok":false,"error_code":401,"description":"Unauthorized"}
  POST /_control/sms_status      body: the status the SMS endpoint answers from now on
  POST /_control/sms_pad         body: N: the SMS endpoint's answer carries N more bytes
  POST /_control/update          body: {"chat_id":N,"text":T[,"type":"private"]}: queue a message
  POST /_control/clear_updates   drop the queued updates
"""
import argparse
import json
import os
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


STATE = {"sms_status": 200, "sms_pad": 0, "updates": [], "next_update": 1, "next_msg": 1, "count": 0}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "http_sink/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that stops reading a long answer (the helper caps what it keeps)

    def record(self, body):
        with LOCK:
            STATE["count"] += 1
            n = STATE["count"]
        rec = {"method": self.command, "path": self.path,
               "headers": {k: v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "surrogateescape"),
               "peer_uid": peer_uid(self.client_address[1], self.server.server_address[1])}
        fd, tmp = tempfile.mkstemp(dir=self.server.outdir, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(self.server.outdir, "req-%04d.json" % n))

    def do_GET(self):
        self.do_POST()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        path = self.path
        if path.startswith("/_control/"):
            return self.control(path[len("/_control/"):], body)
        if self.server.delay > 0:
            time.sleep(self.server.delay)
        self.record(body)
        if path == "/sms":
            st = STATE["sms_status"]
            obj = {"status": "queued"} if st < 300 else {"error": "failed"}
            if STATE["sms_pad"]:
                obj["pad"] = "x" * STATE["sms_pad"]
            return self.reply(st, obj)
        if path.startswith("/bot"):
            token, _, method = path[4:].partition("/")
            if token != self.server.token:
                return self.reply(401, {"ok": False, "error_code": 401,
                                        "description": "Unauthorized"})
            return self.bot(method, body)
        self.reply(404, {"error": "not found"})

    def bot(self, method, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self.reply(400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: can't parse JSON"})
        if method == "getMe":
            return self.reply(200, {"ok": True, "result": {
                "id": 4242, "is_bot": True, "first_name": "Recover",
                "username": "recover_test_bot"}})
        if method == "getUpdates":
            with LOCK:
                ups = list(STATE["updates"])
            return self.reply(200, {"ok": True, "result": ups})
        if method == "sendMessage":
            chat = req.get("chat_id")
            if not isinstance(chat, int) or not isinstance(req.get("text"), str):
                return self.reply(400, {"ok": False, "error_code": 400,
                                        "description": "Bad Request: chat_id and text"})
            with LOCK:
                mid = STATE["next_msg"]
                STATE["next_msg"] += 1
            return self.reply(200, {"ok": True, "result": {
                "message_id": mid, "date": int(time.time()),
                "chat": {"id": chat, "type": "private"}, "text": req["text"]}})
        self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def control(self, what, body):
        with LOCK:
            if what == "sms_status":
                STATE["sms_status"] = int(body)
            elif what == "sms_pad":
                STATE["sms_pad"] = int(body)
            elif what == "update":
                u = json.loads(body)
                uid = STATE["next_update"]
                STATE["next_update"] += 1
                STATE["updates"].append({"update_id": uid, "message": {
                    "message_id": uid, "date": int(time.time()),
                    "from": {"id": u["chat_id"], "is_bot": False, "first_name": "T"},
                    "chat": {"id": u["chat_id"], "type": u.get("type", "private")},
                    "text": u["text"]}})
            elif what == "clear_updates":
                STATE["updates"] = []
            else:
                return self.reply(404, {"error": "unknown control"})
        self.reply(200, {"ok": True})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--delay", type=float, default=0.0)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.outdir = a.dir
    srv.token = a.token
    srv.delay = a.delay
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
