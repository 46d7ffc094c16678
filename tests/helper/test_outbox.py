#!/usr/bin/python3
"""
A reset cannot be made silent (helper/outbox.c): its notices and post_reset_command are
written in the commit that records the new password and delivered after it, exactly once,
wherever the helper is killed.

Real parts: the built helper and pam-recover-send, a real SMTP server (aiosmtpd,
tests/helper/smtp_sink.py) and loopback SMS-gateway / Telegram Bot API endpoints
(tests/helper/http_sink.py), all of them slow on purpose so that a kill lands inside the
sends; virtual mail users whose password is set by a password_command script. The helper
runs as root (rctest.Sandbox); kills are SIGKILL to the helper's own pid.

usage: test_outbox.py [BUILDDIR]      RC_TEST_ONLY=REGEX selects cases.
"""
import glob
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import Fail, Sandbox, case, check, need_root_and_tools, run_cases, write  # noqa: E402

TG_TOKEN = "4242:outbox-token"
SUBJECT = "Subject: Your password was reset"
KILL_POINTS = 20
MAIL_DELAY, HTTP_DELAY, PW_DELAY, POST_DELAY = 0.5, 0.3, 0.3, 0.2
SENDER = "pam-recover-sen"  # /proc/PID/comm of pam-recover-send (15 characters)


def die_with_parent():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def wait_for(fn, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise Fail(f"timed out waiting for {what}")


class Sink:
    def __init__(self, tmp, name, argv):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        port_file = os.path.join(tmp, name + ".port")
        self.p = subprocess.Popen(["/usr/bin/python3"] + argv + ["--dir", self.dir,
                                                               "--port-file", port_file],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  preexec_fn=die_with_parent)
        self.port = int(wait_for(lambda: os.path.exists(port_file) and open(port_file).read(),
                                 f"the {name} sink").strip())

    def records(self, pattern):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, pattern))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


class World:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="pamrec-outbox-")
        os.chmod(self.tmp, 0o700)
        self.sinks = []
        self.smtp = self.sink("smtp", [os.path.join(HERE, "smtp_sink.py"), "--delay",
                                       str(MAIL_DELAY)])
        self.http = self.sink("http", [os.path.join(HERE, "http_sink.py"), "--token", TG_TOKEN,
                                       "--delay", str(HTTP_DELAY)])
        self.token_file = os.path.join(self.tmp, "tg.token")
        write(self.token_file, TG_TOKEN + "\n", 0o600)
        self.pw_log = os.path.join(self.tmp, "pw.log")
        self.post_log = os.path.join(self.tmp, "post.log")
        open(self.pw_log, "w").close()
        open(self.post_log, "w").close()
        self.setpw = os.path.join(self.tmp, "setpw.sh")
        write(self.setpw, "#!/bin/sh\n"
              "IFS= read -r pw\n"
              f"echo \"start $1\" >> {self.pw_log}\n"
              "case \"$pw\" in *SLOW*) sleep 3;; *) sleep %s;; esac\n"
              f"echo \"set $1\" >> {self.pw_log}\n"
              "exit 0\n" % PW_DELAY, 0o700)
        self.post = os.path.join(self.tmp, "post.sh")
        write(self.post, f"#!/bin/sh\nsleep {POST_DELAY}\necho \"post $1\" >> {self.post_log}\n"
              "exit 0\n", 0o700)

    def sink(self, name, argv):
        s = Sink(self.tmp, name, argv)
        self.sinks.append(s)
        return s

    def stop(self):
        for s in self.sinks:
            s.stop()
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)


W = None
SEQ = [0]


def cfg(smtp_port=None):
    return (f"smtp_url = smtp://127.0.0.1:{smtp_port or W.smtp.port}\nsmtp_tls = none\n"
            "mail_from = recover@example.net\n"
            f"sms_url = http://127.0.0.1:{W.http.port}/sms\n"
            f"telegram_api = http://127.0.0.1:{W.http.port}\n"
            f"telegram_token_file = {W.token_file}\n"
            "support_contact = help@example.net\n"
            "questions = What was the name of your first pet?\n"
            f"password_command = {W.setpw} %u\n"
            f"post_reset_command = {W.post} %u\n")


def sandbox(name, smtp_port=None):
    sb = Sandbox(name, extra_cfg=cfg(smtp_port))
    sb.init()
    return sb


def helper_json(sb, args, lines, timeout=60):
    p = subprocess.Popen(sb.cmd(args, json_out=True), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=sb.env())
    out, err = p.communicate("".join(json.dumps(x) + "\n" for x in lines), timeout=timeout)
    return p.returncode, out, err


def new_user(sb):
    """A virtual user with a verified e-mail, phone and Telegram chat, and a question."""
    SEQ[0] += 1
    n = SEQ[0]
    u = f"ob{os.getpid() % 10000}n{n}@example.org"
    who = {"user": u, "email": f"rec{n}.{os.getpid()}@gmail.example",
           "phone": "+3712%07d" % (os.getpid() % 1000 * 1000 + n), "chat": 810000 + n}
    for kind, value in (("email", who["email"]), ("phone", who["phone"]),
                        ("telegram", str(who["chat"]))):
        r = sb.run(["admin", "set-contact", u, kind, value])
        check(r.returncode == 0, f"admin set-contact {kind}: {r.stderr}")
    rc, out, err = helper_json(sb, ["contact", "set", "question", "--user", u],
                               [{"question": "What was the name of your first pet?",
                                 "answer": "Rex"}])
    check(rc == 0, f"contact set question: {rc} {err}")
    return who


class Reset:
    """`pam-recover reset --json` up to the moment the new password has been sent."""

    def __init__(self, sb, who, password):
        self.p = subprocess.Popen(sb.cmd(["reset"], json_out=True), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=sb.env())
        self.timer = threading.Timer(90, self.p.kill)
        self.timer.start()
        for step, reply in (("user", {"user": who["user"]}), ("method", {"method": "question"}),
                            ("answer", {"answer": "rex"}), ("password", {"password": password})):
            line = self.p.stdout.readline()
            if not line:
                raise Fail(f"the helper ended before the {step} step: {self.p.stderr.read()}")
            obj = json.loads(line)
            check(obj.get("step") == step, f"expected {step}, got {obj}")
            self.p.stdin.write(json.dumps(reply) + "\n")
            self.p.stdin.flush()
        self.sent_at = time.time()

    def kill(self):
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()
        self.timer.cancel()

    def finish(self):
        out, err = self.p.communicate(timeout=90)
        self.timer.cancel()
        return self.p.returncode, [json.loads(x) for x in out.splitlines() if x.startswith("{")]


# ---- what arrived ----

def notices(who):
    mails = [m for m in W.smtp.records("msg-*.json")
             if who["email"] in m["rcpt_tos"] and SUBJECT in m["data"]]
    sms = [r for r in W.http.records("req-*.json") if r["path"] == "/sms"
           and who["phone"] in urllib.parse.unquote_plus(r["body"])
           and "password" in urllib.parse.unquote_plus(r["body"])]
    tg = [r for r in W.http.records("req-*.json") if r["path"].endswith("/sendMessage")
          and json.loads(r["body"]).get("chat_id") == who["chat"]]
    return mails, sms, tg


def log_count(path, word, user):
    with open(path) as f:
        return sum(1 for line in f if line.strip() == f"{word} {user}")


def outbox_rows(sb, user):
    db = sqlite3.connect(f"file:{sb.db}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT kind, state, attempts, flags FROM outbox WHERE username = ?",
                          (user,)).fetchall()
    finally:
        db.close()


def store_writable(sb, what):
    """No transaction of the helper is open: a writer gets the store within a second."""
    db = sqlite3.connect(sb.db, timeout=1.0, isolation_level=None)
    try:
        t = time.time()
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        check(time.time() - t < 1.0, f"the store was locked {what}")
    except sqlite3.OperationalError as e:
        raise Fail(f"the store was locked {what}: {e}")
    finally:
        db.close()


def phase(sb, user):
    rows = outbox_rows(sb, user)
    if not rows:
        return "no-rows"
    states = {s for _, s, _, _ in rows}
    if states == {0}:
        return "armed"
    if states == {2}:
        return "all-delivered"
    if 2 in states:
        return "partly-delivered"
    return "committed"


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def senders(parent=None):
    """Running pam-recover-send processes; with `parent`, only that helper's (other tests
    run their own senders at the same time)."""
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        pid = int(os.path.basename(d))
        try:
            with open(d + "/comm") as f:
                if f.read().strip() != SENDER:
                    continue
        except OSError:
            continue
        if parent is None or parent_of(pid) == parent:
            out.append(pid)
    return out


def has_socket(pid):
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def flush(sb):
    r = sb.run(["admin", "flush-notices"], json_out=True, timeout=120)
    check(r.returncode == 0, f"flush-notices ({r.returncode}): {r.stdout} {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def exactly_once(sb, who, password_set):
    mails, sms, tg = notices(who)
    counts = (len(mails), len(sms), len(tg))
    check(counts in ((0, 0, 0), (1, 1, 1)),
          f"notices by e-mail, SMS, Telegram: {counts} (each must be 0 or 1, all alike)")
    if password_set:
        check(counts == (1, 1, 1), f"the password was changed but the notices are {counts}")
    left = [r for r in outbox_rows(sb, who["user"]) if r[1] in (0, 1)]
    check(not left, f"rows still waiting after flush-notices: {left}")
    return counts[0] == 1, mails


# ---- cases ----

@case(f"kill-the-helper-at-{KILL_POINTS}-points-of-a-reset-every-notice-exactly-once")
def t_kill_points():
    sb = sandbox("kill")
    seen = {}
    try:
        for i in range(KILL_POINTS):
            who = new_user(sb)
            delay = i * (PW_DELAY + MAIL_DELAY + 3 * HTTP_DELAY + POST_DELAY + 0.3) / KILL_POINTS
            r = Reset(sb, who, f"N3w-pass-{i}-ok")
            time.sleep(max(0.0, r.sent_at + delay - time.time()))
            r.kill()
            ph = phase(sb, who["user"])
            seen[ph] = seen.get(ph, 0) + 1
            f = flush(sb)
            password_set = log_count(W.pw_log, "set", who["user"]) == 1
            sent, mails = exactly_once(sb, who, password_set)
            posts = log_count(W.post_log, "post", who["user"])
            if sent:
                check(posts >= 1, f"point {i} ({ph}): notices went out but post_reset_command "
                      f"never ran")
                # a command killed while it ran runs again (documented); a notice never does
                check(posts <= 2, f"point {i}: post_reset_command ran {posts} times")
                text = mails[0]["data"]
                check("N3w-pass" not in text, "the notice carries the password")
            # nothing more goes out later
            f2 = flush(sb)
            check(f2["delivered"] == 0, f"a second flush delivered again: {f2}")
            check(notices(who)[0] == mails, "a second flush sent the mail again")
            print(f"# point {i}: killed {delay:.2f}s after the password, phase {ph}, "
                  f"password {'set' if password_set else 'not set'}, notices "
                  f"{'1 each' if sent else 'none'}, flush delivered {f['delivered']}, "
                  f"post_reset_command x{posts}", flush=True)
    finally:
        print(f"# phases hit: {seen}", flush=True)
    check(len(seen) >= 3, f"the kills landed in too few phases to mean much: {seen}")
    sb.cleanup()


@case("killed-while-the-sender-runs-the-receipt-prevents-a-second-send")
def t_receipt():
    slow = W.sink("slowsmtp", [os.path.join(HERE, "smtp_sink.py"), "--delay", "3"])
    sb = sandbox("receipt", smtp_port=slow.port)
    who = new_user(sb)
    r = Reset(sb, who, "Rec3ipt-pass-ok")
    # kill once this helper's sender talks to the server (it has its whole request then)
    wait_for(lambda: [p for p in senders(r.p.pid) if has_socket(p)],
             "pam-recover-send to connect to the server", 20)
    check(not slow.records("msg-*.json"), "the slow server stored the mail too early")
    store_writable(sb, "while the helper waited for the mail server")
    r.kill()
    check(phase(sb, who["user"]) == "committed", f"phase {phase(sb, who['user'])}")
    f = flush(sb)  # waits for the running sender, then records its receipt
    mails = [m for m in slow.records("msg-*.json") if who["email"] in m["rcpt_tos"]]
    check(len(mails) == 1, f"{len(mails)} mails after the kill and flush-notices (want 1)")
    check(f["delivered"] >= 1, f"flush-notices: {f}")
    audit = sb.run(["admin", "audit", who["user"], "--limit", "0"]).stdout
    check("sent before the helper stopped" in audit, f"the receipt was not used: {audit}")
    check("Message-ID: <outbox-" in mails[0]["data"], "no fixed Message-ID in the notice")
    f2 = flush(sb)
    check(f2["delivered"] == 0 and len([m for m in slow.records("msg-*.json")
                                        if who["email"] in m["rcpt_tos"]]) == 1,
          f"sent again: {f2}")
    sb.cleanup()


@case("killed-while-setting-the-password-the-next-run-tells-the-contacts")
def t_interrupted():
    sb = sandbox("interrupted")
    who = new_user(sb)
    r = Reset(sb, who, "SLOW-N3w-pass")
    wait_for(lambda: log_count(W.pw_log, "start", who["user"]), "password_command to start")
    store_writable(sb, "while password_command ran")
    r.kill()
    check(phase(sb, who["user"]) == "armed", f"phase {phase(sb, who['user'])}")
    wait_for(lambda: log_count(W.pw_log, "set", who["user"]), "password_command to finish")
    # the next run of the helper, whatever its verb, delivers
    st = sb.run(["status", "--user", who["user"]], json_out=True, timeout=120)
    check(st.returncode == 0, f"status: {st.stderr}")
    mails, sms, tg = wait_for(lambda: all(notices(who)) and notices(who),
                              "the notices after the next run", 30)
    check((len(mails), len(sms), len(tg)) == (1, 1, 1),
          f"notices: {len(mails)}, {len(sms)}, {len(tg)}")
    check("interrupted" in mails[0]["data"] and "may have been changed" in mails[0]["data"],
          f"the notice does not say what happened: {mails[0]['data'][:600]!r}")
    check(log_count(W.post_log, "post", who["user"]) == 1, "post_reset_command did not run")
    audit = sb.run(["admin", "audit", "--limit", "0"]).stdout
    check("reset-interrupted" in audit, "no audit event for the interrupted reset")
    f = flush(sb)
    check(f["delivered"] == 0 and notices(who)[0] == mails, f"delivered again: {f}")
    sb.cleanup()


@case("a-failed-notice-is-retried-by-flush-notices-and-given-up-after-the-bound")
def t_retry():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    sb = sandbox("retry", smtp_port=port)
    who = new_user(sb)
    r = Reset(sb, who, "R3try-pass-ok")
    rc, objs = r.finish()
    done = objs[-1]
    check(rc == 0 and done.get("step") == "done", f"reset: {rc} {objs[-2:]}")
    check(done["notice_failed"] == ["email"] and sorted(done["notified"]) == ["sms", "telegram"],
          f"done step: {done}")
    # the server comes back: flush-notices delivers it, once
    late = W.sink("late", [os.path.join(HERE, "smtp_sink.py"), "--port", str(port)])
    f = flush(sb)
    check(f["delivered"] == 1, f"flush-notices: {f}")
    check(len([m for m in late.records("msg-*.json") if who["email"] in m["rcpt_tos"]]) == 1,
          "the late notice did not arrive once")
    f = flush(sb)
    check(f["delivered"] == 0, f"delivered twice: {f}")
    late.stop()
    # a server that stays down: tried OUTBOX_MAX_ATTEMPTS (10) times, then given up
    who2 = new_user(sb)
    r = Reset(sb, who2, "R3try-pass-two")
    rc, objs = r.finish()
    check(rc == 0 and objs[-1]["notice_failed"] == ["email"], f"reset: {objs[-1]}")
    for attempt in range(2, 11):
        f = sb.run(["admin", "flush-notices"], json_out=True, timeout=120)
        want = 0 if attempt == 10 else 75
        check(f.returncode == want, f"attempt {attempt}: flush-notices exit {f.returncode} "
              f"(want {want}): {f.stdout}")
    rows = [x for x in outbox_rows(sb, who2["user"]) if x[0] == 0]
    check(rows and rows[0][1] == 3 and rows[0][2] == 10, f"e-mail row: {rows}")
    audit = sb.run(["admin", "audit", who2["user"], "--limit", "0"]).stdout
    check("reset-notice-given-up" in audit, f"no given-up event: {audit}")
    sb.cleanup()


def main():
    global W
    need_root_and_tools()
    r = subprocess.run(["/usr/bin/python3", "-c", "import aiosmtpd"], capture_output=True)
    if r.returncode != 0:
        print("SKIP: /usr/bin/python3 lacks aiosmtpd (bash scripts/deps)")
        sys.exit(77)
    W = World()
    try:
        run_cases("outbox")
    finally:
        W.stop()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
