"""
Recovery channels and contacts, end to end with real parts on loopback: a real SMTP server
(aiosmtpd: plain, STARTTLS with a CA made here with openssl, AUTH), an SMS gateway and the
Telegram Bot API as recording HTTP endpoints (tests/helper/http_sink.py), libfaketime for
expiry, and a private /dev/log (tests/helper/syslog_ns.py) to read what the helper logs.

  contact set email: saved unverified, verified only by the code (now or later); N wrong
  codes lock the code; an expired code is refused; STARTTLS with the right CA works, a wrong
  CA is refused with a clear error and nothing consumed; STARTTLS required but not offered
  is refused; smtp_tls = none only to loopback; SMTP down gives 69; CR/LF in an address is
  refused (65); a local_domains address is refused; SMTP AUTH; the quota; a verified
  address is kept until a new one is proven.
  contact set phone: E.164, Authorization header, form and JSON bodies, gateway 500 -> 69.
  contact set telegram: getMe, getUpdates, sendMessage; the token never in stderr or syslog.
  contact set question: Argon2id of the normalised answer.  contact list (masked), remove,
  admin set-contact / remove-contact.  Network I/O came from uid `nobody`.

Run as root by `make check` (top_builddir from the environment).
"""
import base64
import ctypes
import glob
import io
import json
import os
import re
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import Fail, Sandbox, case, check, need_root_and_tools, parse_json_lines, \
    run_cases, write  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "123456789:AAtest-Token_xyzSECRET"
SMS_TOKEN = "sms-bearer-SECRET-77"
NOBODY = 65534
W = None  # the shared world: CA, sinks


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail(f"openssl {args[0]} failed: {r.stderr}")


def make_ca(d, name):
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost",
            cwd=d)
    write(os.path.join(d, "ext.cnf"),
          "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
          "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    os.chmod(os.path.join(d, "ca.crt"), 0o644)
    return d


class Sink:
    def __init__(self, name, argv, root):
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        portfile = os.path.join(root, name + ".port")
        self.log = open(os.path.join(root, name + ".log"), "w")
        self.p = subprocess.Popen(["/usr/bin/python3", *argv, "--dir", self.dir,
                                   "--port-file", portfile], stdout=self.log,
                                  stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not os.path.exists(portfile):
            if self.p.poll() is not None or time.time() > deadline:
                raise Fail(f"sink {name} did not start (see {self.log.name})")
            time.sleep(0.05)
        self.port = int(open(portfile).read())

    def records(self, pattern):
        out = []
        for f in sorted(glob.glob(os.path.join(self.dir, pattern))):
            with open(f, encoding="utf-8", errors="surrogateescape") as fh:
                out.append(json.load(fh))
        return out

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


class World:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="pamrec-channels-")
        os.chmod(self.tmp, 0o700)
        self.ca = make_ca(os.path.join(self.tmp, "ca"), "pam_recover test CA")
        self.wrong_ca = make_ca(os.path.join(self.tmp, "wrongca"), "some other CA")
        cert = [os.path.join(self.ca, "srv.crt"), os.path.join(self.ca, "srv.key")]
        smtp = os.path.join(HERE, "smtp_sink.py")
        self.sinks = []
        self.plain = self.sink("plain", [smtp])
        self.tls = self.sink("starttls", [smtp, "--starttls", *cert])
        self.auth = self.sink("auth", [smtp, "--starttls", *cert, "--auth", "mailer:s3cret pw"])
        self.http = self.sink("http", [os.path.join(HERE, "http_sink.py"), "--token", TOKEN])

    def sink(self, name, argv):
        s = Sink(name, argv, self.tmp)
        self.sinks.append(s)
        return s

    def control(self, what, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http.port}/_control/{what}",
                                     data=body.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def stop(self):
        for s in self.sinks:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- running the helper ----

def hrun(sb, args, stdin="", json_out=False, prefix=(), timeout=90, env=None):
    """The helper without a controlling terminal (prompts on stderr, answers on stdin)."""
    return subprocess.run(list(prefix) + sb.cmd(args, json_out), input=stdin,
                          capture_output=True, text=True, env=env or sb.env(),
                          timeout=timeout, start_new_session=True)


def faketime_env(sb, offset):
    """libfaketime for the helper, which clears its environment before libfaketime reads
    FAKETIME: tests/helper/faketime_prime.c makes it read it first."""
    libs = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    if not libs:
        raise Fail("libfaketime.so.1 not found (Debian package faketime)")
    prime = os.path.join(W.tmp, "faketime_prime.so")
    if not os.path.exists(prime):
        r = subprocess.run(["cc", "-shared", "-fPIC", "-o", prime,
                            os.path.join(HERE, "faketime_prime.c")], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise Fail(f"cannot build faketime_prime.so: {r.stderr}")
    preload = f"{libs[0]} {prime}"
    ldd = subprocess.run(["ldd", sb.helper], capture_output=True, text=True).stdout
    if "libasan" in ldd:  # an --enable-sanitizers build: the ASan runtime comes first
        asan = subprocess.run(["cc", "-print-file-name=libasan.so"], capture_output=True,
                              text=True).stdout.strip()
        preload = f"{asan} {preload}"
    env = dict(sb.env())
    env.update({"LD_PRELOAD": preload, "FAKETIME": offset,
                "FAKETIME_CACHE_DURATION": "86400"})
    return env


def expect(r, status, what):
    if r.returncode != status:
        raise Fail(f"{what}: exit {r.returncode}, wanted {status}\n  stdout: "
                   f"{r.stdout.strip()[:600]}\n  stderr: {r.stderr.strip()[:600]}")


def contacts(sb, user):
    r = hrun(sb, ["contact", "list", "--user", user], json_out=True)
    expect(r, 0, "contact list --json")
    d = parse_json_lines(r.stdout)
    return {c["kind"]: c for c in d["contacts"]}, d


class Proc:
    """A helper run in --json mode, driven line by line."""

    def __init__(self, argv, env):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, start_new_session=True)
        self.buf = b""

    def line(self, timeout=30):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise Fail(f"no line from the helper in {timeout} s (so far {self.buf!r})")
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    err = self.p.stderr.read().decode(errors="replace")
                    raise Fail(f"the helper ended early (exit {self.p.wait()}): {err}")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def step(self, name, timeout=30):
        while True:
            obj = json.loads(self.line(timeout))
            if obj.get("step") == name:
                return obj
            if obj.get("ok") is False and obj.get("step") is None:
                raise Fail(f"waiting for step {name}: {obj}")

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj) + "\n").encode())
        self.p.stdin.flush()

    def finish(self, timeout=60):
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, self.buf.decode() + out.decode(), err.decode()


def wait_for(fn, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise Fail(f"timed out waiting for {what}")


def new_mail(sink, before):
    return wait_for(lambda: sink.records("msg-*.json")[before:], "a message in the SMTP sink")[0]


def mail_code(msg):
    m = re.search(r"code: (\d{8})", msg["data"])
    check(m is not None, f"no code in the message: {msg['data'][:400]!r}")
    return m.group(1)


def http_reqs(path_re):
    return [r for r in W.http.records("req-*.json") if re.search(path_re, r["path"])]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def mail_cfg(sink_port, tls="none", host="127.0.0.1", extra=""):
    return (f"smtp_url = smtp://{host}:{sink_port}\nsmtp_tls = {tls}\n"
            "mail_from = no-reply@example.net\nlocal_domains = example.net, Mail.Test\n"
            "code_attempts = 3\nsends_per_hour = 5\n" + extra)


def sandbox(name, extra):
    return Sandbox(name, extra).init()


# ---- e-mail ----

@case("email: saved unverified, counts only after the code; message headers; as nobody")
def _():
    sb = sandbox("mail", mail_cfg(W.plain.port))
    u = sb.new_user()
    n0 = len(W.plain.records("msg-*.json"))
    r = hrun(sb, ["contact", "set", "email", " Alice.Smith@Example.ORG ", "--user", u],
             stdin="\n")
    expect(r, 0, "contact set email (finish later)")
    msg = new_mail(W.plain, n0)
    check(msg["rcpt_tos"] == ["alice.smith@example.org"], f"envelope: {msg['rcpt_tos']}")
    check(msg["mail_from"] == "no-reply@example.net", f"MAIL FROM {msg['mail_from']}")
    check(msg["peer_uid"] == NOBODY, f"SMTP client ran as uid {msg['peer_uid']}, not nobody")
    data = msg["data"]
    head, _, body = data.partition("\r\n\r\n")
    for h in ("Date: ", "Message-ID: <", "From: no-reply@example.net", "To: alice.smith@"
              "example.org", "Subject: ", "MIME-Version: 1.0",
              "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit",
              "Auto-Submitted: auto-generated"):
        check(("\r\n" + h) in ("\r\n" + head), f"header {h!r} missing in {head!r}")
    check(re.search(r"(?<!\r)\n", data) is None, "a bare LF in the message (CRLF expected)")
    code = mail_code(msg)
    check(code not in r.stdout + r.stderr, "the code was printed")
    got, _ = contacts(sb, u)
    check(got["email"]["verified"] is False, f"verified before the code: {got}")
    check(got["email"]["value"] == "a***h@example.org", f"masked: {got['email']['value']}")
    r = hrun(sb, ["contact", "verify", "email", "--user", u], stdin=code + "\n")
    expect(r, 0, "contact verify email with the code")
    got, _ = contacts(sb, u)
    check(got["email"]["verified"] is True, f"not verified after the code: {got}")
    r = hrun(sb, ["contact", "verify", "email", "--user", u], stdin=code + "\n")
    expect(r, 0, "verify again (already verified)")
    audit = hrun(sb, ["admin", "audit", u])
    check("contact-verified" in audit.stdout, f"no audit event: {audit.stdout}")
    check(code not in audit.stdout and "alice.smith" not in audit.stdout,
          "the audit trail holds the code or the whole address")
    sb.cleanup()


@case("email: the code typed in the same run (--json steps)")
def _():
    sb = sandbox("mailjson", mail_cfg(W.plain.port))
    u = sb.new_user()
    n0 = len(W.plain.records("msg-*.json"))
    p = Proc(sb.cmd(["contact", "set", "email", "bob@example.org", "--user", u], True),
             sb.env())
    st = p.step("code")
    check(st["channel"] == "email" and st["sent_to"] == "b***b@example.org", f"step: {st}")
    p.send({"code": mail_code(new_mail(W.plain, n0))})
    rc, out, err = p.finish()
    check(rc == 0, f"exit {rc}: {err}")
    d = parse_json_lines(out)
    check(d.get("ok") is True and d.get("verified") is True, f"result: {d}")
    sb.cleanup()


@case("email: N wrong codes lock the code; the right one is then refused")
def _():
    sb = sandbox("lock", mail_cfg(W.plain.port))
    u = sb.new_user()
    n0 = len(W.plain.records("msg-*.json"))
    r = hrun(sb, ["contact", "set", "email", "carol@example.org", "--user", u],
             stdin="00000001\n00000002\n00000003\n")
    expect(r, 75, "three wrong codes (code_attempts = 3)")
    check("too many wrong codes" in r.stderr, f"message: {r.stderr}")
    code = mail_code(new_mail(W.plain, n0))
    r = hrun(sb, ["contact", "verify", "email", "--user", u], stdin=code + "\n")
    expect(r, 75, "the right code after the lock")
    got, _ = contacts(sb, u)
    check(got["email"]["verified"] is False, "verified by a locked code")
    # a new code (resend) works again
    n1 = len(W.plain.records("msg-*.json"))
    p = Proc(sb.cmd(["contact", "verify", "email", "--resend", "--user", u], True), sb.env())
    p.step("code")
    p.send({"code": mail_code(new_mail(W.plain, n1))})
    rc, out, err = p.finish()
    check(rc == 0 and parse_json_lines(out).get("verified") is True, f"resend: {rc} {err}")
    sb.cleanup()


@case("email: an expired code is refused (faketime)")
def _():
    sb = sandbox("expiry", mail_cfg(W.plain.port, extra="email_code_ttl = 600\n"))
    u = sb.new_user()
    n0 = len(W.plain.records("msg-*.json"))
    expect(hrun(sb, ["contact", "set", "email", "dave@example.org", "--user", u], stdin="\n"),
           0, "contact set email")
    code = mail_code(new_mail(W.plain, n0))
    r = hrun(sb, ["contact", "verify", "email", "--user", u], stdin=code + "\n",
             env=faketime_env(sb, "+700"))
    expect(r, 1, "the code 700 s later (ttl 600)")
    check("expired" in r.stderr, f"message: {r.stderr}")
    got, _ = contacts(sb, u)
    check(got["email"]["verified"] is False, "verified by an expired code")
    sb.cleanup()


@case("email: STARTTLS with the right CA; a wrong CA is refused and consumes nothing")
def _():
    ca = os.path.join(W.ca, "ca.crt")
    wrong = os.path.join(W.wrong_ca, "ca.crt")
    sb = sandbox("tls", mail_cfg(W.tls.port, tls="starttls", host="localhost",
                                  extra=f"smtp_ca_file = {wrong}\n")
                 .replace("sends_per_hour = 5", "sends_per_hour = 1"))
    u = sb.new_user()
    n0 = len(W.tls.records("msg-*.json"))
    r = hrun(sb, ["contact", "set", "email", "erin@example.org", "--user", u], stdin="\n")
    expect(r, 69, "a certificate from another CA")
    check("certificate" in r.stderr and "nothing" in r.stderr.lower(), f"message: {r.stderr}")
    check(len(W.tls.records("msg-*.json")) == n0, "a message went out")
    got, _ = contacts(sb, u)
    check("email" not in got, f"a contact was stored: {got}")
    # the right CA: works, and the quota of 1 was not used up by the failure
    cfg = open(sb.cfg).read().replace(wrong, ca)
    write(sb.cfg, cfg)
    r = hrun(sb, ["contact", "set", "email", "erin@example.org", "--user", u], stdin="\n")
    expect(r, 0, "the right CA")
    msg = new_mail(W.tls, n0)
    check(msg["tls"] is True, "the message did not go over TLS")
    # quota: the second send in the hour is refused
    r = hrun(sb, ["contact", "verify", "email", "--resend", "--user", u], stdin="\n")
    expect(r, 75, "a second code within the hour (sends_per_hour = 1)")
    sb.cleanup()


@case("email: STARTTLS required but not offered is refused; none only to loopback")
def _():
    sb = sandbox("notls", mail_cfg(W.plain.port, tls="starttls"))
    u = sb.new_user()
    n0 = len(W.plain.records("msg-*.json"))
    r = hrun(sb, ["contact", "set", "email", "frank@example.org", "--user", u], stdin="\n")
    expect(r, 69, "server without STARTTLS")
    check("STARTTLS" in r.stderr, f"message: {r.stderr}")
    check(len(W.plain.records("msg-*.json")) == n0, "sent in clear text")
    write(sb.cfg, open(sb.cfg).read().replace(f"smtp://127.0.0.1:{W.plain.port}",
                                              "smtp://mail.example.com:25")
          .replace("smtp_tls = starttls", "smtp_tls = none"))
    r = hrun(sb, ["--check-config"])
    expect(r, 78, "smtp_tls = none to a remote server")
    check("clear text" in r.stderr, f"message: {r.stderr}")
    sb.cleanup()


@case("email: SMTP down gives 69 with a clear message, nothing stored")
def _():
    sb = sandbox("down", mail_cfg(free_port()))
    u = sb.new_user()
    r = hrun(sb, ["contact", "set", "email", "gina@example.org", "--user", u], stdin="\n")
    expect(r, 69, "no SMTP server")
    check("cannot connect" in r.stderr and "Nothing changed" in r.stderr,
          f"message: {r.stderr}")
    got, _ = contacts(sb, u)
    check(got == {}, f"stored: {got}")
    sb.cleanup()


@case("email: a server that never answers gives 69 within the time limits")
def _():
    import threading
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    held = []
    stop = threading.Event()

    def accept():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(ls.accept()[0])  # accept, then say nothing
            except socket.timeout:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    sb = sandbox("silent", mail_cfg(ls.getsockname()[1]))
    u = sb.new_user()
    t0 = time.time()
    try:
        r = hrun(sb, ["contact", "set", "email", "ivan@example.org", "--user", u], stdin="\n")
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        ls.close()
    took = time.time() - t0
    expect(r, 69, "a silent SMTP server")
    check("did not answer in time" in r.stderr, f"message: {r.stderr}")
    check(took < 50, f"took {took:.0f} s")
    got, _ = contacts(sb, u)
    check(got == {}, f"stored: {got}")
    sb.cleanup()


@case("email: CR/LF in an address refused (65), nothing sent")
def _():
    sb = sandbox("inject", mail_cfg(W.plain.port))
    u = sb.new_user()
    n0 = len(W.plain.records("msg-*.json"))
    for addr in ("victim@example.org\r\nBcc: all@example.org", "victim@example.org\nBcc: x@y.org",
                 "a@example.org>\r\nRCPT TO:<b@example.org", "two@a.org,three@b.org",
                 "\"q\"@example.org"):
        r = hrun(sb, ["contact", "set", "email", addr, "--user", u], stdin="\n")
        expect(r, 65, f"address {addr!r}")
        r = hrun(sb, ["admin", "set-contact", u, "email", addr])
        expect(r, 65, f"admin set-contact {addr!r}")
    check(len(W.plain.records("msg-*.json")) == n0, "a message went out")
    sb.cleanup()


@case("email: an address on local_domains is refused with the reason")
def _():
    sb = sandbox("local", mail_cfg(W.plain.port))
    u = sb.new_user()
    for addr in ("me@example.net", "Me@EXAMPLE.NET", "me@mail.test"):
        r = hrun(sb, ["contact", "set", "email", addr, "--user", u], stdin="\n")
        expect(r, 65, f"local address {addr}")
        check("own mail domain" in r.stderr and "another provider" in r.stderr,
              f"message: {r.stderr}")
    sb.cleanup()


@case("email: SMTP AUTH over STARTTLS; a wrong password and an open password file refused")
def _():
    pwfile_dir = tempfile.mkdtemp(prefix="pamrec-pw-")
    pw = os.path.join(pwfile_dir, "smtp.pw")
    write(pw, "s3cret pw\n", 0o600)
    sb = sandbox("auth", mail_cfg(W.auth.port, tls="starttls", extra=(
        f"smtp_ca_file = {W.ca}/ca.crt\nsmtp_user = mailer\nsmtp_password_file = {pw}\n")))
    u = sb.new_user()
    n0 = len(W.auth.records("msg-*.json"))
    expect(hrun(sb, ["contact", "set", "email", "hank@example.org", "--user", u], stdin="\n"),
           0, "with the right password")
    msg = new_mail(W.auth, n0)
    check(msg["auth_user"] == "mailer" and msg["tls"], f"auth/tls: {msg['auth_user']}")
    write(pw, "wrong\n", 0o600)
    r = hrun(sb, ["contact", "set", "email", "hank@example.org", "--user", u], stdin="\n")
    expect(r, 69, "wrong SMTP password")
    check("refused the login" in r.stderr and "wrong" not in r.stderr, f"message: {r.stderr}")
    os.chmod(pw, 0o644)
    r = hrun(sb, ["contact", "set", "email", "hank@example.org", "--user", u], stdin="\n")
    expect(r, 78, "a password file others can read")
    check("smtp_password_file" in r.stderr, f"message: {r.stderr}")
    shutil.rmtree(pwfile_dir, ignore_errors=True)
    sb.cleanup()


@case("email: a verified address stays until the new one is proven")
def _():
    sb = sandbox("keep", mail_cfg(W.plain.port))
    u = sb.new_user()
    expect(hrun(sb, ["admin", "set-contact", u, "email", "old@example.org"]), 0, "admin set")
    n0 = len(W.plain.records("msg-*.json"))
    r = hrun(sb, ["contact", "set", "email", "new@example.org", "--user", u], stdin="\n")
    expect(r, 1, "new address, no code typed")
    got, _ = contacts(sb, u)
    check(got["email"]["value"] == "o***d@example.org" and got["email"]["verified"],
          f"the old address was lost: {got}")
    code = mail_code(new_mail(W.plain, n0))
    r = hrun(sb, ["contact", "verify", "email", "--user", u], stdin=code + "\n")
    expect(r, 0, "verify (the stored address is verified already)")
    got, _ = contacts(sb, u)
    check(got["email"]["value"] == "o***d@example.org", f"contact verify took the new one: {got}")
    n1 = len(W.plain.records("msg-*.json"))
    p = Proc(sb.cmd(["contact", "set", "email", "new@example.org", "--user", u], True), sb.env())
    p.step("code")
    p.send({"code": mail_code(new_mail(W.plain, n1))})
    rc, out, err = p.finish()
    check(rc == 0, f"exit {rc}: {err}")
    got, _ = contacts(sb, u)
    check(got["email"]["value"] == "n***w@example.org" and got["email"]["verified"],
          f"not replaced: {got}")
    sb.cleanup()


# ---- SMS ----

def sms_cfg(extra="", limits=True):
    return (f"sms_url = http://127.0.0.1:{W.http.port}/sms\n"
            + ("code_attempts = 3\nsends_per_hour = 5\n" if limits else "") + extra)


def sms_auth(sb, line):
    path = os.path.join(sb.etc, "sms.auth")
    write(path, line + "\n", 0o600)
    return path


def last_sms(before):
    return wait_for(lambda: http_reqs(r"^/sms$")[before:], "a request to the SMS gateway")[0]


@case("phone: E.164, bearer auth, form body; verified by the SMS code")
def _():
    sb = Sandbox("sms", "")
    write(sb.cfg, open(sb.cfg).read() + sms_cfg(
        f"sms_auth_file = {sms_auth(sb, 'Bearer ' + SMS_TOKEN)}\n"))
    sb.init()
    u = sb.new_user()
    for bad in ("+12", "37126123456", "+371 2612 3456 7890 1234", "+3712612345a"):
        expect(hrun(sb, ["contact", "set", "phone", bad, "--user", u], stdin="\n"), 65,
               f"number {bad!r}")
    n0 = len(http_reqs(r"^/sms$"))
    r = hrun(sb, ["contact", "set", "phone", "+371 2612-3456", "--user", u], stdin="\n")
    expect(r, 0, "contact set phone")
    req = last_sms(n0)
    check(req["peer_uid"] == NOBODY, f"HTTP client ran as uid {req['peer_uid']}")
    check(req["headers"].get("Authorization") == "Bearer " + SMS_TOKEN,
          f"auth header: {req['headers']}")
    check(req["headers"].get("Content-Type", "").startswith(
        "application/x-www-form-urlencoded"), f"content type: {req['headers']}")
    form = urllib.parse.parse_qs(req["body"], strict_parsing=True)
    check(form["to"] == ["+37126123456"], f"to: {form}")
    m = re.search(r"is (\d{8})", form["text"][0])
    check(m is not None, f"no code in {form['text']}")
    check(SMS_TOKEN not in r.stdout + r.stderr, "the gateway token was printed")
    got, _ = contacts(sb, u)
    check(got["phone"]["value"] == "+37*******56" and not got["phone"]["verified"],
          f"phone: {got}")
    expect(hrun(sb, ["contact", "verify", "phone", "--user", u], stdin=m.group(1) + "\n"), 0,
           "verify phone")
    got, _ = contacts(sb, u)
    check(got["phone"]["verified"], f"not verified: {got}")
    sb.cleanup()


@case("phone: JSON body template with basic auth; a template that is not JSON refused")
def _():
    sb = Sandbox("smsjson", "")
    auth = sms_auth(sb, "basic ACuser:pa55:word")
    write(sb.cfg, open(sb.cfg).read() + sms_cfg(
        f"sms_auth_file = {auth}\nsms_content_type = json\n"
        'sms_body = {"to":"{to}","message":"{text}"}\n'))
    sb.init()
    u = sb.new_user()
    n0 = len(http_reqs(r"^/sms$"))
    expect(hrun(sb, ["contact", "set", "phone", "+4915112345678", "--user", u], stdin="\n"), 0,
           "contact set phone (json)")
    req = last_sms(n0)
    check(req["headers"].get("Authorization") == "Basic " + base64.b64encode(
        b"ACuser:pa55:word").decode(), f"basic auth: {req['headers']}")
    check(req["headers"].get("Content-Type", "").startswith("application/json"), "type")
    body = json.loads(req["body"])
    check(body["to"] == "+4915112345678" and re.search(r"is \d{8}", body["message"]),
          f"body: {body}")
    write(sb.cfg, open(sb.cfg).read().replace('"to":"{to}"', '"to":{to}'))
    r = hrun(sb, ["contact", "set", "phone", "+4915112345678", "--user", u], stdin="\n")
    expect(r, 78, "a template that is not JSON once filled in")
    check("not valid JSON" in r.stderr, f"message: {r.stderr}")
    sb.cleanup()


@case("phone: the gateway answering 500 gives 69, nothing stored")
def _():
    sb = sandbox("sms500", sms_cfg())
    u = sb.new_user()
    W.control("sms_status", "500")
    try:
        r = hrun(sb, ["contact", "set", "phone", "+37126123456", "--user", u], stdin="\n")
    finally:
        W.control("sms_status", "200")
    expect(r, 69, "gateway 500")
    check("HTTP 500" in r.stderr, f"message: {r.stderr}")
    got, _ = contacts(sb, u)
    check(got == {}, f"stored: {got}")
    sb.cleanup()


@case("phone: a gateway answering more than 1 MiB: sent, the answer cut, the code works")
def _():
    # The answer is read into a buffer capped at 1 MiB (NET_BODY_MAX): past it the transfer
    # is cut, and the status line that came first still says the message was taken.
    sb = sandbox("smsbig", sms_cfg())
    u = sb.new_user()
    n0 = len(http_reqs(r"^/sms$"))
    W.control("sms_pad", str(3 * 1024 * 1024))
    try:
        r = hrun(sb, ["contact", "set", "phone", "+37126123456", "--user", u], stdin="\n")
    finally:
        W.control("sms_pad", "0")
    expect(r, 0, "contact set phone, a 3 MiB answer")
    form = urllib.parse.parse_qs(last_sms(n0)["body"], strict_parsing=True)
    m = re.search(r"is (\d{8})", form["text"][0])
    check(m is not None, f"no code in {form['text']}")
    expect(hrun(sb, ["contact", "verify", "phone", "--user", u], stdin=m.group(1) + "\n"), 0,
           "verify phone")
    got, _ = contacts(sb, u)
    check(got["phone"]["verified"], f"not verified: {got}")
    sb.cleanup()


# ---- Telegram ----

def tg_cfg(sb, token=TOKEN):
    path = os.path.join(sb.etc, "tg.token")
    write(path, token + "\n", 0o600)
    return f"telegram_api = http://127.0.0.1:{W.http.port}\ntelegram_token_file = {path}\n"


@case("telegram: linking via getUpdates and sendMessage; the token never in stderr or syslog")
def _():
    sb = Sandbox("tg", "")
    write(sb.cfg, open(sb.cfg).read() + tg_cfg(sb))
    sb.init()
    u = sb.new_user()
    log = os.path.join(sb.tmp, "syslog")
    W.control("clear_updates", "")
    p = Proc(["unshare", "-m", "--propagation", "private", "/usr/bin/python3",
              os.path.join(HERE, "syslog_ns.py"), log, "--"]
             + sb.cmd(["contact", "set", "telegram", "--user", u], True), sb.env())
    st = p.step("telegram")
    start = st["start_code"]
    check(st["bot"] == "recover_test_bot" and
          st["link"] == f"https://t.me/recover_test_bot?start={start}", f"step: {st}")
    # a group with the right code, a stranger with a wrong one, then the user
    W.control("update", json.dumps({"chat_id": -100777, "text": start, "type": "group"}))
    W.control("update", json.dumps({"chat_id": 555000222, "text": "/start 00000000"}))
    n0 = len(http_reqs(r"/sendMessage$"))
    p.send({"ready": "yes"})
    st2 = p.step("telegram")  # not received yet
    check(st2.get("status") == "not received yet", f"{st2}")
    W.control("update", json.dumps({"chat_id": 555000111, "text": f"/start {start}"}))
    p.send({"ready": "yes"})
    st3 = p.step("code")
    check(st3["channel"] == "telegram" and st3["sent_to"].endswith("11"), f"step: {st3}")
    sent = wait_for(lambda: http_reqs(r"/sendMessage$")[n0:], "sendMessage")[0]
    body = json.loads(sent["body"])
    check(body["chat_id"] == 555000111, f"sent to {body['chat_id']}")
    check(sent["peer_uid"] == NOBODY, f"Bot API client ran as uid {sent['peer_uid']}")
    code = re.search(r"is (\d{8})", body["text"]).group(1)
    p.send({"code": code})
    rc, out, err = p.finish()
    check(rc == 0, f"exit {rc}: {err}")
    check(parse_json_lines(out).get("verified") is True, f"result: {out}")
    got, _ = contacts(sb, u)
    check(got["telegram"]["verified"] and got["telegram"]["value"] == "chat \u202611",
          f"telegram: {got}")
    lines = open(log).read()
    check("telegram" in lines, f"nothing was logged: {lines!r}")
    secret = TOKEN.split(":", 1)[1]
    for where, text in (("stdout", out), ("stderr", err), ("syslog", lines)):
        check(secret not in text, f"the bot token appears in {where}")
    # a token the API does not accept: a clear error, still without the token
    write(os.path.join(sb.etc, "tg.token"), "987654:WrongToken_SECRETX\n", 0o600)
    r = hrun(sb, ["contact", "set", "telegram", "--user", u], json_out=True,
             prefix=["unshare", "-m", "--propagation", "private", "/usr/bin/python3",
                     os.path.join(HERE, "syslog_ns.py"), log, "--"])
    expect(r, 69, "a token the Bot API refuses")
    check("not valid" in r.stderr, f"message: {r.stderr}")
    lines = open(log).read()
    for where, text in (("stdout", r.stdout), ("stderr", r.stderr), ("syslog", lines)):
        check("WrongToken_SECRETX" not in text, f"the bot token appears in {where}")
    write(os.path.join(sb.etc, "tg.token"), "not a token\n", 0o600)
    r = hrun(sb, ["contact", "set", "telegram", "--user", u])
    expect(r, 78, "a malformed token file")
    sb.cleanup()


# ---- question, list, remove, admin ----

@case("question: chosen from the list; the answer normalised and stored as Argon2id")
def _():
    sb = sandbox("question", "questions = What was the name of your first pet? | "
                 "In which town were you born?\n")
    u = sb.new_user()
    r = hrun(sb, ["contact", "set", "question", "--question", "2", "--user", u],
             stdin="  Riga   TOWN \nriga town\n")
    expect(r, 0, "contact set question")
    db = sqlite3.connect(sb.db)
    q, h = db.execute("SELECT question, answer_hash FROM questions WHERE username = ?",
                      (u,)).fetchone()
    db.close()
    check(q == "In which town were you born?", f"question: {q!r}")
    check(h.startswith("$argon2id$"), f"hash: {h[:20]}")
    sodium = ctypes.CDLL("libsodium.so.23")
    for answer, want in ((b"riga town", 0), (b"Riga Town", -1)):
        got = sodium.crypto_pwhash_str_verify(h.encode(), answer, ctypes.c_ulonglong(len(answer)))
        check(got == want, f"verify {answer!r}: {got}")
    r = hrun(sb, ["contact", "set", "question", "--question", "What is my own question?",
                  "--user", u], stdin="one\ntwo\n")
    expect(r, 65, "two different answers")
    _, d = contacts(sb, u)
    check(d["security_question"] == "In which town were you born?", f"list: {d}")
    expect(hrun(sb, ["contact", "remove", "question", "--user", u]), 0, "remove question")
    _, d = contacts(sb, u)
    check(d["security_question"] is None, f"after remove: {d}")
    sb.cleanup()


@case("question: on a terminal the list is shown and the answer is not echoed")
def _():
    sb = sandbox("qtty", "questions = What was the name of your first pet? | "
                 "In which town were you born?\n")
    u = sb.new_user()
    c = sb.spawn(["contact", "set", "question", "--user", u], timeout=30)
    seen = io.StringIO()
    c.logfile_read = seen
    c.expect("2\\) In which town were you born\\?")
    c.expect("Question: ")
    c.sendline("1")
    c.expect("Answer: ")
    c.sendline("Rex the Dog")
    c.expect("Answer again: ")
    c.sendline("rex  the dog ")
    c.expect("Done: your security question is")
    c.expect(pexpect_eof())
    c.close()
    check(c.exitstatus == 0, f"exit {c.exitstatus}")
    check("Rex" not in seen.getvalue() and "rex" not in seen.getvalue(),
          f"the answer was echoed: {seen.getvalue()!r}")
    check("Question: 1" in seen.getvalue().replace("\r", ""), "the question number not echoed")
    _, d = contacts(sb, u)
    check(d["security_question"] == "What was the name of your first pet?", f"{d}")
    sb.cleanup()


def pexpect_eof():
    import pexpect
    return pexpect.EOF


@case("admin set-contact / remove-contact; contact list masked")
def _():
    sb = sandbox("admin", mail_cfg(W.plain.port) + sms_cfg(limits=False))
    u = sb.new_user()
    expect(hrun(sb, ["admin", "set-contact", u, "email", "Owner.Name@Example.com"]), 0,
           "set email")
    expect(hrun(sb, ["admin", "set-contact", u, "phone", "+44 20 7946 0958"]), 0, "set phone")
    expect(hrun(sb, ["admin", "set-contact", u, "telegram", "123456789"]), 0, "set telegram")
    expect(hrun(sb, ["admin", "set-contact", u, "email", "x@example.net"]), 65, "local domain")
    expect(hrun(sb, ["admin", "set-contact", u, "question", "x"]), 64, "question")
    expect(hrun(sb, ["admin", "set-contact", "no-such-user-xyz", "email", "a@example.org"]), 66,
           "unknown user")
    got, _ = contacts(sb, u)
    check(got["email"] == {"kind": "email", "value": "o***e@example.com", "verified": True},
          f"email: {got.get('email')}")
    check(got["phone"]["value"] == "+44********58" and got["phone"]["verified"],
          f"phone: {got.get('phone')}")
    check(got["telegram"]["value"] == "chat \u202689", f"telegram: {got.get('telegram')}")
    r = hrun(sb, ["contact", "list", "--user", u])
    expect(r, 0, "contact list")
    for full in ("owner.name", "2079460958", "123456789"):
        check(full not in r.stdout.lower(), f"{full} shown in clear: {r.stdout}")
    # seed 003: the administrator changes the owner's address
    expect(hrun(sb, ["admin", "set-contact", u, "email", "new.owner@example.com"]), 0, "change")
    got, _ = contacts(sb, u)
    check(got["email"]["value"] == "n***r@example.com", f"changed: {got['email']}")
    expect(hrun(sb, ["admin", "remove-contact", u, "email"]), 0, "remove email")
    r = hrun(sb, ["admin", "remove-contact", u, "email"])
    expect(r, 0, "remove again")
    check("nothing changed" in r.stdout, f"message: {r.stdout}")
    got, _ = contacts(sb, u)
    check("email" not in got and "phone" in got, f"after remove: {got}")
    expect(hrun(sb, ["contact", "remove", "phone", "--user", u]), 0, "user removes phone")
    got, _ = contacts(sb, u)
    check("phone" not in got, f"after contact remove: {got}")
    audit = hrun(sb, ["admin", "audit", u]).stdout
    check("admin-set-contact" in audit and "admin-remove-contact" in audit, audit)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sb.helper, "admin", "set-contact", u, "email", "a@example.org"],
                       capture_output=True, text=True, env=sb.env(), timeout=30)
    expect(r, 77, "admin set-contact by a non-root caller")
    sb.cleanup()


def main():
    global W
    need_root_and_tools("openssl", "faketime", "unshare", "setpriv")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("SKIP: python3-aiosmtpd is missing (bash scripts/deps)")
        sys.exit(77)
    W = World()
    try:
        run_cases("channels")
    finally:
        W.stop()


if __name__ == "__main__":
    main()
