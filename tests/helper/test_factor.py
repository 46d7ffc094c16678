#!/usr/bin/python3
"""
The password alone never takes over the second factor: pam-recover installed as it is
(setuid root, started by an ordinary user whose password the real pam_unix checks), while
2-step verification is on.

- backup-codes, enable (again), app-password add, contact set, contact remove and disable
  ask for the password AND a current code from the app (oathtool); the password alone, or
  the password and a backup code, change nothing (the codes, the secret, the contacts stay).
- The rule for a lost app: `enable --lost-app` and `disable --lost-app` take a backup code
  (and only a backup code); the other backup codes stop working, and the verified recovery
  contact gets a notice through a real SMTP server (aiosmtpd, smtp_sink.py).
- Root with --user is asked as before (backup-codes needs no code).
- The per-caller limit of a reset counts the caller's uid; `reset --client ADDRESS` is
  refused unless the caller is in frontend_users, and then counts per client.

The helper is copied setuid root into a temporary prefix; a user is created for the test and
removed at the end, whatever happens; in a private mount namespace the compiled-in
configuration path and the PAM service `pam-recover` (conf/pam.d/pam-recover: the real
pam_unix) are the test's own. The host's /etc is never changed apart from the test user.

usage: test_factor.py [BUILDDIR]      (as root; RC_TEST_ONLY=REGEX selects cases)
"""
import fcntl
import json
import os
import re
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (SANITIZER_ENV, bind_over, case, check, copy_default_config,  # noqa: E402
                    inner_main, need_root_and_tools, now_step, parse_json_lines, run_as_real_user,
                    run_cases, Sandbox, sanitizer_build, Skip, top_builddir, totp, write)

SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class World:
    user = password = uid = gid = helper = sb = conf = None
    mail_dir = None
    procs = []


W = World()
STEP = [0]  # the last TOTP step handed out (each code is used once)


def next_code(secret):
    """A code of a step not used yet (the sandbox's window is 5 steps either side)."""
    STEP[0] = max(STEP[0] + 1, now_step() - 4)
    return totp(secret, STEP[0])


def as_user(args, stdin=None):
    cmd = ["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups", "/usr/bin/env",
           "-i", f"PATH={CLEAN_PATH}"] + [f"{k}={v}" for k, v in SANITIZER_ENV.items()]
    return subprocess.run(cmd + [W.helper, "--json"] + args, capture_output=True, text=True,
                          input=stdin, timeout=120, env={"PATH": CLEAN_PATH}, cwd="/")


def lines(*objs):
    return "".join(json.dumps(o) + "\n" for o in objs)


def enrol():
    """A fresh enrolment of the test user (root, --user): (secret, backup codes)."""
    r = W.sb.run(["admin", "disable-2fa", W.user])
    sb = W.sb
    p = subprocess.Popen(sb.cmd(["enable", "--user", W.user], json_out=True),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=sb.env())
    first = json.loads(p.stdout.readline())
    check(first.get("step") == "verify", f"enable --json: {first} ({r.stderr})")
    STEP[0] = now_step() - 4
    p.stdin.write(json.dumps({"code": next_code(first["secret"])}) + "\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, f"enable --user failed ({p.returncode}): {err}")
    done = parse_json_lines(out)
    return first["secret"], done["backup_codes"]


def status():
    return W.sb.status(W.user)


def backup_works(code):
    """A backup code through the login decision (`check`, as the module asks)."""
    return W.sb.check_code(W.user, code) == 1


def mails():
    return sorted(f for f in os.listdir(W.mail_dir) if f.startswith("msg-"))


def wait_mail(before, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = mails()[len(before):]
        if new:
            with open(os.path.join(W.mail_dir, new[0])) as f:
                return json.load(f)
        time.sleep(0.1)
    return None


def refused(r, what):
    check(r.returncode != 0, f"{what}: accepted ({r.stdout[-300:]!r})")


# ---------------------------------------------------------------------------------------------
# cases (inside the namespace)

@case("backup-codes-password-alone-or-backup-code-refused")
def t_backup_codes():
    secret, codes = enrol()
    r = as_user(["backup-codes"], lines({"password": W.password}))
    refused(r, "backup-codes with the password alone")
    r = as_user(["backup-codes"], lines({"password": W.password, "current_code": codes[0]}))
    check(r.returncode == 1 and "a backup code is not enough" in r.stderr,
          f"backup-codes with a backup code: {r.returncode} {r.stderr!r}")
    check(status()["backup_codes_left"] == len(codes), "the set changed")
    check(backup_works(codes[1]), "an old backup code stopped working")
    r = as_user(["backup-codes"], lines({"password": W.password,
                                         "current_code": next_code(secret)}))
    check(r.returncode == 0, f"backup-codes with a current code: {r.returncode} {r.stderr!r}")
    new = parse_json_lines(r.stdout)["backup_codes"]
    check(len(new) == 10 and not backup_works(codes[2]), "the new set did not replace the old")


@case("enable-again-needs-the-app-not-a-backup-code")
def t_enable_again():
    secret, codes = enrol()
    # The measured take-over: password + a backup code replaced the secret.
    r = as_user(["enable"], lines({"password": W.password, "current_code": codes[0]}))
    check(r.returncode == 1, f"enable with a backup code: {r.returncode} {r.stderr!r}")
    r = as_user(["enable"], lines({"password": W.password}))
    refused(r, "enable with the password alone")
    check(W.sb.check_code(W.user, next_code(secret)) == 0, "the old secret stopped working")
    # With a current code from the app: a new secret.
    p = subprocess.run(
        ["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups", "/usr/bin/env",
         "-i", f"PATH={CLEAN_PATH}", W.helper, "--json", "enable"],
        input=lines({"password": W.password, "current_code": next_code(secret)}),
        capture_output=True, text=True, timeout=60, env={"PATH": CLEAN_PATH}, cwd="/")
    first = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    check(first and first[0].get("step") == "verify" and first[0]["replacing"] is True,
          f"enable with a current code did not reach the new secret: {p.stderr!r}")


@case("enable-lost-app-backup-code-revokes-others-and-tells-contacts")
def t_enable_lost():
    secret, codes = enrol()
    addr = f"owner{os.getpid()}@mail.example"
    r = W.sb.run(["admin", "set-contact", W.user, "email", addr])
    check(r.returncode == 0, f"admin set-contact: {r.stderr}")
    # --lost-app takes a backup code only: a code from the app is refused.
    r = as_user(["enable", "--lost-app"], lines({"password": W.password,
                                                 "current_code": next_code(secret)}))
    check(r.returncode == 1 and "not an unused backup code" in r.stderr,
          f"--lost-app with an app code: {r.returncode} {r.stderr!r}")
    before = mails()
    # The first code of the new secret comes after the object that shows it.
    cmd = ["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups", "/usr/bin/env",
           "-i", f"PATH={CLEAN_PATH}", W.helper, "--json", "enable", "--lost-app"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={"PATH": CLEAN_PATH}, cwd="/")
    p.stdin.write(lines({"password": W.password, "current_code": codes[0]}))
    p.stdin.flush()
    first = json.loads(p.stdout.readline())
    check(first.get("step") == "verify", f"enable --lost-app: {first}")
    STEP[0] = now_step() - 4
    p.stdin.write(lines({"code": next_code(first["secret"])}))
    p.stdin.flush()
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, f"enable --lost-app: {p.returncode} {err!r}")
    new = parse_json_lines(out)["backup_codes"]
    check(not any(backup_works(c) for c in codes[1:3]), "the other backup codes still work")
    check(backup_works(new[0]), "the new backup codes do not work")
    m = wait_mail(before)
    check(m is not None and addr in m["rcpt_tos"], "the recovery contact was not told")
    check("backup code" in m["data"] and "app was reported lost" in m["data"],
          f"the notice does not say what happened: {m['data'][:400]!r}")
    events = [e["event"] for e in W.sb.json(["admin", "audit", W.user])["events"]]
    check("factor-notice-sent" in events, f"no audit event for the notice: {events[:8]}")


def devices():
    return [d["name"] for d in status()["devices"]]


def user_cmd(args):
    return ["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups", "/usr/bin/env",
            "-i", f"PATH={CLEAN_PATH}", W.helper, "--json"] + args


@case("device-add-needs-password-and-a-current-code")
def t_device_add():
    secret, codes = enrol()
    check(devices() == ["phone"], f"enable's first device: {devices()}")
    r = as_user(["device", "add", "tablet"], lines({"password": W.password}))
    refused(r, "device add with the password alone")
    r = as_user(["device", "add", "tablet"], lines({"password": W.password,
                                                    "current_code": codes[0]}))
    check(r.returncode == 1 and "a backup code is not enough" in r.stderr,
          f"device add with a backup code: {r.returncode} {r.stderr!r}")
    r = as_user(["device", "add", "tablet"], lines({"password": "wrong-" + W.password,
                                                    "current_code": next_code(secret)}))
    refused(r, "device add with a wrong password")
    check(devices() == ["phone"], f"a device was added without both proofs: {devices()}")
    # password + a current code: the new secret, verified by its first code
    p = subprocess.Popen(user_cmd(["device", "add", "tablet"]), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={"PATH": CLEAN_PATH}, cwd="/")
    p.stdin.write(lines({"password": W.password, "current_code": next_code(secret)}))
    p.stdin.flush()
    first = json.loads(p.stdout.readline())
    check(first.get("step") == "verify", f"device add: {first}")
    tablet = first["secret"]
    p.stdin.write(lines({"code": totp(tablet, STEP[0])}))
    p.stdin.flush()
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, f"device add: {p.returncode} {err!r}")
    done = parse_json_lines(out)
    check(done.get("added") == "tablet" and done.get("devices") == 2, f"device add: {done}")
    check(sorted(devices()) == ["phone", "tablet"], f"devices: {devices()}")
    # the backup codes stay; both devices' codes work; the first code was used up
    check(backup_works(codes[1]), "adding a device replaced the backup codes")
    check(W.sb.check_code(W.user, totp(tablet, STEP[0])) == 3, "the first code is reusable")
    check(W.sb.check_code(W.user, next_code(tablet)) == 0, "the tablet's code is refused")
    check(W.sb.check_code(W.user, next_code(secret)) == 0, "the phone's code is refused")
    # a name taken, and the list as the user sees it
    r = as_user(["device", "add", "tablet"], lines({"password": W.password,
                                                    "current_code": next_code(secret)}))
    check(r.returncode == 65 and "already has a device called tablet" in r.stderr,
          f"device add of a taken name: {r.returncode} {r.stderr!r}")
    r = as_user(["device", "list"])
    check(r.returncode == 0, f"device list: {r.returncode} {r.stderr!r}")
    listed = parse_json_lines(r.stdout)["devices"]
    check(sorted(d["name"] for d in listed) == ["phone", "tablet"] and
          set(listed[0]) == {"name", "algorithm", "digits", "period", "created", "last_used"},
          f"device list: {listed}")


@case("device-remove-needs-password-and-a-current-code")
def t_device_remove():
    secret, codes = enrol()
    r = W.sb.run(["admin", "enrol", W.user, "--device", "tablet"], json_out=True)
    check(r.returncode == 0, f"admin enrol --device: {r.returncode} {r.stderr!r}")
    tablet = parse_json_lines(r.stdout)["secret"]
    r = as_user(["device", "remove", "phone"], lines({"password": W.password}))
    refused(r, "device remove with the password alone")
    r = as_user(["device", "remove", "phone"], lines({"password": W.password,
                                                      "code": codes[0]}))
    refused(r, "device remove with a backup code")
    check(sorted(devices()) == ["phone", "tablet"], f"a device went: {devices()}")
    # the phone is lost: the tablet's code removes it
    r = as_user(["device", "remove", "phone"], lines({"password": W.password,
                                                      "code": next_code(tablet)}))
    check(r.returncode == 0, f"device remove: {r.returncode} {r.stderr!r}")
    d = parse_json_lines(r.stdout)
    check(d.get("removed") == "phone" and d.get("devices_left") == 1, f"removed: {d}")
    check(W.sb.check_code(W.user, next_code(secret)) == 2, "the removed phone's code works")
    check(backup_works(codes[1]), "removing one device removed the backup codes")
    # the last device: as disable (password and a code), 2-step verification off
    r = as_user(["device", "remove", "tablet"], lines({"password": W.password}))
    refused(r, "removing the last device with the password alone")
    check(status()["totp_enabled"] is True, "2FA went off without a code")
    r = as_user(["device", "remove", "tablet"], lines({"password": W.password,
                                                       "code": next_code(tablet)}))
    check(r.returncode == 0, f"device remove (last): {r.returncode} {r.stderr!r}")
    st = status()
    check(st["totp_enabled"] is False and st["devices"] == [] and
          st["backup_codes_left"] == 0, f"after removing the last device: {st}")


@case("app-password-and-contacts-need-a-current-code")
def t_app_contacts():
    secret, codes = enrol()
    r = as_user(["app-password", "add", "mua"], lines({"password": W.password}))
    refused(r, "app-password add with the password alone")
    r = as_user(["app-password", "add", "mua"], lines({"password": W.password,
                                                      "current_code": codes[0]}))
    refused(r, "app-password add with a backup code")
    r = W.sb.run(["app-password", "list", "--user", W.user], json_out=True)
    check("mua" not in r.stdout, "an app password was made")
    r = as_user(["app-password", "add", "mua"], lines({"password": W.password,
                                                      "current_code": next_code(secret)}))
    check(r.returncode == 0 and parse_json_lines(r.stdout)["name"] == "mua",
          f"app-password add with a code: {r.returncode} {r.stderr!r}")
    # contacts: set and remove
    addr = f"keep{os.getpid()}@mail.example"
    check(W.sb.run(["admin", "set-contact", W.user, "email", addr]).returncode == 0, "set")
    r = as_user(["contact", "remove", "email"], lines({"password": W.password}))
    refused(r, "contact remove with the password alone")
    r = as_user(["contact", "set", "email", f"evil{os.getpid()}@attacker.example"],
                lines({"password": W.password, "current_code": codes[1]}))
    refused(r, "contact set with a backup code")
    lst = W.sb.json(["contact", "list", "--user", W.user])["contacts"]
    check(any(c["kind"] == "email" and c["verified"] for c in lst), f"contacts changed: {lst}")
    r = as_user(["contact", "set", "question", "--question", "Pet?"],
                lines({"password": W.password}))
    refused(r, "contact set question with the password alone")
    r = as_user(["contact", "remove", "email"], lines({"password": W.password,
                                                      "current_code": next_code(secret)}))
    check(r.returncode == 0 and parse_json_lines(r.stdout)["changed"] is True,
          f"contact remove with a code: {r.returncode} {r.stderr!r}")


@case("disable-backup-code-only-with-lost-app")
def t_disable():
    secret, codes = enrol()
    r = as_user(["disable"], lines({"password": W.password, "code": codes[0]}))
    check(r.returncode == 1 and "a backup code is not enough" in r.stderr,
          f"disable with a backup code: {r.returncode} {r.stderr!r}")
    check(status()["totp_enabled"] is True, "2FA was turned off")
    check(backup_works(codes[0]), "the refused backup code was used up")
    addr = f"dis{os.getpid()}@mail.example"
    check(W.sb.run(["admin", "set-contact", W.user, "email", addr]).returncode == 0, "set")
    before = mails()
    r = as_user(["disable", "--lost-app"], lines({"password": W.password, "code": codes[1]}))
    check(r.returncode == 0 and parse_json_lines(r.stdout)["method"] == "backup-code",
          f"disable --lost-app: {r.returncode} {r.stderr!r}")
    check(status()["totp_enabled"] is False, "2FA still on")
    m = wait_mail(before)
    check(m is not None and addr in m["rcpt_tos"] and "turned off" in m["data"],
          "the recovery contact was not told")


@case("disable-lost-app-contacts-told-while-the-caller-does-not-read")
def t_disable_stalled():
    """The caller hands `disable --lost-app` a full pipe as standard output and never reads
    it: the helper blocks on its answer, but the notice to the recovery contact has gone
    out before (right after the commit), so stalling the output does not hold it back."""
    secret, codes = enrol()
    addr = f"stall{os.getpid()}@mail.example"
    check(W.sb.run(["admin", "set-contact", W.user, "email", addr]).returncode == 0, "set")
    rfd, wfd = os.pipe()
    fcntl.fcntl(wfd, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(wfd, False)
    try:
        while True:
            os.write(wfd, b"x" * 512)
    except BlockingIOError:
        pass
    os.set_blocking(wfd, True)
    before = mails()
    cmd = ["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups",
           "/usr/bin/env", "-i", f"PATH={CLEAN_PATH}"] + \
        [f"{k}={v}" for k, v in SANITIZER_ENV.items()] + [W.helper, "--json", "disable",
                                                          "--lost-app"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=wfd, stderr=subprocess.DEVNULL,
                         env={"PATH": CLEAN_PATH}, cwd="/")
    os.close(wfd)
    try:
        p.stdin.write(lines({"password": W.password, "code": codes[0]}).encode())
        p.stdin.close()
        m = wait_mail(before)
        check(m is not None and addr in m["rcpt_tos"] and "turned off" in m["data"],
              "the recovery contact was not told while the output was stalled")
        with os.fdopen(rfd, "rb") as f:
            rfd = None
            out = f.read()
        p.wait(timeout=60)
    finally:
        if rfd is not None:
            os.close(rfd)
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0 and b'"backup-code"' in out, f"disable --lost-app: {p.returncode}")
    check(status()["totp_enabled"] is False, "2FA still on")


@case("disable-with-a-current-code")
def t_disable_code():
    secret, codes = enrol()
    r = as_user(["disable"], lines({"password": W.password, "code": next_code(secret)}))
    check(r.returncode == 0 and parse_json_lines(r.stdout)["method"] == "code",
          f"disable with a code: {r.returncode} {r.stderr!r}")


@case("root-with-user-unchanged")
def t_root():
    secret, codes = enrol()
    r = W.sb.run(["backup-codes", "--user", W.user], json_out=True, stdin="")
    check(r.returncode == 0 and len(parse_json_lines(r.stdout)["backup_codes"]) == 10,
          f"root's backup-codes --user: {r.returncode} {r.stderr!r}")
    r = W.sb.run(["disable", "--user", W.user], json_out=True,
                 stdin=lines({"code": next_code(secret)}))
    check(r.returncode == 0, f"root's disable --user: {r.returncode} {r.stderr!r}")


@case("contact-set-limited-per-caller-uid")
def t_contact_caller():
    secret, codes = enrol()
    W.sb.run(["admin", "remove-contact", W.user, "email"])

    def body():
        results = []
        for i in range(3):
            r = as_user(["contact", "set", "email", f"c{i}x{os.getpid()}@mail.example"],
                        lines({"password": W.password, "current_code": next_code(secret)}))
            results.append((r.returncode, r.stderr.strip()[-120:]))
        check([rc for rc, _ in results] == [0, 0, 75] and "from here" in results[2][1],
              f"contact set per caller: {results}")
    with_config("caller_requests_per_hour = 2\n", body)


def with_config(extra, fn):
    """Run fn with `extra` appended to the configuration the setuid helper reads, and the
    per-caller counts of earlier cases cleared."""
    import sqlite3
    with open(W.conf) as f:
        saved = f.read()
    db = sqlite3.connect(W.sb.db)
    with db:
        db.execute("DELETE FROM counters WHERE key LIKE 'send-caller:%'")
    db.close()
    try:
        write(W.conf, saved + extra, 0o644)
        fn()
    finally:
        write(W.conf, saved, 0o644)


def reset_question(args, name, answers):
    stdin = lines({"user": name}, {"method": "question"}, *({"answer": a} for a in answers))
    r = as_user(["reset"] + args, stdin)
    objs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    return r.returncode, objs


@case("reset-caller-limit-per-uid-and-client-only-for-front-ends")
def t_caller():
    def body():
        unknown = "nobody%d@example.org" % os.getpid()
        # --client from an ordinary account: refused before anything else.
        rc, objs = reset_question(["--client", "198.51.100.9"], unknown, ["x"])
        check(rc == 77 and objs and objs[-1].get("code") == "not_allowed",
              f"--client from a non-front-end account: {rc} {objs[-1:]}")
        # The caller's uid: two answers checked, then the limit (names typed count nothing).
        for _ in range(3):
            as_user(["reset"], lines({"user": unknown}))
        rc, objs = reset_question([], unknown, ["a", "b", "c"])
        codes = [o.get("code") for o in objs if o.get("step") == "error"]
        check(codes == ["wrong_answer", "wrong_answer", "rate_limited"] and rc == 75,
              f"per-uid limit: {rc} {codes}")
    with_config("reset_methods = question\ncaller_requests_per_hour = 2\n", body)

    def front():
        unknown = "nobody%dfe@example.org" % os.getpid()  # its own daily question cap
        rc, objs = reset_question(["--client", "198.51.100.9"], unknown, ["a", "b"])
        codes = [o.get("code") for o in objs if o.get("step") == "error"]
        check(codes == ["wrong_answer", "wrong_answer"], f"front end, client 1: {rc} {codes}")
        # The uid itself is not held back by its clients' counts: another client goes on.
        rc, objs = reset_question(["--client", "198.51.100.10"], unknown, ["a"])
        codes = [o.get("code") for o in objs if o.get("step") == "error"]
        check(codes == ["wrong_answer"], f"front end, client 2: {rc} {codes}")
        rc, objs = reset_question(["--client", "198.51.100.9"], unknown, ["a"])
        check(rc == 75 and objs[-1].get("code") == "rate_limited",
              f"front end, client 1 again: {rc} {objs[-1:]}")
    with_config(f"reset_methods = question\ncaller_requests_per_hour = 2\n"
                f"frontend_users = nobody, {W.user}\n", front)


# ---------------------------------------------------------------------------------------------
# set-up

def die_with_parent():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def start_smtp(tmp):
    W.mail_dir = os.path.join(tmp, "mail")
    os.mkdir(W.mail_dir)
    port_file = os.path.join(tmp, "smtp.port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"), "--dir",
                          W.mail_dir, "--port-file", port_file], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    W.procs.append(p)
    for _ in range(100):
        if os.path.exists(port_file):
            with open(port_file) as f:
                return int(f.read().strip())
        time.sleep(0.1)
    raise Skip("the SMTP sink did not start")


def inner(user, password, prefix):
    W.user, W.password = user, password
    pw = pwd.getpwnam(user)
    W.uid, W.gid = pw.pw_uid, pw.pw_gid
    W.helper = os.path.join(prefix, "bin", "pam-recover")
    tmp = tempfile.mkdtemp(prefix="rc-factor-")
    try:
        port = start_smtp(tmp)
        W.sb = Sandbox("factor", extra_cfg=f"smtp_url = smtp://127.0.0.1:{port}\n"
                       "smtp_tls = none\nmail_from = recover@example.net\n")
        W.sb.init()
        placed = copy_default_config(W.sb)
        if placed is None:
            print("SKIP: cannot place the default configuration")
            return 77
        conf_path, etcsec, sec_copy, pamd_copy = placed
        W.conf = conf_path
        with open(os.path.join(SRCDIR, "conf", "pam.d", "pam-recover")) as f:
            service = f.read()
        if sanitizer_build(W.helper):
            raise SystemExit(77)  # see test_setuid.py: pam_unix and ASan in a setuid program
        write(os.path.join(pamd_copy, "pam-recover"), service, 0o644)
        # the sender first: its overlay may cover a parent of etcsec (a distcheck prefix),
        # and an overlay made later would hide the binds below
        place_sender(W.helper, W.sb.tmp)
        bind_over(((sec_copy, etcsec), (pamd_copy, "/etc/pam.d")))
        os.chmod(W.sb.tmp, 0o711)
        run_cases("helper-factor")
    except SystemExit as e:
        return e.code
    finally:
        for p in W.procs:
            p.terminate()
        if W.sb is not None:
            W.sb.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def place_sender(helper, tmp):
    """A user's setuid helper runs pam-recover-send only from its compiled-in path: lay the
    built one there (a read-only overlay over that path's parent in this namespace)."""
    with open(helper, "rb") as f:
        paths = re.findall(rb"(/[A-Za-z0-9_./-]+/pam-recover-send)\0", f.read())
    if not paths:
        raise SystemExit("FAIL: helper-factor: no sender path in the helper")
    want = paths[0].decode()
    parent, leaf = os.path.split(os.path.dirname(want))
    while not os.path.isdir(parent):  # the first directory that exists takes the overlay
        parent, more = os.path.split(parent)
        leaf = os.path.join(more, leaf)
    top = os.path.join(tmp, "sender-top")
    os.makedirs(os.path.join(top, leaf), exist_ok=True)
    shutil.copy(os.path.join(top_builddir(), "pam-recover-send"),
                os.path.join(top, leaf, "pam-recover-send"))
    os.chmod(top, 0o755)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={top}:{parent}",
                    parent], check=True)


def outer():
    need_root_and_tools("setpriv", "unshare", "useradd", "userdel", "chpasswd", "findmnt",
                        "oathtool", "mount")
    for mod in ("aiosmtpd",):
        if subprocess.run(["/usr/bin/python3", "-c", f"import {mod}"]).returncode != 0:
            print(f"SKIP: /usr/bin/python3 lacks the module {mod} (bash scripts/deps)")
            return 77
    return run_as_real_user(__file__, "helper-factor", "factor", "bin")


if __name__ == "__main__":
    inner_main(inner, outer)
