#!/usr/bin/python3
"""
A local user against the installed (setuid root) pam-recover: it cannot freeze the logins of
the host, its resource limits and scheduling do not reach the helper, and a recovery address
or phone number typed on the command line does not stay in /proc/PID/cmdline.

As in test_setuid.py, the built helper is copied into a temporary prefix on a filesystem
mounted without nosuid with mode 04755, a test user is created (useradd, password by
chpasswd) and removed at the end, and in a private mount namespace the helper's compiled-in
configuration is the test's own and /etc/pam.d/pam-recover is conf/pam.d/pam-recover. The
attacker is `nobody` (uid 65534) and the test user, each through setpriv.

The freeze case: 50 rounds as nobody and 25 as the test user. In each, the attacker starts
the helper (`reset --json` with a user name sent, `check`, `status`, `backup-codes`, the
terminal `reset` on a pty of its own) and, after a delay that varies from round to round,
tries to stop it (SIGSTOP, SIGTSTP by kill(2), ^Z on its terminal) or to slow it (nice 19,
SCHED_IDLE, one CPU, a standard output pipe nearly full that it never reads). Then root logs
in through the built pam_recover.so and the real libpam (tests/pam/pamdrive with
pam_start_confdir) with a code from oathtool: the answer must be PAM_SUCCESS within 1 s,
while the attacker's helper is still stopped or stuck. (Each round logs in at a later TOTP
step through libfaketime, so every code is fresh.)

usage: test_local_attack.py [BUILDDIR]      (as root; RC_TEST_ONLY=REGEX selects cases)
"""
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (bind_over, case, check, copy_default_config, Fail, inner_main,  # noqa: E402
                    need_root_and_tools, run_as_real_user, run_cases, Sandbox, sanitizer_build,
                    Skip, top_builddir, write)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
NOBODY = 65534
LOGIN_LIMIT = 1.0  # seconds a root login may take while an attacker holds a helper
FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1")

# The attacker, run as nobody or the test user. argv: helper kind delay action room
#   kind:   reset-json TARGET | check USER | status | backup-codes PASSWORD | reset-tty TARGET
#   action: SIGSTOP | SIGTSTP | ctrl-z | slow
# After `delay`, it hunts for HUNT seconds: stop the helper (kill(2) or ^Z), and if the stopped
# helper holds a POSIX write lock (/proc/locks: SQLite's WAL write or checkpoint lock) keep it
# stopped ("HELD"), else continue it and try again; a finished helper is started anew.
# Prints "PID n" per helper, then "SIG EPERM|HELD|stopped|stopped+EPERM|none", then "READY",
# and holds on until its stdin ends. ("stopped+EPERM": the stop was sent before the helper
# became root and took effect after, before it opened anything; it cannot be continued.)
ATTACKER = r'''
import fcntl, json, os, random, signal, subprocess, sys, termios, time
helper, kind, arg, delay, action, room = sys.argv[1:7]
delay, room = float(delay), int(room)
HUNT = 3.0  # seconds to try for a stop while the helper holds a store write lock
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
args = {"reset-json": ["--json", "reset"], "check": ["check"], "status": ["--json", "status"],
        "backup-codes": ["--json", "backup-codes"], "reset-tty": ["reset"]}[kind]
stdin_data = {"reset-json": json.dumps({"user": arg}) + "\n",
              "check": "code\n%s\nsshd\n123456\n" % arg, "status": "",
              "backup-codes": json.dumps({"password": arg}) + "\n", "reset-tty": None}[kind]
rnd = random.Random(int(delay * 1000))
keep = []

def slow():
    os.nice(19)
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

tty = None
if kind == "reset-tty":
    # A terminal of our own, with the helper as its foreground process group and us in the
    # same session (so its group is not orphaned: the kernel then really stops it on ^Z).
    os.setsid()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    tty = (master, slave)

def start():
    # returns (process, terminal master or None)
    if kind == "reset-tty":
        master, slave = tty
        def pre():
            os.setpgid(0, 0)
            signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            os.tcsetpgrp(slave, os.getpid())
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            if action == "slow":
                slow()
        p = subprocess.Popen([helper] + args, stdin=slave, stdout=slave, stderr=slave,
                             preexec_fn=pre, env=env, cwd="/")
        os.write(master, (arg + "\n").encode())
        return p, master
    out_w = subprocess.PIPE
    if action == "slow":
        # A standard output with `room` bytes left that nobody will ever read.
        r, w = os.pipe()
        fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
        os.set_blocking(w, False)
        os.write(w, b"x" * (4096 - room))
        os.set_blocking(w, True)
        out_w = w
        keep.extend([r, w])
    p = subprocess.Popen([helper] + args, stdin=subprocess.PIPE, stdout=out_w,
                         stderr=subprocess.DEVNULL, preexec_fn=slow if action == "slow" else None,
                         env=env, cwd="/")
    if stdin_data:
        try:
            p.stdin.write(stdin_data.encode())
            p.stdin.flush()
        except OSError:
            pass
    if kind in ("check", "status"):
        p.stdin.close()
    return p, None

def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"

def holds_write_lock(pid):
    # /proc/locks is world-readable: "N: POSIX ADVISORY WRITE PID MAJ:MIN:INODE START END"
    with open("/proc/locks") as f:
        for line in f:
            w = line.split()
            if len(w) >= 5 and w[1] == "POSIX" and w[3] == "WRITE" and w[4] == str(pid):
                return True
    return False

p, master = start()
print("PID", p.pid, flush=True)
time.sleep(delay)
res = "none"
end = time.time() + HUNT
try:
    while action != "slow" and time.time() < end:
        if p.poll() is not None:  # finished: the next helper of the same kind
            p, master = start()
            print("PID", p.pid, flush=True)
        if action == "ctrl-z":
            os.write(master, b"\x1a")
        else:
            os.kill(p.pid, getattr(signal, action))
        t = time.time() + 0.2
        while state(p.pid) not in ("T", "t", "Z", "X") and time.time() < t:
            time.sleep(0.001)
        if state(p.pid) in ("T", "t"):
            res = "stopped"
            if holds_write_lock(p.pid):
                res = "HELD"
                break
            os.kill(p.pid, signal.SIGCONT)
        time.sleep(rnd.uniform(0, 0.002))
except PermissionError:
    res = "EPERM" if res == "none" else res + "+EPERM"
except ProcessLookupError:
    res = "gone"
print("SIG", res, flush=True)
print("READY", flush=True)
sys.stdin.read()
'''

ROUND_KINDS = ["reset-json", "check", "status", "reset-tty", "reset-json"]
USER_KINDS = ["reset-json", "backup-codes", "check", "status", "reset-tty"]
ACTIONS = ["SIGSTOP", "SIGTSTP", "SIGSTOP", "slow"]


class World:
    user = password = uid = gid = None
    prefix = helper = sb = None


W = World()


def setpriv(uid, gid, cmd):
    groups = ["--clear-groups"] if uid == NOBODY else ["--init-groups"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}"] + groups + cmd


def proc_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def wait_blocked(pid, timeout=10):
    """Until the helper itself (after exec) sleeps waiting for its input."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            st = proc_field(pid, "State")
        except OSError:
            exe, st = "", None
        if exe.endswith("pam-recover") and st and st.startswith("S"):
            return
        time.sleep(0.05)
    raise Fail("the helper did not block on its input")


def limits_of(pid):
    """/proc/PID/limits as {name: (soft, hard)}."""
    out = {}
    with open(f"/proc/{pid}/limits") as f:
        for line in f.readlines()[1:]:
            m = re.match(r"(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)", line)
            if m:
                out[m.group(1)] = (m.group(2), m.group(3))
    return out


# ---------------------------------------------------------------------------------------------
# the root login through the real libpam

class Login:
    def __init__(self):
        self.drive = os.path.join(W.sb.tmp, "pamdrive")
        r = subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-O1", "-o", self.drive,
                            os.path.join(SRCDIR, "tests", "pam", "pamdrive.c"), "-lpam"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip(f"cannot compile pamdrive: {r.stderr[:300]}")
        self.confdir = os.path.join(W.sb.tmp, "pamconf")
        os.mkdir(self.confdir, 0o755)
        module = os.path.join(top_builddir(), ".libs", "pam_recover.so")
        check(os.path.exists(module), f"{module} is not built")
        write(os.path.join(self.confdir, "rootlogin"),
              f"auth required {module} config={W.sb.cfg}\n", 0o644)
        write(os.path.join(self.confdir, "other"), "auth required pam_deny.so\n", 0o644)
        self.faketime = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
        if self.faketime is None:
            raise Skip("libfaketime is not installed (faketime)")
        enrol = W.sb.json(["admin", "enrol", "root"])
        self.secret = enrol["secret"]
        self.offset = 0

    def code_at(self, t):
        r = subprocess.run(["oathtool", "--totp", "-b", self.secret, "--now", f"@{t}"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"oathtool: {r.stderr}")
        return r.stdout.strip()

    def root_login(self):
        """One root login at the next TOTP step: (PAM result name, seconds)."""
        self.offset += 30
        env = {"PATH": CLEAN_PATH, "LD_PRELOAD": self.faketime,
               "FAKETIME": f"+{self.offset}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        code = self.code_at(int(time.time()) + self.offset)
        t0 = time.monotonic()
        r = subprocess.run([self.drive, "--confdir", self.confdir, "rootlogin", "root", code],
                           capture_output=True, text=True, env=env, timeout=60)
        took = time.monotonic() - t0
        m = re.search(r"^AUTH -?\d+ (\S+)", r.stdout, re.M)
        return (m.group(1) if m else f"no result: {r.stdout!r} {r.stderr!r}"), took


# ---------------------------------------------------------------------------------------------
# cases (inside the namespace)

def can_raise_hard_limits():
    """Has this host's root CAP_SYS_RESOURCE (not every container gives it)? A child lowers
    its hard RLIMIT_NPROC and tries to raise it again."""
    import resource
    pid = os.fork()
    if pid == 0:
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
            resource.setrlimit(resource.RLIMIT_NPROC, (100, 100))
            resource.setrlimit(resource.RLIMIT_NPROC, (100, 101))
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


@case("root-all-through-limits-and-scheduling-reset")
def t_limits():
    """As nobody, with every limit lowered (hard limits too where root here could raise them
    again), nice 19, SCHED_IDLE and one CPU: the helper waiting in `check` runs with uids and
    gids 0, no groups, and the limits and scheduling of doc/hardening.md."""
    import resource
    mib = 1024 * 1024
    inf = resource.RLIM_INFINITY
    raise_hard = can_raise_hard_limits()
    # resource, lowered to, wanted soft, wanted hard (at least), label in /proc/PID/limits
    table = [(resource.RLIMIT_CPU, 7, inf, inf, "Max cpu time"),
             (resource.RLIMIT_FSIZE, 4096, inf, inf, "Max file size"),
             (resource.RLIMIT_DATA, 1 << 30, inf, inf, "Max data size"),
             (resource.RLIMIT_AS, 1 << 31, inf, inf, "Max address space"),
             (resource.RLIMIT_STACK, 256 * 1024, 8 * mib, 8 * mib, "Max stack size"),
             (resource.RLIMIT_NOFILE, 40, 1024, 1024, "Max open files"),
             (resource.RLIMIT_NPROC, 200, inf, inf, "Max processes"),
             (resource.RLIMIT_MEMLOCK, 0, 8 * mib, 8 * mib, "Max locked memory"),
             (resource.RLIMIT_RTTIME, 1000, inf, inf, "Max realtime timeout"),
             (resource.RLIMIT_CORE, 1 << 30, 0, 0, "Max core file size")]

    def fmt(v):
        return "unlimited" if v == inf else str(v)

    def rmin(a, b):
        return b if a == inf else a if b == inf else min(a, b)

    def rmax(a, b):
        return inf if inf in (a, b) else max(a, b)

    want = {}
    for res, low, soft, hard, label in table:
        h0 = resource.getrlimit(res)[1]
        h_caller = low if raise_hard else h0  # what the attacker leaves as hard limit
        h_after = rmax(h_caller, hard) if raise_hard else h_caller
        if res == resource.RLIMIT_CORE:
            h_after = 0
        want[label] = (fmt(rmin(soft, h_after)), fmt(h_after))

    def hostile():
        for res, low, _, _, _ in table:
            hard = low if raise_hard else resource.getrlimit(res)[1]
            resource.setrlimit(res, (rmin(low, hard), hard))
        os.nice(19)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    p = subprocess.Popen(setpriv(NOBODY, NOBODY, [W.helper, "check"]), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=hostile, env={"PATH": CLEAN_PATH}, cwd="/")
    try:
        wait_blocked(p.pid)
        check(proc_field(p.pid, "Uid").split() == ["0"] * 4, f"Uid: {proc_field(p.pid, 'Uid')}")
        check(proc_field(p.pid, "Gid").split() == ["0"] * 4, f"Gid: {proc_field(p.pid, 'Gid')}")
        check(proc_field(p.pid, "Groups") == "", f"Groups: {proc_field(p.pid, 'Groups')!r}")
        lim = limits_of(p.pid)
        bad = {k: (lim.get(k), v) for k, v in want.items() if lim.get(k) != v}
        check(not bad, f"limits (seen, wanted): {bad}"
              + ("" if raise_hard else " (no CAP_SYS_RESOURCE here: soft limits only)"))
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        nice, policy = int(fields[16]), int(fields[38])  # stat fields 19 and 41
        check(nice == 0 and policy == 0, f"nice {nice}, policy {policy} (wanted 0, SCHED_OTHER)")
        cpus = proc_field(p.pid, "Cpus_allowed_list")
        mine = proc_field(os.getpid(), "Cpus_allowed_list")
        check(cpus == mine, f"CPUs {cpus}, wanted {mine}")
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    if not raise_hard:
        print("# root has no CAP_SYS_RESOURCE here: the attacker lowered soft limits only",
              flush=True)


@case("recovery-address-and-number-hidden-from-cmdline")
def t_cmdline():
    """`contact set email ADDRESS` / `phone NUMBER` as the user, while the helper waits for
    the password: /proc/PID/cmdline (readable by everyone) no longer holds the value."""
    for kind, value in (("email", "private.person@example.com"), ("phone", "+4915112345678")):
        p = subprocess.Popen(setpriv(W.uid, W.gid, [W.helper, "--json", "contact", "set", kind,
                                                    value]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={"PATH": CLEAN_PATH}, cwd="/")
        try:
            wait_blocked(p.pid)
            with open(f"/proc/{p.pid}/cmdline", "rb") as f:
                cmdline = f.read()
            words = [w.decode() for w in cmdline.split(b"\0") if w]
            check(value.encode() not in cmdline and value[1:6].encode() not in cmdline,
                  f"{kind}: the value is in /proc/PID/cmdline: {words}")
            check(words[:1] == [W.helper] and words[-3:] == ["contact", "set", kind],
                  f"{kind}: cmdline {words}")
        finally:
            out, err = p.communicate(timeout=30)  # closes stdin: end of input at the prompt
        check(p.returncode == 65, f"{kind}: exit {p.returncode} {err!r}")


@case("no-local-user-freezes-the-logins")
def t_freeze():
    login = Login()
    # Control: a login without an attacker.
    res, took = login.root_login()
    check(res == "PAM_SUCCESS" and took < LOGIN_LIMIT, f"control login: {res} in {took:.2f}s")
    attacker = os.path.join(W.sb.tmp, "attacker.py")
    write(attacker, ATTACKER, 0o644)
    rnd = random.Random(8002)
    n = int(os.environ.get("HX_ATTACK_ROUNDS", "50"))
    rounds = [(NOBODY, NOBODY, ROUND_KINDS[i % len(ROUND_KINDS)]) for i in range(n)]
    rounds += [(W.uid, W.gid, USER_KINDS[i % len(USER_KINDS)]) for i in range(n // 2)]
    failures, signalled, refused, held, worst, outcomes = [], 0, 0, 0, 0.0, {}
    for i, (uid, gid, kind) in enumerate(rounds):
        action = ACTIONS[i % len(ACTIONS)]
        if kind == "reset-tty" and action != "slow":
            action = "ctrl-z"
        who = "nobody" if uid == NOBODY else W.user
        arg = {"reset-json": W.user if i % 2 else "root", "reset-tty": W.user,
               "check": who, "status": "-", "backup-codes": W.password}[kind]
        delay = rnd.uniform(0.0, 0.5)
        room = rnd.randrange(0, 600)
        a = subprocess.Popen(setpriv(uid, gid, ["/usr/bin/python3", attacker, W.helper, kind,
                                                arg, f"{delay:.3f}", action, str(room)]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={"PATH": CLEAN_PATH},
                             cwd="/")
        hpids, sig = [], None
        try:
            end = time.time() + 20
            while time.time() < end:
                line = a.stdout.readline()
                if not line:
                    break
                if line.startswith("PID "):
                    hpids.append(int(line.split()[1]))
                elif line.startswith("SIG "):
                    sig = line.split()[1]
                elif line.startswith("READY"):
                    break
            if not hpids or sig is None:
                a.kill()
                raise Fail(f"round {i}: the attacker did not get going: "
                           f"{a.communicate(timeout=30)[1][-500:]!r}")
            key = f"{kind}/{action}: {sig}"
            outcomes[key] = outcomes.get(key, 0) + 1
            held += sig == "HELD"
            signalled += sig.startswith("stopped") or sig == "HELD"
            refused += sig == "EPERM"
            res, took = login.root_login()
            worst = max(worst, took)
            if res != "PAM_SUCCESS" or took >= LOGIN_LIMIT:
                failures.append(f"round {i} ({who}, {kind}, {action} after {delay:.2f}s, "
                                f"signal {sig}): {res} in {took:.2f}s")
        finally:
            for hpid in hpids:
                for s in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(hpid, s)
                    except ProcessLookupError:
                        pass
            a.kill()
            a.communicate(timeout=30)
    print(f"# {len(rounds)} rounds: the attacker's stop refused (EPERM) {refused}, helper "
          f"stopped {signalled}, of which while holding a store write lock {held}; slowest "
          f"root login {worst:.2f}s; {len(failures)} frozen or failed logins; attacker outcomes "
          f"{outcomes}", flush=True)
    check(not failures, f"{len(failures)} of {len(rounds)} rounds:\n  " + "\n  ".join(failures))


# ---------------------------------------------------------------------------------------------
# set-up (as in test_setuid.py)

def inner(user, password, prefix):
    W.user, W.password, W.prefix = user, password, prefix
    pw = pwd.getpwnam(user)
    W.uid, W.gid = pw.pw_uid, pw.pw_gid
    W.helper = os.path.join(prefix, "sbin", "pam-recover")
    if sanitizer_build(W.helper):
        print("SKIP: helper-local-attack: sanitizer build (a setuid program cannot preload "
              "libasan's crypt helpers; test_setuid.py covers that build)")
        return 77
    W.sb = Sandbox("attack", extra_cfg="smtp_url = smtp://127.0.0.1:9\nsmtp_tls = none\n"
                   "mail_from = no-reply@example.net\nlocal_domains = example.net\n"
                   "sms_url = http://127.0.0.1:9/sms\n", window=1)
    text = open(W.sb.cfg).read().replace("deny = 5", "deny = 1000")
    write(W.sb.cfg, text, 0o644)
    W.sb.init()
    W.sb.json(["admin", "enrol", user])
    placed = copy_default_config(W.sb)
    if placed is None:
        print("SKIP: cannot place the default configuration")
        return 77
    conf_path, etcsec, sec_copy, pamd_copy = placed
    shutil.copy(os.path.join(SRCDIR, "conf", "pam.d", "pam-recover"),
                os.path.join(pamd_copy, "pam-recover"))
    bind_over(((sec_copy, etcsec), (pamd_copy, "/etc/pam.d")))
    os.chmod(W.sb.tmp, 0o711)  # the attacker script and pamdrive; the store stays 0700
    try:
        run_cases("helper-local-attack")
    except SystemExit as e:
        return e.code
    finally:
        W.sb.cleanup()
    return 0


def outer():
    need_root_and_tools("setpriv", "unshare", "useradd", "userdel", "chpasswd", "findmnt",
                        "gcc", "oathtool", "mount")
    return run_as_real_user(__file__, "helper-local-attack", "attack", "sbin")


if __name__ == "__main__":
    inner_main(inner, outer)
