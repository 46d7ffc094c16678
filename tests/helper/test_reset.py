#!/usr/bin/python3
"""
`pam-recover reset` driven the way people and web front ends drive it: the JSON
protocol line by line (`reset --json`), and the terminal flow on a pseudo-terminal (pexpect),
against a real SMTP server (aiosmtpd, tests/helper/smtp_sink.py) and loopback SMS-gateway /
Telegram Bot API endpoints (tests/helper/http_sink.py).

Real accounts: test users made with useradd (removed at the end, whatever happens), their
passwords set by the helper through the real PAM password stack (pam_unix) of a service in a
private copy of /etc/pam.d, bind-mounted over /etc/pam.d in a private mount namespace
(unshare -m), and logins tried through the real libpam (pypamtest) with pam_unix and the
built pam_recover.so. Virtual mail users (name@domain) go through password_command.

As root; loopback only; every helper run has a time limit.

usage: test_reset.py [BUILDDIR]      RC_TEST_ONLY=REGEX selects cases.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (Fail, Sandbox, Skip, case, check, need_root_and_tools, now_step,  # noqa: E402
                    parse_json_lines, run_cases, top_builddir, totp, write)

NS_MARK = "RC_RESET_IN_NAMESPACE"
LOGIN_SERVICE = "rc-reset-login"
PASSWORD_SERVICE = "rc-reset-pw"
TG_TOKEN = "4242:test-token"
RUN_TIMEOUT = 90

# ---------------------------------------------------------------------------------------------
# the outer process: a private mount namespace for the inner run, users removed afterwards


def sweep_stale_users():
    """Users left by a run that was killed outright (rcr<PID>x<N> whose PID is gone)."""
    with open("/etc/passwd") as f:
        for line in f:
            m = re.match(r"(rcr(\d+)x\d+):", line)
            if m and not os.path.exists(f"/proc/{m.group(2)}"):
                subprocess.run(["userdel", "-f", m.group(1)], capture_output=True)


def outer():
    need_root_and_tools("oathtool", "faketime", "useradd", "userdel", "chpasswd", "unshare",
                        "mount")
    for mod in ("pexpect", "aiosmtpd", "pypamtest"):
        r = subprocess.run(["/usr/bin/python3", "-c", f"import {mod}"], capture_output=True)
        if r.returncode != 0:
            print(f"SKIP: /usr/bin/python3 lacks the module {mod} (bash scripts/deps)")
            sys.exit(77)
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIP: cannot make a private mount namespace (unshare -m): {probe.stderr.strip()}")
        sys.exit(77)
    sweep_stale_users()
    users_file = tempfile.NamedTemporaryFile(prefix="rc-reset-users-", delete=False)
    users_file.close()
    env = dict(os.environ, **{NS_MARK: "1", "RC_RESET_USERS": users_file.name})
    rc = 1
    try:
        p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "/usr/bin/python3",
                              os.path.abspath(__file__)] + sys.argv[1:], env=env)
        try:
            rc = p.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            print("FAIL: reset: the test run took longer than 30 minutes")
            rc = 1
    finally:
        with open(users_file.name) as f:
            for name in f.read().split():
                subprocess.run(["userdel", "-f", name], capture_output=True)
        os.unlink(users_file.name)
    sys.exit(rc)


# ---------------------------------------------------------------------------------------------
# the inner process: pam.d, sinks, sandboxes

def die_with_parent():
    """A sink ends with the test, however the test ends (PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


class World:
    """Everything the cases share: pam.d copy, SMTP and HTTP sinks, scripts."""

    def __init__(self):
        self.procs = []
        self.mounted = False
        self.tmp = tempfile.mkdtemp(prefix="rc-reset-")
        try:
            self.setup()
        except BaseException:
            self.close()
            raise

    def setup(self):
        os.chmod(self.tmp, 0o700)
        self.build = top_builddir()
        self.module = os.path.join(self.build, ".libs", "pam_recover.so")
        check(os.path.exists(self.module), f"{self.module} is not built")
        self.mail_dir = os.path.join(self.tmp, "mail")
        self.http_dir = os.path.join(self.tmp, "http")
        os.mkdir(self.mail_dir)
        os.mkdir(self.http_dir)
        os.chmod(self.http_dir, 0o755)  # the sink runs as root; fine
        self.smtp_port = self.start_sink(
            [os.path.join(HERE, "smtp_sink.py"), "--dir", self.mail_dir], "smtp.port")
        self.http_port = self.start_sink(
            [os.path.join(HERE, "http_sink.py"), "--dir", self.http_dir, "--token", TG_TOKEN],
            "http.port")
        self.token_file = os.path.join(self.tmp, "tg.token")
        write(self.token_file, TG_TOKEN + "\n", 0o600)
        self.setpw_log = os.path.join(self.tmp, "setpw.log")
        self.setpw = os.path.join(self.tmp, "setpw.sh")
        write(self.setpw, "#!/bin/sh\n"
              "# password_command for virtual users: argv[1] the user, the password on stdin\n"
              "IFS= read -r pw\n"
              "case \"$pw\" in *REFUSE*) echo \"the mail system refuses this password\"; "
              "exit 65;; esac\n"
              f"printf '%s %s %s\\n' \"$#\" \"$1\" \"$pw\" >> {self.setpw_log}\n"
              "exit 0\n", 0o700)
        self.post_log = os.path.join(self.tmp, "post.log")
        self.post = os.path.join(self.tmp, "post.sh")
        write(self.post, "#!/bin/sh\n"
              f"printf 'kick %s env=%s\\n' \"$1\" \"$(env | sort | tr '\\n' ' ')\" >> {self.post_log}\n"
              "exit 0\n", 0o700)
        self.post_fail = os.path.join(self.tmp, "post-fail.sh")
        write(self.post_fail, "#!/bin/sh\necho 'doveadm: cannot connect'\nexit 3\n", 0o700)
        self.setup_pamd()

    def start_sink(self, argv, port_name):
        port_file = os.path.join(self.tmp, port_name)
        p = subprocess.Popen(["/usr/bin/python3"] + argv + ["--port-file", port_file],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=die_with_parent)
        self.procs.append(p)
        for _ in range(100):
            if os.path.exists(port_file):
                with open(port_file) as f:
                    return int(f.read().strip())
            time.sleep(0.1)
        raise Fail(f"{argv[0]} did not start")

    def setup_pamd(self):
        self.pamd = os.path.join(self.tmp, "pam.d")
        shutil.copytree("/etc/pam.d", self.pamd, symlinks=True)
        write(os.path.join(self.pamd, PASSWORD_SERVICE),
              "# how pam-recover sets a new password (test copy of a real stack)\n"
              "@include common-password\n", 0o644)
        subprocess.run(["mount", "--bind", self.pamd, "/etc/pam.d"], check=True)
        self.mounted = True

    def set_login_stack(self, cfg):
        """The login stack: pam_unix, then the built pam_recover.so (nullok) on `cfg`."""
        write(os.path.join(self.pamd, LOGIN_SERVICE),
              "auth required pam_unix.so\n"
              f"auth required {self.module} nullok config={cfg}\n"
              "account required pam_unix.so\n", 0o644)

    def mails(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.mail_dir, "msg-*.json"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def http(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.http_dir, "req-*.json"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "/etc/pam.d"], capture_output=True)
            self.mounted = False
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


W = None
SANDBOXES = {}
SEQ = [0]


def channels_cfg(smtp_port=None):
    w = W
    return (f"smtp_url = smtp://127.0.0.1:{smtp_port or w.smtp_port}\nsmtp_tls = none\n"
            "mail_from = recover@example.net\n"
            "reset_url = https://mail.example.net/reset?user={user}&code={code}\n"
            f"sms_url = http://127.0.0.1:{w.http_port}/sms\n"
            f"telegram_api = http://127.0.0.1:{w.http_port}\n"
            f"telegram_token_file = {w.token_file}\n"
            "support_contact = help@example.net (+371 6700 0000)\n"
            "questions = What was the name of your first pet?|In what city were you born?\n")


def sandbox(kind, extra=""):
    """Sandboxes by kind: "pam" (real users, password_service), "cmd" (virtual users,
    password_command) and variants with extra settings."""
    key = (kind, extra)
    if key not in SANDBOXES:
        if kind == "pam":
            setter = f"password_service = {PASSWORD_SERVICE}\npost_reset_command = {W.post} %u\n"
        else:
            setter = f"password_command = {W.setpw} %u\n"
        sb = ResetSandbox("reset", extra_cfg=channels_cfg() + setter + extra)
        SANDBOXES[key] = sb  # removed at the end even when init fails
        sb.init()
    return SANDBOXES[key]


def real_user(password):
    SEQ[0] += 1
    name = f"rcr{os.getpid() % 100000}x{SEQ[0]}"
    with open(os.environ["RC_RESET_USERS"], "a") as f:
        f.write(name + "\n")
    r = subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"useradd {name}: {r.stderr}")
    r = subprocess.run(["chpasswd"], input=f"{name}:{password}\n", capture_output=True,
                       text=True)
    check(r.returncode == 0, f"chpasswd {name}: {r.stderr}")
    return name


def virtual_user():
    SEQ[0] += 1
    return f"v{os.getpid() % 100000}x{SEQ[0]}@example.org"


# ---------------------------------------------------------------------------------------------
# messages that arrived

def wait_for(fn, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Fail(f"timed out waiting for {what}")


def mails_to(addr, since=0):
    return [m for m in W.mails()[since:] if addr in m["rcpt_tos"]]


def mail_code(addr, since):
    m = wait_for(lambda: mails_to(addr, since), f"a mail to {addr}")[-1]
    found = re.search(r"\b(\d{8})\b", m["data"])
    check(found, f"no code in the mail to {addr}: {m['data'][:400]!r}")
    return found.group(1), m


def sms_to(number, since=0):
    out = []
    for r in W.http()[since:]:
        if r["path"] == "/sms":
            body = urllib.parse.unquote_plus(r["body"])
            if number in body:
                out.append(body)
    return out


def tg_to(chat, since=0):
    out = []
    for r in W.http()[since:]:
        if r["path"].endswith("/sendMessage"):
            b = json.loads(r["body"])
            if str(b.get("chat_id")) == str(chat):
                out.append(b["text"])
    return out


def code_in(text):
    found = re.search(r"\b(\d{8})\b", text)
    check(found, f"no code in {text!r}")
    return found.group(1)


# ---------------------------------------------------------------------------------------------
# recovery contacts and 2FA, set up the way users do it

def admin_has(verb):
    sb = sandbox("cmd")
    return verb in sb.run(["admin", "--help"]).stdout


def json_session(sb, args, lines, timeout=60):
    """Run a helper verb with --json, feeding `lines` (callables or objects) one per
    request; returns (rc, objects printed)."""
    p = subprocess.Popen(sb.cmd(args, json_out=True), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=sb.env())
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    objs = []
    try:
        for item in lines:
            line = p.stdout.readline()
            if not line:
                break
            objs.append(json.loads(line))
            obj = item(objs[-1]) if callable(item) else item
            p.stdin.write(json.dumps(obj) + "\n")
            p.stdin.flush()
        out, err = p.communicate()
    finally:
        timer.cancel()
    objs += [json.loads(x) for x in out.splitlines() if x.strip().startswith("{")]
    return p.returncode, objs, err


def set_email(sb, user, addr):
    if admin_has("set-contact"):
        r = sb.run(["admin", "set-contact", user, "email", addr])
        check(r.returncode == 0, f"admin set-contact: {r.stderr}")
        return
    since = len(W.mails())
    rc, objs, err = json_session(sb, ["contact", "set", "email", addr, "--user", user],
                                 [lambda o: {"code": mail_code(addr, since)[0]}])
    check(rc == 0 and objs[-1].get("verified") is True, f"contact set email: {rc} {err}")


def set_phone(sb, user, number):
    if admin_has("set-contact"):
        r = sb.run(["admin", "set-contact", user, "phone", number])
        check(r.returncode == 0, f"admin set-contact: {r.stderr}")
        return
    since = len(W.http())
    rc, objs, err = json_session(
        sb, ["contact", "set", "phone", number, "--user", user],
        [lambda o: {"code": code_in(wait_for(lambda: sms_to(number, since), "an SMS")[-1])}])
    check(rc == 0 and objs[-1].get("verified") is True, f"contact set phone: {rc} {err}")


def set_telegram(sb, user, chat):
    if admin_has("set-contact"):
        r = sb.run(["admin", "set-contact", user, "telegram", str(chat)])
        check(r.returncode == 0, f"admin set-contact: {r.stderr}")
        return
    since = len(W.http())

    def ready(o):
        check(o.get("step") == "telegram" and "start_code" in o, f"telegram step: {o}")
        import urllib.request
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{W.http_port}/_control/update", method="POST",
            data=json.dumps({"chat_id": chat, "text": "/start " + o["start_code"]}).encode()),
            timeout=10).read()
        return {"ready": ""}

    rc, objs, err = json_session(
        sb, ["contact", "set", "telegram", "--user", user],
        [ready, lambda o: {"code": code_in(wait_for(lambda: tg_to(chat, since), "a TG")[-1])}])
    check(rc == 0 and objs[-1].get("verified") is True, f"contact set telegram: {rc} {err}")


def set_question(sb, user, question, answer):
    rc, objs, err = json_session(sb, ["contact", "set", "question", "--user", user],
                                 [{"question": question, "answer": answer}])
    check(rc == 0, f"contact set question: {rc} {err} {objs}")


def enrol(sb, user):
    d = sb.json(["admin", "enrol", user])
    return d["secret"], d["backup_codes"]


def add_app_password(sb, user):
    d = sb.json(["app-password", "add", "phone-mail", "--user", user])
    return d["password"]


# ---------------------------------------------------------------------------------------------
# logging in through the real libpam

LOGIN_PY = r"""
import json, sys
import pypamtest
req = json.loads(sys.stdin.read())
tests = [pypamtest.TestCase(pypamtest.PAMTEST_AUTHENTICATE),
         pypamtest.TestCase(pypamtest.PAMTEST_ACCOUNT)]
try:
    pypamtest.run_pamtest(req["user"], req["service"], tests, req["answers"])
except pypamtest.PamTestError as e:
    print(e, file=sys.stderr)
    sys.exit(1)
sys.exit(0)
"""


def asan_runtime(path):
    """libasan's path when `path` was built with AddressSanitizer, else None."""
    with open(path, "rb") as f:
        if b"libasan.so" not in f.read():
            return None
    return subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()


# ASan's crypt() interceptor calls a NULL "real" crypt when libcrypt is only dlopen'ed
# later (by pam_unix): an ASan process that runs pam_unix needs libcrypt preloaded too.
LIBCRYPT = "libcrypt.so.1"


def asan_env(path, env):
    lib = asan_runtime(path)
    if lib:
        env = dict(env, LD_PRELOAD=f"{lib} {LIBCRYPT}")
    return env


def login_env():
    """The login runs in a child python: an ASan-built module needs libasan first."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if asan_runtime(W.module):
        env = dict(asan_env(W.module, env), ASAN_OPTIONS="detect_leaks=0")
    return env


class ResetSandbox(Sandbox):
    """rctest's sandbox; an ASan-built helper gets libasan and libcrypt preloaded."""

    def env(self):
        return asan_env(self.helper, super().env())


def login(sb, user, answers):
    """pam_authenticate + pam_acct_mgmt on the login stack with exactly these answers (so a
    prompt more than the answers given fails the login)."""
    W.set_login_stack(sb.cfg)
    r = subprocess.run(["/usr/bin/python3", "-c", LOGIN_PY],
                       input=json.dumps({"user": user, "service": LOGIN_SERVICE,
                                         "answers": answers}),
                       capture_output=True, text=True, env=login_env(), timeout=60)
    check(r.returncode in (0, 1), f"the login test crashed ({r.returncode}): {r.stderr[-600:]}")
    return r.returncode == 0


# ---------------------------------------------------------------------------------------------
# the JSON protocol

def faketime_env(sb, offset):
    """libfaketime for the helper, which clears its environment before libfaketime reads
    FAKETIME: tests/helper/faketime_prime.c makes it read it first (as test_channels.py)."""
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
    asan = asan_runtime(sb.helper)  # an ASan build wants its runtime first
    preload = f"{asan + ' ' + LIBCRYPT + ' ' if asan else ''}{libs[0]} {prime}"
    return dict(sb.env(), LD_PRELOAD=preload, FAKETIME=offset,
                FAKETIME_CACHE_DURATION="86400", FAKETIME_DONT_FAKE_MONOTONIC="1")


class Run:
    """One `pam-recover reset --json` run, read and written line by line."""

    def __init__(self, sb, args=None, faketime=None):
        cmd = sb.cmd(["reset"] + (args or []), json_out=True)
        env = faketime_env(sb, faketime) if faketime else sb.env()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.timer = threading.Timer(RUN_TIMEOUT, self.p.kill)
        self.timer.start()
        self.log = []
        self.sent = []

    def read(self):
        line = self.p.stdout.readline()
        check(line, f"the helper ended early; so far: {self.log}; stderr: "
              f"{self.p.stderr.read() if self.p.poll() is not None else ''}")
        obj = json.loads(line)
        self.log.append(obj)
        return obj

    def expect(self, step):
        obj = self.read()
        check(obj.get("step") == step, f"expected step {step!r}, got {obj}")
        return obj

    def send(self, obj):
        self.sent.append(obj)
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()

    def finish(self):
        """Close our end of its input and collect the rest of the run."""
        if self.p.stdin is not None and not self.p.stdin.closed:
            self.p.stdin.close()
        self.p.stdin = None
        try:
            out, self.err = self.p.communicate(timeout=RUN_TIMEOUT)
        finally:
            self.timer.cancel()
        self.log += [json.loads(x) for x in out.splitlines() if x.strip().startswith("{")]
        return self.p.returncode

    def steps(self):
        return [(o.get("step"), o.get("code")) for o in self.log]


def start(sb, user, method, args=None):
    r = Run(sb, args)
    r.expect("user")
    r.send({"user": user})
    m = r.expect("method")
    ids = [x["id"] for x in m["methods"]]
    check(method in ids, f"{method} not offered: {m}")
    r.send({"method": method})
    return r, m


def new_password(r, pw, confirm=None):
    st = r.expect("password")
    check("policy" in st and st.get("suggestion"), f"password step without policy: {st}")
    r.send({"password": pw} if confirm is None else {"password": pw, "confirm": confirm})
    return st


def finish_done(r):
    rc = r.finish()
    done = r.log[-1]
    check(rc == 0 and done.get("step") == "done", f"reset did not finish ({rc}): {r.log[-3:]} "
          f"{r.err}")
    return done


def email_reset(sb, user, addr, newpw):
    """A complete reset by e-mail; returns (done, code, code mail)."""
    since = len(W.mails())
    r, _ = start(sb, user, "email")
    r.expect("email")
    r.send({"email": addr.upper()})  # the address is compared case-insensitively
    st = r.expect("code")
    check(st["channel"] == "email" and st["expires_in"] == 3600, f"code step: {st}")
    code, mail = mail_code(addr, since)
    r.send({"code": code})
    new_password(r, newpw)
    return finish_done(r), code, mail


def notices(addr, since):
    return [m for m in mails_to(addr, since) if "Subject: Your password was reset" in m["data"]]


def audit(sb, user):
    return sb.run(["admin", "audit", user, "--limit", "0"], json_out=True).stdout


# ---------------------------------------------------------------------------------------------
# cases

@case("email-reset-real-account-through-pam")
def t_email_real():
    sb = sandbox("pam")
    old, new = "0ld-Passw0rd!", "N3w-Passw0rd!x"
    user = real_user(old)
    addr = f"{user}.rec@gmail.example"
    set_email(sb, user, addr)
    secret, backups = enrol(sb, user)
    tablet = sb.json(["admin", "enrol", user, "--device", "tablet"])["secret"]
    app = add_app_password(sb, user)
    # Before: the old password needs a code; with one it logs in.
    check(not login(sb, user, [old]), "the old password alone logged in with 2FA on")
    check(login(sb, user, [old, totp(secret, now_step())]), "old password + code refused")
    since = len(W.mails())
    open(W.post_log, "a").close()
    posts_before = open(W.post_log).read().count(f"kick {user} ")
    done, code, mail = email_reset(sb, user, addr, new)
    check(done["two_factor"] == "off" and done["notified"] == ["email"], f"done: {done}")
    # A web user may have no shell: the JSON message names no command to run.
    check("pam-recover enable" not in done["message"] and "2-step verification is off" in
          done["message"], f"done message: {done['message']!r}")
    check(done["post_reset"] == "ok", f"post_reset_command: {done}")
    # The code mail: the code, the link with the user and code URL-escaped, no password.
    check(f"https://mail.example.net/reset?user={user}&code={code}" in mail["data"],
          f"no reset link in the mail: {mail['data'][:600]!r}")
    check("Subject: Reset your password" in mail["data"], "code mail subject")
    # The site is named as the contact confirmations name it: the issuer (Example Mail).
    check(f"account {user} on Example Mail" in " ".join(mail["data"].split()),
          f"the code mail does not name the issuer: {mail['data'][:600]!r}")
    # After: the new password logs in with no code asked; the old one fails.
    check(login(sb, user, [new]), "the new password does not log in (or a code was asked)")
    check(not login(sb, user, [old]), "the old password still logs in")
    check(not login(sb, user, [old, totp(secret, now_step())]), "old password + code works")
    st = sb.status(user)
    check(st["totp_enabled"] is False and st["backup_codes_left"] == 0, f"2FA not off: {st}")
    # every device went, the second one too
    check(st["devices"] == [], f"devices left after the reset: {st['devices']}")
    check(sb.check_code(user, totp(tablet, now_step() + 1)) == 5,
          "the second device is still enrolled after the reset")
    check("every authenticator device was removed" in done["message"],
          f"the done message does not say the devices went: {done['message']!r}")
    check(st["app_passwords"] == [], f"app passwords left: {st['app_passwords']}")
    for b in backups[:2]:
        check(sb.check_code(user, b) != 1, "a backup code still works after the reset")
    check(sb.check_code(user, app, mode="app") not in (7,), "the app password still works")
    # The notice arrived and says what happened, without the password or the code.
    ns = notices(addr, since)
    check(len(ns) == 1, f"{len(ns)} notices to the recovery address")
    text = ns[0]["data"]
    for word in ("was reset", user, "recovery e-mail", "2-step verification was turned off",
                 "every authenticator device (app) was removed", "help@example.net",
                 "on Example Mail"):
        check(word in text, f"the notice lacks {word!r}: {text[:800]!r}")
    check(new not in text and old not in text and code not in text,
          "the notice contains a password or the code")
    # post_reset_command ran once with the user as its own argument, in a clean environment.
    log = open(W.post_log).read()
    check(log.count(f"kick {user} ") == posts_before + 1, f"post_reset_command log: {log!r}")
    line = [x for x in log.splitlines() if x.startswith(f"kick {user} ")][-1]
    check("PATH=/usr/sbin:/usr/bin:/sbin:/bin" in line and "HOME=/" in line, line)
    check(new not in log, "the password reached post_reset_command")
    # Audit: every step, never a secret.
    a = audit(sb, user)
    for ev in ("reset-start", "reset-method", "reset-code-sent", "reset-proof-ok",
               "reset-password-set", "reset-2fa-cleared", "reset-notice-sent", "reset-done"):
        check(ev in a, f"no audit event {ev}: {a[:1500]}")
    check(code not in a and new not in a, "the audit trail holds a secret")
    # The used code is refused afterwards.
    r = Run(sb, ["--code"])
    r.expect("user")
    r.send({"user": user})
    st = r.expect("code")
    check(st["channel"] == "any", f"--code step: {st}")
    r.send({"code": code})
    e = r.expect("error")
    check(e["code"] == "wrong_code" and e["final"] is False, f"a used code: {e}")
    check(r.finish() != 0, "reset --code with a used code succeeded")
    check(all(o.get("step") != "password" for o in r.log), "a used code reached the password")


@case("sms-reset-terminal-real-account")
def t_sms_terminal():
    import pexpect
    sb = sandbox("pam")
    old, new = "0ld-Passw0rd!", "Sms-N3w-pass!"
    user = real_user(old)
    number = "+37126100%03d" % (SEQ[0] % 1000)
    set_phone(sb, user, number)
    since = len(W.http())
    c = sb.spawn(["reset"], timeout=30)
    c.expect("User name: ")
    c.sendline(user)
    c.expect(r"Method \(1(?:-(\d))?\): ")
    menu = c.before
    check("[1-1]" not in menu + c.after, f"the method prompt: {c.after!r}")
    m = re.search(r"(\d)\) Mobile phone \(SMS\)\s+(\S+)", menu)
    check(m, f"no SMS method in the menu: {menu!r}")
    check(number[:3] in m.group(2) and number not in menu, f"the hint is not masked: {menu!r}")
    c.sendline(m.group(1))
    c.expect("Code: ")
    check("A code was sent by SMS" in c.before, c.before)
    body = wait_for(lambda: sms_to(number, since), "the SMS")[-1]
    code = code_in(body)
    req = [x for x in W.http()[since:] if x["path"] == "/sms"][-1]
    check(req.get("peer_uid") not in (0, "0"), f"the SMS went out as root: {req.get('peer_uid')}")
    # A wrong code: the error, then the prompt again without the paragraph repeated.
    c.sendline("%08d" % ((int(code) + 1) % 10 ** 8))
    c.expect("The code is wrong or has expired")
    c.expect("Code: ")
    check("A code was sent" not in c.before, f"the paragraph is repeated: {c.before!r}")
    c.sendline(code)
    c.expect("New password: ")
    c.sendline("short")
    c.expect("Retype new password: ")
    c.sendline("short")
    c.expect("The password needs at least 8 characters, an upper-case letter, a digit and a "
             "symbol.")
    c.expect("New password: ")
    c.sendline(new)
    c.expect("Retype new password: ")
    c.sendline(new + "x")
    c.expect("The two passwords differ")
    c.expect("New password: ")
    c.sendline(new)
    c.expect("Retype new password: ")
    c.sendline(new)
    c.expect("Your password has been reset")
    c.expect(pexpect.EOF)
    c.close()
    check(c.exitstatus == 0, f"terminal reset exit {c.exitstatus}")
    check(new not in c.before, "the password was echoed")
    check(login(sb, user, [new]), "the new password does not log in")
    check(not login(sb, user, [old]), "the old password still logs in")
    n = [b for b in sms_to(number, since) if "was reset" in b]
    check(len(n) == 1 and new not in n[0] and code not in n[0], f"SMS notice: {n}")


@case("question-reset-terminal-real-account")
def t_question_terminal():
    import pexpect
    sb = sandbox("pam")
    old, new = "0ld-Passw0rd!", "Qu3stion-pass!"
    user = real_user(old)
    set_question(sb, user, "In what city were you born?", "  New   York ")
    c = sb.spawn(["reset"], timeout=60)
    c.expect("User name: ")
    c.sendline(user)
    c.expect(r"Method \(1(?:-(\d))?\): ")
    m = re.search(r"(\d)\) Security question", c.before)
    check(m, f"no question in the menu: {c.before!r}")
    c.sendline(m.group(1))
    c.expect("Answer: ")
    check("Security question: In what city were you born?" in c.before, c.before)
    c.sendline("Boston")
    c.expect("The answer is wrong")
    c.expect("Answer: ")
    c.sendline("new york")  # normalised like the stored answer
    c.expect("New password: ")
    c.sendline(new)
    c.expect("Retype new password: ")
    c.sendline(new)
    c.expect("Your password has been reset")
    c.expect(pexpect.EOF)
    c.close()
    check(c.exitstatus == 0, f"exit {c.exitstatus}")
    check(login(sb, user, [new]), "the new password does not log in")
    check(not login(sb, user, [old]), "the old password still logs in")


@case("telegram-reset-virtual-user-password-command")
def t_telegram_command():
    sb = sandbox("cmd")
    user = virtual_user()
    chat = 700000 + SEQ[0]
    set_telegram(sb, user, chat)
    since = len(W.http())
    r, m = start(sb, user, "telegram")
    hint = [x["hint"] for x in m["methods"] if x["id"] == "telegram"][0]
    check(str(chat) not in hint, f"the chat id is not masked: {hint}")
    st = r.expect("code")
    check(st["channel"] == "telegram" and st["expires_in"] == 600, f"code step: {st}")
    code = code_in(wait_for(lambda: tg_to(chat, since), "the Telegram message")[-1])
    r.send({"code": "1111 1111"})
    e = r.expect("error")
    check(e["code"] == "wrong_code" and not e["final"], f"wrong code: {e}")
    r.expect("code")
    r.send({"code": code[:4] + " " + code[4:]})  # spaces are fine
    new_password(r, "REFUSE-Th1s-one")  # the command exits 65: the step repeats
    e = r.expect("error")
    check(e["code"] == "weak_password" and "refuses" in e["message"], f"refused: {e}")
    new_password(r, "Tele-gr4m-pass", confirm="Tele-gr4m-pass")
    done = finish_done(r)
    check(done["notified"] == ["telegram"], f"done: {done}")
    lines = [x.split(" ", 2) for x in open(W.setpw_log).read().splitlines()]
    check(["1", user, "Tele-gr4m-pass"] in lines,
          f"password_command did not get (1 argument = the user, the password on stdin): "
          f"{lines[-3:]}")
    n = [t for t in tg_to(chat, since) if "was reset" in t]
    check(len(n) == 1 and "Tele-gr4m-pass" not in n[0], f"Telegram notice: {n}")


@case("expired-code-refused-faketime")
def t_expired():
    sb = sandbox("cmd")
    user = virtual_user()
    addr = f"exp{SEQ[0]}@mail.example"
    set_email(sb, user, addr)
    since = len(W.mails())
    r, _ = start(sb, user, "email")
    r.expect("email")
    r.send({"email": addr})
    r.expect("code")
    code, _ = mail_code(addr, since)
    # the user closes the page; the code stays valid for an hour
    check(r.finish() == 65, "a run whose input ended did not exit 65")
    # Two hours later the code is refused.
    late = Run(sb, ["--code", "--channel", "email"], faketime="+7200")
    late.expect("user")
    late.send({"user": user})
    late.expect("code")
    late.send({"code": code})
    e = late.expect("error")
    check(e["code"] == "wrong_code", f"expired code: {e}")
    late.finish()
    check(all(o.get("step") != "password" for o in late.log), "an expired code was accepted")
    # Within the hour the same code still works (it was refused for its age, nothing else).
    now = Run(sb, ["--code", "--channel", "email"])
    now.expect("user")
    now.send({"user": user})
    now.expect("code")
    now.send({"code": code})
    new_password(now, "Expir3d-n0t-yet")
    finish_done(now)


@case("wrong-code-n-times-locks-the-method")
def t_lock():
    sb = sandbox("cmd")
    user = virtual_user()
    addr = f"lock{SEQ[0]}@mail.example"
    set_email(sb, user, addr)
    set_question(sb, user, "What was the name of your first pet?", "rex")
    since = len(W.mails())
    r, _ = start(sb, user, "email")
    r.expect("email")
    r.send({"email": addr})
    r.expect("code")
    code, _ = mail_code(addr, since)
    wrong = "%08d" % ((int(code) + 1) % 10 ** 8)
    for i in range(5):
        r.send({"code": wrong})
        e = r.expect("error")
        if i < 4:
            check(e["code"] == "wrong_code" and not e["final"], f"try {i + 1}: {e}")
            r.expect("code")
        else:
            check(e["code"] == "locked", f"the fifth wrong code did not lock: {e}")
    r.expect("method")
    r.send({"method": "email"})
    e = r.expect("error")
    check(e["code"] == "locked", f"the e-mail method is not locked: {e}")
    m = r.expect("method")
    check({x["id"] for x in m["methods"]} == {"email", "question"}, f"methods: {m}")
    r.finish()
    # The right code is refused now too.
    c = Run(sb, ["--code"])
    c.expect("user")
    c.send({"user": user})
    c.expect("code")
    c.send({"code": code})
    e = c.expect("error")
    check(e["code"] == "locked", f"the right code after the lock: {e}")
    c.finish()
    check(all(o.get("step") != "password" for o in c.log), "a locked code was accepted")
    # admin unlock lifts the method's lock too: e-mail is offered again and sends a code.
    j = sb.json(["admin", "unlock", user])
    check(j.get("reset_methods_unlocked", 0) >= 1, f"admin unlock: {j}")
    since = len(W.mails())
    r, m = start(sb, user, "email")
    check({x["id"] for x in m["methods"]} == {"email", "question"}, f"after unlock: {m}")
    r.expect("email")
    r.send({"email": addr})
    r.expect("code")
    mail_code(addr, since)
    r.finish()
    # The login is not affected: the question still works.
    r, _ = start(sb, user, "question")
    r.expect("answer")
    r.send({"answer": "Rex"})
    new_password(r, "L0cked-but-ok!")
    finish_done(r)


def probe(sb, user, addr, wrong_codes=2):
    """The JSON sequence of an e-mail attempt, and how long the e-mail step took."""
    r, m = start(sb, user, "email")
    r.expect("email")
    t0 = time.time()
    r.send({"email": addr})
    st = r.expect("code")
    took = time.time() - t0
    for _ in range(wrong_codes):
        r.send({"code": "00000000"})
        r.expect("error")
        r.expect("code")
    rc = r.finish()
    seq = [(o.get("step"), o.get("code"), o.get("message") if o.get("step") != "method"
            else None) for o in r.log]
    return seq, took, rc, st


@case("unknown-user-indistinguishable")
def t_unknown():
    sb = sandbox("cmd")
    user = virtual_user()
    addr = f"real{SEQ[0]}@mail.example"
    set_email(sb, user, addr)
    since = len(W.mails())
    real_wrong = probe(sb, user, "someone.else@mail.example")
    unknown_v = probe(sb, "nobody%d@example.org" % os.getpid(), "someone.else@mail.example")
    unknown_s = probe(sb, "rcnosuch%d" % os.getpid(), "someone.else@mail.example")
    real_right = probe(sb, user, addr)
    root = probe(sb, "root", "root@localhost.example")  # uid 0 is never reset: like unknown
    check(real_wrong[0] == unknown_v[0] == unknown_s[0] == real_right[0] == root[0],
          f"the sequences differ:\n{real_wrong[0]}\n{unknown_v[0]}\n{unknown_s[0]}\n"
          f"{real_right[0]}\n{root[0]}")
    check(real_wrong[2] == unknown_v[2] == unknown_s[2] == real_right[2] == root[2],
          "exit statuses differ")
    times = [x[1] for x in (real_wrong, unknown_v, unknown_s, real_right, root)]
    check(min(times) >= 1.4 and max(times) - min(times) < 1.0, f"e-mail step times: {times}")
    check(len(mails_to(addr, since)) == 1, "a code went out for a wrong address")
    check(len(mails_to("someone.else@mail.example", since)) == 0, "mail to a typed address")
    # An unknown name always shows the same plausible list.
    a = Run(sb)
    a.expect("user")
    a.send({"user": "nobody%d@example.org" % os.getpid()})
    m1 = a.expect("method")
    a.finish()
    b = Run(sb)
    b.expect("user")
    b.send({"user": "nobody%d@example.org" % os.getpid()})
    m2 = b.expect("method")
    b.finish()
    check(m1 == m2 and any(x["id"] == "email" for x in m1["methods"]), f"{m1} / {m2}")


@case("smtp-down-same-answer-for-right-and-wrong-address")
def t_smtp_down():
    sb = sandbox("cmd", "sends_per_hour = 5\n")
    user = virtual_user()
    addr = f"down{SEQ[0]}@mail.example"
    set_email(sb, user, addr)
    # A second configuration on the same store and key, with the mail server down.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    down_cfg = os.path.join(sb.etc, "down.conf")
    with open(sb.cfg) as f:
        text = f.read()
    write(down_cfg, text.replace(f"127.0.0.1:{W.smtp_port}", f"127.0.0.1:{dead}"))
    since = len(W.mails())
    answers = {}
    for typed in (addr, "someone.else@mail.example"):
        cmd = [sb.helper, "--config", down_cfg, "--json", "reset"]
        p = subprocess.run(cmd, input=json.dumps({"user": user}) + "\n" +
                           json.dumps({"method": "email"}) + "\n" +
                           json.dumps({"email": typed}) + "\n",
                           capture_output=True, text=True, timeout=RUN_TIMEOUT, env=sb.env())
        objs = [json.loads(x) for x in p.stdout.splitlines()]
        answers[typed] = (p.returncode, [(o.get("step"), o.get("code"), o.get("message"))
                                         for o in objs if o.get("step") != "method"])
    right, wrong = answers[addr], answers["someone.else@mail.example"]
    check(right == wrong, f"an outage tells the right address from a wrong one:\n{right}\n"
          f"{wrong}")
    check(right[1][-1][0] == "code", f"the answer is not the code step: {right}")
    check(len(mails_to(addr, since)) == 0, "a message went out with the server down")
    check("reset-send-failed" in audit(sb, user), "no audit event for the failed send")
    # The server is back: the next request sends a code.
    r, _ = start(sb, user, "email")
    r.expect("email")
    r.send({"email": addr})
    r.expect("code")
    r.finish()
    check(len(mails_to(addr, since)) == 1, "the send after the outage did not go out")


@case("no-method-same-answer-as-unknown-name")
def t_no_method():
    sb = sandbox("pam")
    user = real_user("Whatever-1x!")
    seqs = []
    for name in (user, "rcnosuch%d" % os.getpid()):
        r = Run(sb)
        r.expect("user")
        r.send({"user": name})
        m = r.expect("method")
        check("help@example.net" in m["message"], f"the method step does not name support: {m}")
        ids = [x["id"] for x in m["methods"]]
        r.send({"method": ids[0]})
        seqs.append((sorted(m.keys()), m["proofs_needed"], r.read().get("step")))
        r.finish()
    check(seqs[0] == seqs[1], f"an account without contacts answers unlike an unknown name: "
          f"{seqs}")
    check("reset-no-method" in audit(sb, user), "the audit does not say why")


@case("proofs-needed-the-same-for-every-name")
def t_proofs_needed():
    sb = sandbox("cmd", "reset_require_two_proofs = yes\n")
    enrolled, plain = virtual_user(), virtual_user()
    for u in (enrolled, plain):
        set_question(sb, u, "What was the name of your first pet?", "Rex")
    enrol(sb, enrolled)
    needed = {}
    for name in (enrolled, plain, "nobody%d@example.org" % os.getpid()):
        r = Run(sb)
        r.expect("user")
        r.send({"user": name})
        needed[name] = r.expect("method")["proofs_needed"]
        r.finish()
    check(len(set(needed.values())) == 1 and 2 in needed.values(),
          f"proofs_needed differs by name: {needed}")
    # Without 2FA one proof is enough after all (shown only after that proof).
    r, _ = start(sb, plain, "question")
    r.expect("answer")
    r.send({"answer": "rex"})
    new_password(r, "0ne-Pr00f-pass")
    check(finish_done(r)["two_factor"] == "off", "the reset without 2FA did not finish")


@case("two-proofs-when-2fa-is-on")
def t_two_proofs():
    sb = sandbox("cmd", "reset_require_two_proofs = yes\n")
    user = virtual_user()
    addr = f"two{SEQ[0]}@mail.example"
    set_email(sb, user, addr)
    set_question(sb, user, "What was the name of your first pet?", "Rex")
    secret, _ = enrol(sb, user)
    since = len(W.mails())
    r, m = start(sb, user, "email")
    check(m["proofs_needed"] == 2, f"two proofs not asked: {m}")
    r.expect("email")
    r.send({"email": addr})
    r.expect("code")
    code, _ = mail_code(addr, since)
    r.send({"code": code})
    m2 = r.expect("method")
    check([x["id"] for x in m2["methods"]] == ["question"] and m2["proof"] == 2, f"{m2}")
    r.send({"method": "question"})
    r.expect("answer")
    r.send({"answer": "rex"})
    new_password(r, "Tw0-proofs-pass")
    done = finish_done(r)
    check(done["two_factor"] == "off", f"{done}")
    n = notices(addr, since)
    check(n and "recovery e-mail address and the security question" in n[0]["data"],
          f"the notice does not name both proofs: {n[0]['data'][:600] if n else None!r}")


@case("keep-2fa-with-a-current-code")
def t_keep_2fa():
    sb = sandbox("cmd", "reset_keep_2fa_with_code = yes\n")
    user = virtual_user()
    set_question(sb, user, "What was the name of your first pet?", "Rex")
    secret, backups = enrol(sb, user)
    r, _ = start(sb, user, "question")
    r.expect("answer")
    r.send({"answer": "rex"})
    st = r.expect("totp")
    check(st.get("optional") is True, f"{st}")
    r.send({"totp": "000000"})
    e = r.expect("error")
    check(e["code"] == "wrong_code", f"{e}")
    r.expect("totp")
    r.send({"totp": totp(secret, now_step())})
    new_password(r, "K33p-2fa-pass")
    done = finish_done(r)
    check(done["two_factor"] == "kept", f"{done}")
    st = sb.status(user)
    check(st["totp_enabled"] is True and st["backup_codes_left"] == len(backups), f"{st}")
    # The wrong code at the reset did not count against the login.
    check(st["failures"] == 0 and st["locked"] is False, f"login state touched: {st}")
    # A backup code keeps 2FA too (and is used up).
    r, _ = start(sb, user, "question")
    r.expect("answer")
    r.send({"answer": "rex"})
    r.expect("totp")
    r.send({"totp": backups[0]})
    new_password(r, "K33p-2fa-again")
    check(finish_done(r)["two_factor"] == "kept", "a backup code did not keep 2FA")
    check(sb.status(user)["backup_codes_left"] == len(backups) - 1, "the backup code is unused")
    check(sb.check_code(user, backups[0]) != 1, "the backup code used at the reset still works")


@case("rate-limit-sms")
def t_rate():
    sb = sandbox("cmd", "sends_per_hour = 3\n")
    user = virtual_user()
    number = "+37126200%03d" % (SEQ[0] % 1000)
    set_phone(sb, user, number)
    counted = 0 if admin_has("set-contact") else 1
    since = len(W.http())
    for i in range(3 - counted):
        r, _ = start(sb, user, "sms")
        r.expect("code")
        r.finish()
    r, _ = start(sb, user, "sms")
    e = r.expect("error")
    check(e["code"] == "rate_limited" and not e["final"], f"{e}")
    r.expect("method")
    r.finish()
    check(len(sms_to(number, since)) == 3 - counted, "SMS count")


@case("question-daily-cap")
def t_question_cap():
    sb = sandbox("cmd", "question_daily_attempts = 2\n")
    user = virtual_user()
    set_question(sb, user, "What was the name of your first pet?", "Rex")
    r, _ = start(sb, user, "question")
    r.expect("answer")
    r.send({"answer": "felix"})
    check(r.expect("error")["code"] == "wrong_answer", "first wrong answer")
    r.expect("answer")
    r.send({"answer": "tom"})
    check(r.expect("error")["code"] == "locked", "the cap did not lock")
    r.expect("method")
    r.send({"method": "question"})
    check(r.expect("error")["code"] == "locked", "the question is not locked")
    r.finish()


@case("json-protocol-bad-requests")
def t_bad_requests():
    sb = sandbox("cmd")
    p = subprocess.run(sb.cmd(["reset"], json_out=True),
                       input='not json\n{"usr":"x"}\n{"user":"bad name!"}\n{"user":"ok"}\n',
                       capture_output=True, text=True, timeout=RUN_TIMEOUT, env=sb.env())
    objs = [json.loads(x) for x in p.stdout.splitlines()]
    seq = [(o["step"], o.get("code")) for o in objs]
    check(seq[:5] == [("user", None), ("error", "bad_request"), ("user", None),
                      ("error", "bad_request"), ("user", None)], f"{seq}")
    check(("error", "invalid_user") in seq, f"{seq}")
    # The code never comes from the command line.
    r = sb.run(["reset", "--code", "someone", "12345678"])
    check(r.returncode == 64 and "never taken from the command line" in r.stderr, r.stderr)


@case("post-reset-command-failure-reported")
def t_post_fail():
    sb = sandbox("cmd", f"post_reset_command = {W.post_fail} %u\n")
    user = virtual_user()
    set_question(sb, user, "What was the name of your first pet?", "Rex")
    r, _ = start(sb, user, "question")
    r.expect("answer")
    r.send({"answer": "rex"})
    new_password(r, "P0st-fails-ok")
    done = finish_done(r)
    check(done["post_reset"] == "failed" and "exit status 3" in done["post_reset_error"] and
          "cannot connect" in done["post_reset_error"], f"{done}")
    lines = open(W.setpw_log).read()
    check(f" {user} P0st-fails-ok" in lines, "the password was not set")


@case("admin-reset-password-suggest")
def t_admin():
    sb = sandbox("pam")
    if not admin_has("reset-password"):
        raise Skip("admin reset-password is not in admin.c's table yet")
    user = real_user("Adm1n-old-pw!")
    d = sb.json(["admin", "reset-password", user, "--suggest"])
    pw = d["password"]
    check(len(pw) >= 19 and re.search(r"[A-Z]", pw) and re.search(r"\d", pw), pw)
    check(login(sb, user, [pw]), "the suggested password does not log in")
    r = sb.run(["admin", "reset-password", user], json_out=True,
               stdin=json.dumps({"password": "weak"}) + "\n")
    check(r.returncode == 65 and "at least 8 characters" in r.stderr, r.stderr)


def inner():
    global W
    W = World()
    try:
        run_cases("reset")
    finally:
        for sb in SANDBOXES.values():
            sb.cleanup()
        W.close()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if os.environ.get(NS_MARK) == "1":
        inner()
    else:
        outer()
