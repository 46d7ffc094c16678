#!/usr/bin/python3
"""
The start-up hardening of pam-recover (doc/hardening.md), one case per item that can be
seen from outside: argc == 0 and odd argv[0], closed and inherited descriptors, signal mask
and dispositions, umask and working directory, core dumps and dumpability, a hostile
environment, path overrides and other accounts for non-root callers, oversize and NUL input,
and signals during a state change.

Run as root. The helper runs as root (with --config) or, for the non-root cases, as uid 65534
through setpriv, not setuid: tests/helper/test_setuid.py is the one setuid test.

usage: test_hardening.py [BUILDDIR]     (RC_TEST_ONLY=REGEX selects cases)
"""
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (Fail, Sandbox, Skip, case, check, helper_env,  # noqa: E402
                    need_root_and_tools, now_step, parse_json_lines, run_cases, totp,
                    write)

NOBODY = 65534
SB = None
PUBLIC = None  # a world-readable directory with copies of the programs for uid 65534


def sandbox():
    global SB
    if SB is None:
        SB = Sandbox("hard").init()
    return SB


def public_helper(name="pam-recover"):
    """The build tree may not be reachable for uid 65534: a 0755 copy (not setuid)."""
    global PUBLIC
    if PUBLIC is None:
        PUBLIC = tempfile.mkdtemp(prefix="pamrec-pub-")
        os.chmod(PUBLIC, 0o755)
    path = os.path.join(PUBLIC, name)
    if not os.path.exists(path):
        shutil.copy(os.path.join(sandbox().build, name), path)
        os.chmod(path, 0o755)
    return path


def check_programs():
    """Both programs that answer the module's check request, as (label, command, binary name):
    `pam-recover check` and the back end the module runs without root, pam-recover-check. The
    start-up hardening must hold in each."""
    sb = sandbox()
    back_end = os.path.join(sb.build, "pam-recover-check")
    check(os.access(back_end, os.X_OK), f"{back_end} is not built")
    return [("pam-recover check", sb.cmd(["check"]), "pam-recover"),
            ("pam-recover-check", [back_end, "--config", sb.cfg], "pam-recover-check")]


def as_nobody(args, stdin=None, **kw):
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           public_helper()] + args
    return subprocess.run(cmd, capture_output=True, text=True, input=stdin, timeout=60,
                          env=helper_env(leaks=False), cwd="/", **kw)


def launcher():
    p = os.path.join(sandbox().build, "tests", "helper", "exec_argc0")
    if not os.access(p, os.X_OK):
        raise Skip("tests/helper/exec_argc0 is not built (make check builds it)")
    return p


def proc_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def wait_blocked(p, timeout=10, name="pam-recover"):
    """Until the helper itself (after exec) sleeps waiting for its input, so /proc shows the
    state after its start-up."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            exe = os.readlink(f"/proc/{p.pid}/exe")
            st = proc_field(p.pid, "State")
        except OSError:
            exe, st = "", None
        if exe.endswith("/" + name) and st and st.startswith("S"):
            return
        time.sleep(0.05)
    raise AssertionError("the helper did not block on its input")


# ---------------------------------------------------------------------------------------------
# 1. argc / argv

@case("argc-zero-refused")
def t_argc0():
    r = subprocess.run([launcher(), sandbox().helper], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "GCONV_PATH": "./pwn"})
    check(r.returncode == 64, f"argc == 0 gave exit {r.returncode}")
    # Linux >= 5.18 turns an empty argv into { "" }: then the helper sees no verb and prints
    # its usage; older kernels pass argc == 0, which the helper refuses itself. Either way
    # nothing runs and the environment is never read as arguments.
    check(r.stdout == "" and ("refusing to run without argv[0]" in r.stderr or
                              r.stderr.startswith("Usage: pam-recover")),
          f"argc == 0 output: {r.stdout!r} {r.stderr[:200]!r}")


@case("argv0-empty-or-odd-is-never-used")
def t_argv0():
    sb = sandbox()
    user = sb.new_user()
    want = sb.run(["status", "--user", user])
    for argv0 in ["", "--config=/tmp/evil.conf", "admin", "x" * 5000]:
        r = subprocess.run([launcher(), "--argv0", argv0, sb.helper, "--config", sb.cfg,
                            "status", "--user", user], capture_output=True, text=True,
                           env=sb.env())
        check(r.returncode == 0 and r.stdout == want.stdout,
              f"argv[0]={argv0[:20]!r}: exit {r.returncode} {r.stderr!r}")


# ---------------------------------------------------------------------------------------------
# 2. descriptors

@case("closed-stdin-stdout-stderr")
def t_closed_fds():
    """With 0, 1, 2 closed, the first files the helper opens would become its stdout: admin
    init would then print "key file ... created" into the key file. The helper opens
    /dev/null into them first; an inherited fd 3 (a probe file) is closed, not written."""
    sb = Sandbox("fds")
    try:
        probe = os.path.join(sb.tmp, "probe")
        write(probe, "")
        sh = 'p=$1; shift; exec "$@" 0<&- 1>&- 2>&- 3>>"$p"'
        r = subprocess.run(["bash", "-c", sh, "sh", probe] + sb.cmd(["admin", "init"]),
                           capture_output=True, env=sb.env())
        check(r.returncode == 0, f"admin init with closed fds: exit {r.returncode}")
        st = os.stat(sb.key)
        check(st.st_size == 32 and (st.st_mode & 0o777) == 0o400,
              f"key file {st.st_size} bytes, mode {oct(st.st_mode & 0o777)}")
        user = sb.new_user()
        r = subprocess.run(["bash", "-c", sh, "sh", probe] +
                           sb.cmd(["app-password", "add", "p1", "--user", user], json_out=True),
                           capture_output=True, env=sb.env())
        check(r.returncode == 0, f"app-password add with closed fds: exit {r.returncode}")
        check(os.path.getsize(probe) == 0, "the helper wrote into an inherited descriptor")
        with sqlite3.connect(sb.db) as db:
            check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
                  "store damaged")
        j = sb.json(["app-password", "list", "--user", user])
        check([a["name"] for a in j["app_passwords"]] == ["p1"], f"store content: {j}")
        # stdin closed at a prompt reads as end of input: refused, nothing half done.
        sb.enable_json(user)
        r = subprocess.run(["bash", "-c", sh, "sh", probe] +
                           sb.cmd(["disable", "--user", user]), capture_output=True, env=sb.env())
        check(r.returncode == 65, f"disable with stdin closed: exit {r.returncode}")
        check(sb.status(user)["totp_enabled"] is True, "state changed without input")
    finally:
        sb.cleanup()


@case("inherited-descriptors-closed-and-process-state-reset")
def t_process_state():
    """While `check` waits for its request: only fds 0-2 open although the caller passed
    more; signal mask empty and only SIGPIPE, SIGTSTP, SIGTTIN and SIGTTOU ignored although the
    caller ignored and blocked others; umask 077; cwd /; RLIMIT_CORE 0 although the caller
    allowed cores."""
    for label, cmd, name in check_programs():
        try:
            process_state_of(cmd, name)
        except Fail as f:
            raise Fail(f"{label}: {f}") from None


def process_state_of(cmd, name):
    sb = sandbox()
    extra = [os.open("/dev/null", os.O_RDONLY) for _ in range(5)]

    def hostile():
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM, signal.SIGALRM})
        os.umask(0)
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, pass_fds=extra, preexec_fn=hostile,
                         cwd=sb.tmp, env=sb.env())
    try:
        wait_blocked(p, name=name)
        fds = sorted(int(x) for x in os.listdir(f"/proc/{p.pid}/fd"))
        check(fds == [0, 1, 2], f"open descriptors: {fds}")
        check(int(proc_field(p.pid, "SigBlk"), 16) == 0, "signal mask not reset")
        # Signals 1..31 (32 and 33 belong to glibc's threads and its sigaction() refuses
        # them; glibc sets them itself when it uses them).
        ign = int(proc_field(p.pid, "SigIgn"), 16) & 0x7fffffff
        want = sum(1 << (s - 1) for s in (signal.SIGPIPE, signal.SIGTSTP, signal.SIGTTIN,
                                           signal.SIGTTOU))
        check(ign == want, f"ignored signals {ign:#x}: only SIGPIPE and the terminal stops "
                           f"({want:#x}) wanted")
        check(proc_field(p.pid, "Umask") == "0077", f"umask {proc_field(p.pid, 'Umask')}")
        check(os.readlink(f"/proc/{p.pid}/cwd") == "/", "cwd is not /")
        with open(f"/proc/{p.pid}/limits") as f:
            core = [line for line in f if line.startswith("Max core file size")][0].split()
        check(core[4:6] == ["0", "0"], f"core limit: {core}")
    finally:
        p.stdin.close()
        p.wait(timeout=30)
        for fd in extra:
            os.close(fd)


@case("inherited-interval-timers-disarmed")
def t_timers():
    """Interval timers survive exec: the caller arms SIGALRM, SIGVTALRM and SIGPROF (whose
    default action ends a process) to go off while the helper works, e.g. between a change
    and its notice. The helper disarms them at start: `enable` is still waiting for the
    code after the moment, and then finishes as usual."""
    sb = sandbox()
    user = sb.new_user()

    def armed():
        # CPU-time timers long enough not to go off before exec; the wall-clock one while
        # the helper waits (a helper that kept it dies at that moment).
        signal.setitimer(signal.ITIMER_VIRTUAL, 0.5)
        signal.setitimer(signal.ITIMER_PROF, 0.5)
        signal.setitimer(signal.ITIMER_REAL, 1.0)

    p = subprocess.Popen(sb.cmd(["enable", "--user", user], json_out=True),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=sb.env(), preexec_fn=armed)
    try:
        first = json.loads(p.stdout.readline())
        check(first.get("step") == "verify", f"enable --json first object: {first}")
        time.sleep(2.0)
        check(p.poll() is None, f"ended by an inherited timer (status {p.returncode})")
        out, err = p.communicate(json.dumps({"code": totp(first["secret"], now_step())})
                                 + "\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, f"enable after the timer's moment: {p.returncode}: {err}")
    check(parse_json_lines(out).get("totp_enabled") is True, f"enable --json result: {out}")


@case("backup-codes-with-nowhere-to-show-them-change-nothing")
def t_backup_codes_no_output():
    """New backup codes exist only in what the helper prints: with standard output closed, or
    a pipe whose reader has gone, `backup-codes` refuses before replacing the set, and the
    old codes still log in."""
    sb = sandbox()
    user = sb.new_user()
    _, codes, _ = sb.enable_json(user)
    r = subprocess.run(["bash", "-c", 'exec >&-; exec "$@"', "sh"] +
                       sb.cmd(["backup-codes", "--user", user]), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, env=sb.env())
    check(r.returncode == 74 and "nothing changed" in r.stderr,
          f"stdout closed: exit {r.returncode} {r.stderr!r}")
    rd, wr = os.pipe()
    os.close(rd)  # the reader is gone before the helper starts
    try:
        r = subprocess.run(sb.cmd(["--json", "backup-codes", "--user", user]), stdout=wr,
                           stderr=subprocess.PIPE, text=True, env=sb.env())
    finally:
        os.close(wr)
    check(r.returncode == 74 and "nothing changed" in r.stderr,
          f"stdout a pipe nobody reads: exit {r.returncode} {r.stderr!r}")
    check(sb.json(["backup-codes", "status", "--user", user])["backup_codes_left"] == len(codes),
          "the set changed")
    check(sb.check_code(user, codes[0]) == 1, "an old backup code no longer logs in")
    events = sb.json(["admin", "audit", user, "--limit", "0"])["events"]
    check(not [e for e in events if e["event"] == "backup-codes"], "a new set was recorded")


@case("stop-signals-ignored-once-started")
def t_stop_signals():
    """SIGTSTP, SIGTTIN and SIGTTOU (^Z, a background read or write of the terminal) cannot
    stop the helper once it has started: a stopped helper could keep the store's write lock
    while every login waits. (A prompt lets them through while it waits for input, when
    nothing is held; `check` reads a pipe, not a prompt.)"""
    sb = sandbox()
    for (label, cmd, name), sig in itertools.product(check_programs(), (
            signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)):
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=sb.env())
        try:
            wait_blocked(p, name=name)
            p.send_signal(sig)
            end = time.time() + 0.5
            while time.time() < end:
                st = proc_field(p.pid, "State") or ""
                check(not st.startswith("T"), f"{signal.Signals(sig).name} stopped {label}")
                time.sleep(0.02)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
            p.stdin.close()
            p.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# 3. dumpable, as a non-root caller

@case("not-dumpable-no-core")
def t_dumpable():
    """A non-dumpable process's /proc files belong to root even when it runs as another uid
    (the kernel's task_dump_owner): compare with an ordinary process of uid 65534."""
    def cores():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    for name, args in (("pam-recover", ["check"]), ("pam-recover-check", [])):
        try:
            dumpable_of(name, args, cores)
        except Fail as f:
            raise Fail(f"{name}: {f}") from None


def dumpable_of(name, args, cores):
    ctl = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                            "--clear-groups", "sleep", "30"])
    p = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          public_helper(name)] + args, stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=cores,
                         cwd="/", env=helper_env(leaks=False))
    try:
        wait_blocked(p, name=name)
        time.sleep(0.2)
        uid = proc_field(p.pid, "Uid").split()
        check(uid[0] == str(NOBODY), f"helper not running as {NOBODY}: {uid}")
        check(os.stat(f"/proc/{ctl.pid}/status").st_uid == NOBODY, "control: owner not 65534")
        check(os.stat(f"/proc/{p.pid}/status").st_uid == 0,
              "the helper is dumpable (its /proc files belong to its uid)")
        with open(f"/proc/{p.pid}/limits") as f:
            core = [line for line in f if line.startswith("Max core file size")][0].split()
        check(core[4:6] == ["0", "0"], f"core limit: {core}")
        # And a crash leaves no core behind (cwd / is not writable by 65534 anyway; the
        # point is the exit by signal without "core dumped").
        p.send_signal(signal.SIGSEGV)
        rc = p.wait(timeout=10)
        check(rc == -signal.SIGSEGV, f"SIGSEGV exit {rc}")
    finally:
        ctl.kill()
        ctl.wait()
        if p.poll() is None:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------------------------
# 4. environment

@case("hostile-environment-has-no-effect")
def t_env():
    sb = sandbox()
    user = sb.new_user()
    sb.enable_json(user)
    sb.json(["app-password", "add", "envtest", "--service", "imap", "--user", user])
    evil = os.path.join(sb.tmp, "evilbin")
    os.mkdir(evil)
    marker = os.path.join(sb.tmp, "evil-ran")
    for tool in ("sh", "bash", "sqlite3", "cat", "hostname", "oathtool", "sendmail", "curl"):
        write(os.path.join(evil, tool), f"#!/bin/sh\ntouch {marker}\n", 0o755)
    keylog = os.path.join(sb.tmp, "keylog")
    hostile = dict(sb.env())
    hostile.update({
        "PATH": evil + ":/usr/bin:/bin", "IFS": "/ \t\n", "LANG": "de_DE.UTF-8",
        "LC_ALL": "fr_FR.UTF-8", "LANGUAGE": "de", "TZ": "Pacific/Kiritimati",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "all_proxy": "socks5://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "SSLKEYLOGFILE": keylog, "HOME": evil, "TMPDIR": evil, "SQLITE_TMPDIR": evil,
        "PAM_RECOVER_CONFIG": "/nonexistent", "MALLOC_PERTURB_": "85",
    })
    for args in (["status", "--user", user], ["--json", "status", "--user", user],
                 ["app-password", "list", "--user", user], ["admin", "audit", user],
                 ["admin", "show", user], ["backup-codes", "status", "--user", user],
                 ["no-such-verb"], ["status", "--user", "nobody-xyz"], ["--help"]):
        a = sb.run(args)
        b = sb.run(args, env=hostile)
        check((a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr),
              f"{args}: output differs under a hostile environment:\n{a}\n{b}")
    check(not os.path.exists(marker), "a program from the caller's PATH ran")
    check(not os.path.exists(keylog), "SSLKEYLOGFILE was honoured")


# ---------------------------------------------------------------------------------------------
# 5. non-root callers: no path override, no other account

@case("non-root-config-override-refused")
def t_config_refused():
    sb = sandbox()
    for args in (["--config", sb.cfg, "status"], [f"--config={sb.cfg}", "status"],
                 ["--config", sb.cfg, "--check-config"], ["--check-config"],
                 ["--dump-config"]):
        r = as_nobody(args)
        check(r.returncode == 77, f"{args} as uid {NOBODY}: exit {r.returncode} {r.stderr!r}")
        check("root" in r.stderr, f"{args}: message does not say why: {r.stderr!r}")
        check(sb.cfg not in r.stdout, "the named file was read")
    # The module's back end without root: the same refusal, before it reads a request.
    r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        public_helper("pam-recover-check"), "--config", sb.cfg],
                       input=f"code\nnobody\nsshd\n123456\n", capture_output=True, text=True,
                       timeout=60, env=helper_env(leaks=False), cwd="/")
    check(r.returncode == 10 and "for root only" in r.stderr,
          f"pam-recover-check --config as uid {NOBODY}: exit {r.returncode} {r.stderr!r}")


@case("non-root-other-account-refused")
def t_other_user():
    # Refused before the configuration is read: the same answer in a build whose
    # configuration uid 65534 cannot reach (a distcheck prefix under /root).
    for args in (["status", "--user", "root"], ["enable", "--user", "root"],
                 ["disable", "--user", "root"], ["backup-codes", "--user", "root"],
                 ["backup-codes", "status", "--user", "root"],
                 ["app-password", "list", "--user", "root"],
                 ["app-password", "add", "x", "--user", "root"],
                 ["--json", "status", "--user", "daemon"], ["admin", "audit"],
                 ["admin", "show", "root"]):
        r = as_nobody(args)
        check(r.returncode == 77, f"{args} as uid {NOBODY}: exit {r.returncode} {r.stderr!r}")
        if "--json" in args:
            j = parse_json_lines(r.stdout)
            check(j["ok"] is False and j["status"] == 77, f"json refusal: {j}")
    # Naming oneself is not "another account": it goes on (and stops later, at the key).
    r = as_nobody(["status", "--user", "nobody"])
    check(r.returncode != 77, f"--user nobody as nobody refused: {r.stderr!r}")
    # With the compiled-in configuration's directory out of reach (a 0700 tmpfs over it in a
    # private mount namespace) the caller's own status is a configuration error (78), and
    # another account is still refused (77): the refusal comes before the read.
    with open(sandbox().helper, "rb") as f:
        conf = re.findall(rb"\0(/[A-Za-z0-9_./-]+/pam_recover\.conf)\0", f.read())
    check(conf, "no compiled-in configuration path in the helper")
    confdir = os.path.dirname(conf[0].decode())
    for args, want in ((["status"], 78), (["status", "--user", "root"], 77)):
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               'if [ -d "$1" ]; then mount -t tmpfs -o mode=0700 tmpfs "$1" || exit 99; fi; '
               'shift; exec "$@"',
               "sh", confdir, "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
               "--clear-groups", public_helper()] + args
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           env=helper_env(leaks=False), cwd="/")
        check(r.returncode == want, f"{args} with the configuration out of reach: exit "
              f"{r.returncode}, wanted {want} {r.stderr!r}")


# ---------------------------------------------------------------------------------------------
# 6. oversize and NUL input

@case("oversize-and-nul-input-refused")
def t_input():
    import pexpect
    sb = sandbox()
    user = sb.new_user()
    sb.enable_json(user)
    for args, want in ((["status", "--user", "a" * 5000], "not a valid user name"),
                       (["status", "--user", "bad\x01name"], "not a valid user name"),
                       (["app-password", "add", "n" * 5000, "--user", user], "not a usable name"),
                       (["app-password", "add", "ok", "--service", "s" * 5000, "--user", user],
                        "--service"),
                       (["admin", "audit", "x" * 300], "not a valid user name")):
        r = sb.run(args)
        check(r.returncode == 65 and want in r.stderr, f"{args[0]} oversize: {r.returncode} "
              f"{r.stderr[:200]!r}")
    # JSON requests: over 4096 bytes, a NUL byte.
    for stdin, want in (("{" + " " * 5000 + "}\n", "longer than 4096"),
                        ('{"code":"1\x0023456"}\n', "NUL byte"),
                        ("x" * 10 ** 6, "longer than 4096")):
        r = sb.run(["disable", "--user", user], json_out=True, stdin=stdin)
        check(r.returncode == 65 and want in r.stderr, f"json {want}: {r.returncode} {r.stderr!r}")
    # Typed at the terminal: an over-long line, a NUL byte.
    for typed, want in (("1" * 3000, "longer than"), ("123\x00456", "NUL byte")):
        c = sb.spawn(["disable", "--user", user])
        c.expect("Code from the app, or a backup code: ")
        c.send(typed + "\r")
        c.expect(pexpect.EOF)
        c.close()
        check(c.exitstatus == 65 and want in c.before, f"tty {want}: {c.exitstatus} {c.before!r}")
    check(sb.status(user)["totp_enabled"] is True and sb.status(user)["failures"] == 0,
          "refused input changed the state")


# ---------------------------------------------------------------------------------------------
# 7. signals during a state change

@case("signals-during-state-change-leave-store-consistent")
def t_kill():
    """Kill `backup-codes` (a whole-set replacement) at random moments, by SIGKILL and by the
    terminal signals: every time the user has exactly one whole set, and the store is sound."""
    sb = sandbox()
    user = sb.new_user()
    sb.enable_json(user)
    rnd = random.Random(4034)
    sigs = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
    # Kill at moments spread over one run's own duration, measured here.
    t0 = time.time()
    for _ in range(3):
        sb.json(["backup-codes", "--user", user])
    took = (time.time() - t0) / 3
    done = 0
    for i in range(40):
        p = subprocess.Popen(sb.cmd(["backup-codes", "--user", user], json_out=True),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=sb.env())
        time.sleep(rnd.uniform(0.2 * took, 1.1 * took))
        p.send_signal(sigs[i % len(sigs)])
        out, _ = p.communicate(timeout=30)
        if p.returncode == 0:
            done += 1
            check(len(json.loads(out.splitlines()[-1])["backup_codes"]) == 10, "short set")
        left = sb.json(["backup-codes", "status", "--user", user])["backup_codes_left"]
        check(left == 10, f"after signal {sigs[i % len(sigs)]}: {left} backup codes left")
    with sqlite3.connect(sb.db) as db:
        check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "store damaged")
    events = sb.json(["admin", "audit", user, "--limit", "0"])["events"]
    sets = sum(1 for e in events if e["event"] == "backup-codes")
    check(sets >= done + 3, f"{done} sets printed but {sets} audit events")
    check(done < 40, "all 40 runs finished before their signal: the kills missed")


if __name__ == "__main__":
    need_root_and_tools("setpriv", "oathtool")
    try:
        run_cases("helper-hardening")
    finally:
        if SB is not None and not os.environ.get("HX_KEEP"):
            SB.cleanup()
        if PUBLIC is not None:
            shutil.rmtree(PUBLIC, ignore_errors=True)
