#!/usr/bin/python3
"""
The built pam_recover.so through the real libpam.

Every case drives a PAM stack with tests/pam/pamdrive (a tiny PAM application, compiled here)
under pam_wrapper: service files in a temp directory name the built module by absolute path,
pam_matrix checks the password (pam_unix where a module must take the password from
PAM_AUTHTOK, since pam_matrix always asks itself), the configuration, store and key live in a
temp directory, users are enrolled with `pam-recover --config CFG admin enrol USER` and codes
come from oathtool, an independent implementation.

Test users are real passwd/shadow entries, but only inside a private mount namespace: the
runner re-executes itself under `unshare -m` and lays an overlay over /etc there (its upper
layer on a tmpfs), so the module (getpwnam, pam_unix) and the helper (which clears its
environment, so nss_wrapper could not reach it) both see them, and the host is never changed.

Output (tests/lib/rctest.py): one line per case, "PASS: pam/NAME", "FAIL: pam/NAME: why" or
"SKIP: pam/NAME: why", then "pam: N passed, N failed, N skipped". Exit status 0 when no case
failed (with --build; run by `make check`, without it, 77 when nothing could run, and when
RC_TEST_PAM_LAYER=1 says that the pam layer of scripts/test-all runs the suite instead).
RC_TEST_ONLY=REGEX (or --only REGEX) selects the cases whose "pam/NAME" it matches.

usage: test_pam.py [--build BUILDDIR] [--asan] [--wrap 'valgrind ...'] [--race-reps N]
                   [--only REGEX] [--list] [--keep]
(BUILDDIR defaults to $top_builddir, as `make check` sets it)
"""
import argparse
import base64
import glob
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from rctest import (STEP, CASES, Fail, Skip, case, check, helper_env,  # noqa: E402
                    json_merged, oathtool, run_cases, write)
from rctest import step_margin as wait_margin  # noqa: E402

PROMPT = "Verification code: "
MARKER = "Authentication succeeded"  # pam_chatty's text: reached only after PAM_IGNORE

# --------------------------------------------------------------------------------------------
# environment

def multiarch():
    try:
        return subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                              check=True).stdout.strip() or "x86_64-linux-gnu"
    except (OSError, subprocess.CalledProcessError):
        return "x86_64-linux-gnu"


def find_pam_wrapper_dir():
    cands = [f"/usr/lib/{multiarch()}/pam_wrapper"] + glob.glob("/usr/lib/*/pam_wrapper") + \
        glob.glob("/usr/lib*/pam_wrapper")
    for d in cands:
        if os.path.exists(os.path.join(d, "pam_matrix.so")):
            return d
    raise SystemExit("pam_matrix.so not found: apt-get install libpam-wrapper")


class Env:
    """Paths, the sandbox and the commands every case uses."""

    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.module = os.path.join(self.build, ".libs", "pam_recover.so")
        self.helper = os.path.join(self.build, "pam-recover")
        self.pwdir = find_pam_wrapper_dir()
        self.matrix = os.path.join(self.pwdir, "pam_matrix.so")
        self.chatty = os.path.join(self.pwdir, "pam_chatty.so")
        self.tmp = os.environ["PAMTEST_TMP"]
        # The module as callers without root load it: the build tree may sit where they
        # cannot reach it (a clone in /root), so every case loads a copy from the sandbox.
        built = self.module
        self.module = os.path.join(self.tmp, "pam_recover.so")
        if not os.path.exists(self.module):
            shutil.copy2(built, self.module)
            os.chmod(self.module, 0o755)
        self.svc = os.path.join(self.tmp, "svc")
        self.passdb = os.path.join(self.tmp, "passdb")
        self.state = os.path.join(self.tmp, "state")
        self.cfg = os.path.join(self.tmp, "etc", "pam_recover.conf")
        self.key = os.path.join(self.tmp, "etc", "pam_recover.key")
        # /etc is an overlay in this namespace (or, failing that, copies are bound over the
        # three files): either way the test users are written through /etc.
        self.passwd, self.group, self.shadow = "/etc/passwd", "/etc/group", "/etc/shadow"
        self.passwords = {}
        self.drive_bin = os.path.join(self.tmp, "pamdrive")
        self.wrap = args.wrap.split() if args.wrap else []
        self.user_seq = 0
        self.svc_seq = 0
        self.asan_lib = None
        if args.asan:
            self.asan_lib = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                                           capture_output=True, text=True).stdout.strip()

    # ---- sandbox ----
    def setup(self):
        for d, mode in ((self.svc, 0o755), (self.state, 0o700),
                        (os.path.dirname(self.cfg), 0o700)):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, mode)
        write(os.path.join(self.svc, "other"), "auth required pam_deny.so\n"
              "account required pam_deny.so\npassword required pam_deny.so\n"
              "session required pam_deny.so\n", 0o644)
        write(self.passdb, "", 0o600)
        self.write_config(self.cfg)
        self.compile_driver()
        out = self.helper_run(["admin", "init"])
        check(out.returncode == 0, f"admin init failed ({out.returncode}): {out.stderr}")

    def write_config(self, path, store=None, key=None, extra=""):
        text = (f"# test configuration\nstore = sqlite:{store or self.state + '/state.db'}\n"
                f"key_file = {key or self.key}\nwindow = 1\ndeny = 5\nunlock_time = 900\n"
                + extra)
        write(path, text, 0o600)
        return path

    def compile_driver(self):
        src = os.path.join(HERE, "pamdrive.c")
        cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-O1",
               "-o", self.drive_bin, src, "-lpam"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("cannot compile pamdrive: " + r.stderr)

    # ---- users ----
    def new_user(self, prefix="rt", password=None):
        """A fresh user (only in this namespace's /etc) with a password for pam_matrix and
        pam_unix."""
        self.user_seq += 1
        name = f"{prefix}{os.getpid() % 1000:03d}u{self.user_seq:03d}"
        uid = 61000 + self.user_seq
        with open(self.passwd, "a") as f:
            f.write(f"{name}:x:{uid}:{uid}:pam_recover test:/nonexistent:/usr/sbin/nologin\n")
        with open(self.group, "a") as f:
            f.write(f"{name}:x:{uid}:\n")
        password = password or f"pw-{name}"
        self.passwords[name] = password
        # pam_matrix (passdb) and pam_unix (the shadow copy) know the same password
        with open(self.passdb, "a") as f:
            f.write(f"{name}:{password}:*\n")
        h = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                           capture_output=True, text=True, check=True).stdout.strip()
        with open(self.shadow, "a") as f:
            f.write(f"{name}:{h}:19000:0:99999:7:::\n")
        return name

    def password(self, user):
        return self.passwords[user]

    # ---- helper ----
    def helper_env(self):
        return helper_env()

    def helper_run(self, args, cfg=None, json_out=False, stdin=None):
        keep_mounts(self.tmp)
        cmd = [self.helper, "--config", cfg or self.cfg] + (["--json"] if json_out else []) + args
        return subprocess.run(cmd, capture_output=True, text=True, env=self.helper_env(),
                              input=stdin, timeout=120)

    def enrol(self, user, cfg=None, extra=()):
        r = self.helper_run(["admin", "enrol", user] + list(extra), cfg=cfg, json_out=True)
        check(r.returncode == 0, f"admin enrol {user} failed ({r.returncode}): {r.stderr.strip()}")
        data = json_merged(r.stdout)
        check("secret" in data, f"admin enrol --json printed no secret: {r.stdout!r}")
        data["secret"] = data["secret"].replace(" ", "")
        data.setdefault("backup_codes", [])
        return data

    # ---- services ----
    def service(self, lines, name=None):
        """A service file; its name is unique across runs side by side (--shard): two
        processes that start together can get the same /tmp/pam.N from pam_wrapper (its
        mkdir's EEXIST is only logged), and each copies its services into it, so a name
        that both runs use would load the other run's stack."""
        self.svc_seq += 1
        name = name or f"t{os.getpid()}_{self.svc_seq:03d}"
        write(os.path.join(self.svc, name), "\n".join(lines) + "\n", 0o644)
        return name

    def mod(self, *args, cfg=None):
        a = [f"config={cfg or self.cfg}"] + list(args)
        return f"{self.module} " + " ".join(a)

    def exact(self, *args, cfg=None, raw=None):
        """A stack whose outcome shows exactly what the module returned (PAM_IGNORE too)."""
        mod = f"{self.module} {raw}" if raw is not None else self.mod(*args, cfg=cfg)
        return self.service([
            f"auth [success=done ignore=ignore default=die] {mod}",
            f"auth requisite {self.chatty} info num_lines=1",
            "auth required pam_deny.so",
            "account required pam_permit.so",
        ])

    def code_then(self, *args):
        """pam_matrix asks the password, then the module asks the code (sshd-like)."""
        return self.service([
            f"auth requisite {self.matrix} passdb={self.passdb}",
            f"auth required {self.mod(*args)}",
        ])

    def forward(self, *args, name=None):
        """One field, the shipped design: split_pass cuts the code off and leaves the password
        part in PAM_AUTHTOK, pam_unix use_first_pass checks it (pam_matrix always prompts
        itself, so the password module here is the real pam_unix, on the namespace's shadow
        copy), and only then forwarded_code checks the code split_pass kept."""
        return self.service([
            f"auth requisite {self.mod('split_pass', *args)}",
            "auth requisite pam_unix.so use_first_pass nodelay",
            f"auth required {self.mod('forwarded_code', *args)}",
        ], name=name)

    def forward_old(self, *args):
        """The deprecated forward_pass line: the code is checked before the password."""
        return self.service([
            f"auth requisite {self.mod('forward_pass', *args)}",
            "auth required pam_unix.so use_first_pass nodelay",
        ])

    # ---- driving ----
    def drive_env(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PAM_WRAPPER": "1",
               "PAM_WRAPPER_SERVICE_DIR": self.svc, "LD_PRELOAD": "libpam_wrapper.so"}
        if self.asan_lib:
            # libcrypt preloaded: ASan's crypt() interceptor binds at start-up, and a libcrypt
            # that arrives later with pam_unix leaves it calling address 0.
            env["LD_PRELOAD"] = f"{self.asan_lib} libcrypt.so.1 libpam_wrapper.so"
            env["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
            env["ASAN_OPTIONS"] = ("detect_leaks=1:exitcode=23:abort_on_error=0:"
                                   "detect_stack_use_after_return=1")
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=23"
            supp = os.path.join(HERE, "lsan.supp")
            if os.path.exists(supp):
                env["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
        if self.wrap:
            env["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
        return env

    def drive_cmd(self, service, user, answers, gate=False, setcred=False, confdir=None,
                  rhost=None, silent=False, as_uid=None):
        cmd = self.wrap + [self.drive_bin]
        if as_uid is not None:
            # a real non-root caller (a screen locker): every uid and gid is the user's
            cmd = ["setpriv", f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups",
                   "--"] + cmd
            if gate:
                cmd = self.private_tmp() + ["env"] + [f"{k}={v}" for k, v in
                                                      self.drive_env().items()] + cmd
        if confdir:
            cmd += ["--confdir", confdir]
        if rhost:
            cmd += ["--rhost", rhost]
        if silent:
            cmd.append("--silent")
        if gate:
            cmd.append("--gate")
        if setcred:
            cmd.append("--setcred")
        return cmd + ["--", service, user if user is not None else "-"] + list(answers)

    def private_tmp(self):
        """A prefix that runs a command with a /tmp of its own: a tmpfs into which what the
        run needs from /tmp (this test's directory, the build when it is there) is bound at
        the same path. pam_wrapper picks its directory from a handful of fixed /tmp/pam.N
        names and cannot, without root, take one that a root run left. The set-up runs with
        an empty environment (pam_wrapper in every one of its commands would take such
        directories too); the command gets the wrappers again through env."""
        keep = sorted({"/tmp/" + p.split("/")[2] for p in (self.tmp, self.build)
                       if p.startswith("/tmp/")})
        script = ('set -e; n=$(mktemp -d "$T/ptmp.XXXXXX"); '
                  'mount -t tmpfs -o mode=1777 tmpfs "$n"; '
                  'for f in ' + " ".join(keep) + '; do '
                  '  mkdir "$n/${f#/tmp/}"; mount --bind "$f" "$n/${f#/tmp/}"; '
                  'done; mount --move "$n" /tmp; exec "$@"')
        return ["unshare", "-m", "--propagation", "private", "env", "-i", f"T={self.tmp}",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "sh", "-c", script, "sh"]

    def drive(self, service, user, answers=(), setcred=False, confdir=None, env=None,
              rhost=None, silent=False, log=None, as_uid=None):
        """One pamdrive run; with log=PATH, what the stack sends to syslog is captured there
        (tests/helper/syslog_ns.py: a /dev/log of our own in a private mount namespace)."""
        keep_mounts(self.tmp)
        cmd = self.drive_cmd(service, user, answers, setcred=setcred, confdir=confdir,
                             rhost=rhost, silent=silent, as_uid=as_uid)
        if log:
            # The wrappers (LD_PRELOAD) for pamdrive only, not for unshare and the logger.
            inner = dict(env or self.drive_env(), PAM_WRAPPER_USE_SYSLOG="1")
            env = {"PATH": inner.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
            cmd = ["unshare", "-m", "--propagation", "private", "/usr/bin/python3",
                   os.path.join(HERE, "..", "helper", "syslog_ns.py"), log, "--",
                   "env", "-i"] + [f"{k}={v}" for k, v in inner.items()] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, env=env or self.drive_env(),
                           timeout=300, stdin=subprocess.DEVNULL)
        return Run(p.returncode, p.stdout, p.stderr, cmd)


class Run:
    """The transcript of one pamdrive run."""

    def __init__(self, status, out, err, cmd):
        self.status, self.out, self.err, self.cmd = status, out, err, cmd
        self.prompts = []   # (echo_off, text)
        self.infos, self.errors = [], []
        self.auth = None
        self.setcred = None
        self.noanswer = False
        for line in out.splitlines():
            if line.startswith("PROMPT OFF "):
                self.prompts.append((True, unescape(line[11:])))
            elif line.startswith("PROMPT ON "):
                self.prompts.append((False, unescape(line[10:])))
            elif line.startswith("INFO "):
                self.infos.append(unescape(line[5:]))
            elif line.startswith("ERROR "):
                self.errors.append(unescape(line[6:]))
            elif line == "NOANSWER":
                self.noanswer = True
            elif line.startswith("AUTH "):
                self.auth = line.split()[2]
            elif line.startswith("SETCRED "):
                self.setcred = line.split()[2]

    @property
    def module_rc(self):
        """For exact() stacks: what the module itself returned."""
        if self.auth == "PAM_AUTH_ERR" and MARKER in self.infos:
            return "PAM_IGNORE"
        return self.auth

    def describe(self):
        err = self.err.strip()
        if len(err) > 3000:
            err = err[:3000] + "..."
        return (f"status {self.status}, auth {self.auth}, prompts {self.prompts}, "
                f"infos {self.infos}, errors {self.errors}\n    stdout: {self.out!r}"
                + (f"\n    stderr: {err}" if err else ""))

    def ok(self):
        """The driver itself ran cleanly (no sanitizer or valgrind report)."""
        return self.status == 0 and self.auth is not None


def unescape(s):
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)),
                  s).replace("\\\\", "\\")


def expect(run, rc, exact=True, prompts=None):
    """Assert the (module's) return code and, optionally, the prompts shown."""
    check(run.ok(), "pamdrive did not finish cleanly: " + run.describe())
    got = run.module_rc if exact else run.auth
    check(got == rc, f"expected {rc}, got {got}: " + run.describe())
    if prompts is not None:
        check(run.prompts == prompts, f"expected prompts {prompts}: " + run.describe())


# --------------------------------------------------------------------------------------------
# codes

MARGIN = 4.0  # seconds a login may take (more under valgrind: see main)


def step_margin(margin=None):
    """Wait until at least `margin` seconds (and MARGIN) remain in the current 30 s step."""
    wait_margin(max(margin or 0, MARGIN))


def totp(secret, offset=0, hexkey=False, digits=6, algo=None, now=None):
    """The code oathtool makes for now + offset (a fixed `now` for several codes at once).
    Without `now`, waits first if the current step is about to end (step_margin)."""
    if now is None:
        step_margin()
    t = int(now if now is not None else time.time()) + offset
    return oathtool(secret, t, digits=digits, hexkey=hexkey, algo=algo)


def wrong_code(secret, digits=6, **kw):
    """A code that matches none of the steps a window of up to 3 could accept."""
    now = time.time()
    taken = {totp(secret, off, digits=digits, now=now, **kw) for off in range(-120, 121, 30)}
    c = 123456 if digits == 6 else 12345678
    while f"{c:0{digits}d}" in taken:
        c = (c + 7919) % (10 ** digits)
    return f"{c:0{digits}d}"


# --------------------------------------------------------------------------------------------
# cases

@case("exports_only_pam_sm")
def t_exports(e):
    r = subprocess.run(["nm", "-D", "--defined-only", e.module], capture_output=True,
                       text=True, check=True)
    syms = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] not in ("A",):
            syms.append(parts[2].split("@")[0])
    bad = [s for s in syms if not s.startswith("pam_sm_") and s not in ("_init", "_fini")]
    check(not bad, f"symbols other than pam_sm_* exported: {bad}")
    check("pam_sm_authenticate" in syms and "pam_sm_setcred" in syms,
          f"pam_sm_authenticate/pam_sm_setcred missing: {syms}")


@case("dlopen_rtld_now")
def t_dlopen(e):
    # In a child, so that a module pulling in libasan (sanitizer build) gets its runtime first.
    code = ("import ctypes,sys\n"
            "h=ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_LOCAL|2)\n"  # RTLD_NOW = 2
            "for s in ('pam_sm_authenticate','pam_sm_setcred'): getattr(h, s)\n"
            "for s in ('login_verify_code','cfg_load_module','store_open','seal_decrypt',"
            "'totp_verify','split_code','rc_wipe','backend_open'):\n"
            "  try:\n    getattr(h, s)\n  except AttributeError:\n    continue\n"
            "  print('visible', s); sys.exit(1)\n"
            "print('ok')\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if e.asan_lib:
        env["LD_PRELOAD"] = e.asan_lib
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    r = subprocess.run([sys.executable, "-c", code, e.module], capture_output=True, text=True,
                       env=env)
    check(r.returncode == 0 and "ok" in r.stdout,
          f"dlopen(RTLD_NOW) test failed: {r.stdout} {r.stderr}")


@case("right_code_accepted")
def t_right(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    run = e.drive(e.exact(), u, [totp(s)], setcred=True)
    expect(run, "PAM_SUCCESS", prompts=[(True, PROMPT)])
    check(run.setcred == "PAM_SUCCESS", "pam_setcred: " + run.describe())


@case("same_code_again_refused")
def t_replay(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    code = totp(s)
    svc = e.exact()
    expect(e.drive(svc, u, [code]), "PAM_SUCCESS")
    expect(e.drive(svc, u, [code]), "PAM_AUTH_ERR", prompts=[(True, PROMPT)])


@case("previous_step_within_window_accepted")
def t_prev_ok(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    expect(e.drive(e.exact("window=1"), u, [totp(s, -30)]), "PAM_SUCCESS")


@case("step_outside_window_refused")
def t_outside(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    svc = e.exact("window=1")
    expect(e.drive(svc, u, [totp(s, -60)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(s, -90)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(s, +90)]), "PAM_AUTH_ERR")
    # the current code still works: nothing above was accepted
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")


@case("window_0_refuses_previous_step")
def t_window0(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    svc = e.exact("window=0")
    expect(e.drive(svc, u, [totp(s, -30)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")


@case("wrong_code_refused")
def t_wrong(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    expect(e.drive(e.exact(), u, [wrong_code(s)]), "PAM_AUTH_ERR", prompts=[(True, PROMPT)])


@case("bad_input_refused_quietly")
def t_bad_input(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact()
    for typed in ["", "abcdef", "12345", "1234567", " 123456", "\b\n\r\177INCORRECT",
                  "9" * 600, "12345\u00e9"]:
        run = e.drive(svc, u, [typed])
        expect(run, "PAM_AUTH_ERR")
    # eight failures locked this user (deny=5): even the right code is refused now
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_AUTH_ERR")


@case("conversation_failure_is_conv_err_and_counts_nothing")
def t_conv_err(e):
    # The application's conversation fails at the code prompt (pamdrive has no answer left):
    # PAM_CONV_ERR, as pam_recover(8) says, not a wrong code; nothing is counted.
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact()
    for _ in range(6):
        run = e.drive(svc, u, [])
        check(run.noanswer, "the module did not ask: " + run.describe())
        expect(run, "PAM_CONV_ERR")
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")  # six times over deny=5: no lock


@case("deny_locks_until_unlock_time")
def t_lock_time(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    lock = 15 if e.wrap else 5  # under valgrind one login takes seconds
    svc = e.exact("deny=3", f"unlock_time={lock}")
    bad = wrong_code(s)
    # Wait for a fresh step first: waiting after the failures could outlast the lock.
    step_margin(10)
    for _ in range(3):
        expect(e.drive(svc, u, [bad]), "PAM_AUTH_ERR")
    # locked: even the right code is refused. Made at once (no wait for a fresh step, which
    # could outlast the lock); should the step change meanwhile, it is still in the window.
    expect(e.drive(svc, u, [totp(s, now=time.time())]), "PAM_AUTH_ERR")
    time.sleep(lock + 0.5)
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")


@case("deny_locks_until_admin_unlock")
def t_lock_admin(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact("deny=3", "unlock_time=900")
    bad = wrong_code(s)
    for _ in range(3):
        expect(e.drive(svc, u, [bad]), "PAM_AUTH_ERR")
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_AUTH_ERR")
    r = e.helper_run(["admin", "unlock", u])
    check(r.returncode == 0, f"admin unlock failed ({r.returncode}): {r.stderr}")
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")


@case("success_resets_failure_count")
def t_reset_count(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact("deny=3", "unlock_time=900")
    bad = wrong_code(s)
    for _ in range(2):
        expect(e.drive(svc, u, [bad]), "PAM_AUTH_ERR")
    step_margin()
    expect(e.drive(svc, u, [totp(s, -30)]), "PAM_SUCCESS")
    for _ in range(2):
        expect(e.drive(svc, u, [bad]), "PAM_AUTH_ERR")
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")


@case("not_enrolled_refused_without_nullok")
def t_no_nullok(e):
    u = e.new_user()
    expect(e.drive(e.exact(), u, ["123456"]), "PAM_AUTH_ERR")


@case("not_enrolled_or_unknown_refused_the_same_with_any_answer")
def t_no_nullok_answers(e):
    # Without nullok the module asks first and looks the user up with the attempt: the
    # outcomes and log lines stay those of a look-up before the prompt, also for an empty
    # answer (which never reaches the attempt).
    u = e.new_user()
    for typed in ["123456", "", "12345678"]:
        log = os.path.join(e.tmp, f"log-{u}-{len(typed)}")
        run = e.drive(e.exact(), u, [typed], log=log)
        expect(run, "PAM_AUTH_ERR", prompts=[(True, PROMPT)])
        check(f"user {u}: refused (no 2-step verification, no nullok)" in logged(log),
              f"answer {typed!r}: no 'no 2-step verification' line: {logged(log)!r}")
        log = os.path.join(e.tmp, f"log-nosuchuser-{len(typed)}")
        run = e.drive(e.exact(), "nosuchuser", [typed], log=log)
        expect(run, "PAM_USER_UNKNOWN", prompts=[(True, PROMPT)])
        check("user nosuchuser: refused (unknown user)" in logged(log),
              f"answer {typed!r}: no 'unknown user' line: {logged(log)!r}")


@case("not_enrolled_ignored_with_nullok")
def t_nullok(e):
    u = e.new_user()
    run = e.drive(e.exact("nullok"), u, [])
    expect(run, "PAM_IGNORE")
    check(not run.prompts, "nullok for a user without 2FA should not ask: " + run.describe())


@case("nullok_still_demands_code_when_enrolled")
def t_nullok_enrolled(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact("nullok")
    expect(e.drive(svc, u, [wrong_code(s)]), "PAM_AUTH_ERR", prompts=[(True, PROMPT)])
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_SUCCESS")


@case("password_then_code_stack")
def t_two_prompts(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.code_then()
    step_margin()
    run = e.drive(svc, u, [e.password(u), totp(s)])
    expect(run, "PAM_SUCCESS", exact=False, prompts=[(True, "Password: "), (True, PROMPT)])
    run = e.drive(svc, u, ["not-the-password", totp(s, -30)])
    expect(run, "PAM_AUTH_ERR", exact=False, prompts=[(True, "Password: ")])


@case("forward_pass_right_password_and_code")
def t_fp_ok(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    run = e.drive(e.forward(), u, [e.password(u) + totp(s)])
    # one field only: the module asks, pam_unix takes the password part from PAM_AUTHTOK
    expect(run, "PAM_SUCCESS", exact=False, prompts=[(True, "Password: ")])


@case("forward_pass_wrong_password_right_code")
def t_fp_badpw(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    run = e.drive(e.forward(), u, ["wrong-password" + totp(s)])
    expect(run, "PAM_AUTH_ERR", exact=False, prompts=[(True, "Password: ")])


@case("forward_pass_right_password_wrong_code")
def t_fp_badcode(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    run = e.drive(e.forward(), u, [e.password(u) + wrong_code(s)])
    expect(run, "PAM_AUTH_ERR", exact=False, prompts=[(True, "Password: ")])


@case("forward_pass_password_without_code")
def t_fp_nocode(e):
    u = e.new_user()
    e.enrol(u)
    expect(e.drive(e.forward(), u, [e.password(u)]), "PAM_AUTH_ERR", exact=False)
    expect(e.drive(e.forward(), u, [""]), "PAM_AUTH_ERR", exact=False)


@case("forward_pass_digits_in_password")
def t_fp_digits(e):
    u = e.new_user(password="hunter2024")
    s = e.enrol(u)["secret"]
    step_margin()
    expect(e.drive(e.forward(), u, ["hunter2024" + totp(s)]), "PAM_SUCCESS", exact=False)


@case("forward_pass_backup_code")
def t_fp_backup(e):
    u = e.new_user()
    d = e.enrol(u)
    check(len(d["backup_codes"]) >= 2, f"admin enrol gave no backup codes: {d}")
    bc = d["backup_codes"][0].replace(" ", "").replace("-", "")
    expect(e.drive(e.forward(), u, [e.password(u) + bc]), "PAM_SUCCESS", exact=False)
    expect(e.drive(e.forward(), u, [e.password(u) + bc]), "PAM_AUTH_ERR", exact=False)


@case("split_pass_takes_authtok_from_earlier_module")
def t_fp_first_pass(e):
    # An earlier module (pam_unix in an optional line, failing on "password+code") set
    # PAM_AUTHTOK: split_pass splits that instead of asking again.
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.service([
        "auth optional pam_unix.so nodelay",
        f"auth requisite {e.mod('split_pass')}",
        "auth requisite pam_unix.so use_first_pass nodelay",
        f"auth required {e.mod('forwarded_code')}",
    ])
    step_margin()
    run = e.drive(svc, u, [e.password(u) + totp(s)])
    expect(run, "PAM_SUCCESS", exact=False, prompts=[(True, "Password: ")])


# ---- one-field services: split_pass, the password module, forwarded_code ----

def logged(path):
    try:
        return open(path).read()
    except OSError:
        return ""


@case("split_pass_wrong_passwords_never_lock_the_owner")
def t_split_no_lockout(e):
    # deny=3: with the code checked first (forward_pass), 3 wrong passwords + any digits
    # locked the owner out. Here 20 wrong passwords, some with the right code, move nothing.
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.forward("deny=3")
    bad = wrong_code(s)
    for i in range(20):
        code = totp(s, now=time.time()) if i % 4 == 0 else bad
        run = e.drive(svc, u, [f"wrong-{i}-{e.password(u)}" + code])
        expect(run, "PAM_AUTH_ERR", exact=False, prompts=[(True, "Password: ")])
        check(not run.errors, "a wrong password must not hear about codes: " + run.describe())
    step_margin()
    run = e.drive(svc, u, [e.password(u) + totp(s)])
    expect(run, "PAM_SUCCESS", exact=False, prompts=[(True, "Password: ")])


@case("forward_pass_deprecated_still_checks_code_first_and_says_so")
def t_fp_deprecated(e):
    # The old line keeps its meaning (an upgrade must not turn 2FA off) and logs why it
    # should go: wrong passwords with any digits do count against the owner there.
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.forward_old("deny=2")
    log = os.path.join(e.tmp, f"log-{u}")
    bad = wrong_code(s)
    for _ in range(2):
        expect(e.drive(svc, u, ["wrong-password" + bad], log=log), "PAM_AUTH_ERR", exact=False)
    text = logged(log)
    check("forward_pass checks the code before the password" in text and
          "split_pass and forwarded_code" in text, f"no deprecation notice in syslog: {text!r}")
    step_margin()
    expect(e.drive(svc, u, [e.password(u) + totp(s)]), "PAM_AUTH_ERR", exact=False)


@case("split_pass_ignores_for_every_name")
def t_split_every_name(e):
    # split_pass decides nothing: PAM_IGNORE for unknown, not enrolled and enrolled names,
    # so that the password module runs for all of them (no early stop for unknown names).
    enrolled, plain = e.new_user(), e.new_user()
    s = e.enrol(enrolled)["secret"]
    for args in ((), ("nullok",)):
        svc = e.exact("split_pass", *args)
        for user, typed in (("nosuchuser", "whatever123456"), (plain, "pw123456"),
                            (enrolled, "pw" + totp(s, now=time.time())),
                            ("nosuchuser", "x"), (enrolled, "")):
            run = e.drive(svc, user, [typed])
            expect(run, "PAM_IGNORE", prompts=[(True, "Password: ")])
    # and nothing was counted: the right code still works, and an unknown name reaches
    # the password module (pam_unix's own answer, not ours)
    step_margin()
    expect(e.drive(e.forward(), enrolled, [e.password(enrolled) + totp(s)]), "PAM_SUCCESS",
           exact=False)
    svc = e.service([f"auth requisite {e.mod('split_pass')}",
                     "auth [default=die] pam_unix.so use_first_pass nodelay",
                     f"auth required {e.mod('forwarded_code')}"])
    run = e.drive(svc, "nosuchuser", ["secret123456"])
    check(run.ok() and run.auth == "PAM_USER_UNKNOWN",
          "pam_unix should have answered for the unknown name: " + run.describe())


@case("forwarded_code_without_split_pass_fails_closed")
def t_fwd_misconfigured(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    log = os.path.join(e.tmp, f"log-{u}")
    svc = e.service([f"auth requisite {e.matrix} passdb={e.passdb}",
                     f"auth [success=done ignore=ignore default=die] {e.mod('forwarded_code')}",
                     "auth required pam_deny.so"])
    step_margin()
    run = e.drive(svc, u, [e.password(u), totp(s)], log=log)
    expect(run, "PAM_AUTHINFO_UNAVAIL", exact=False)
    text = logged(log)
    check("forwarded_code found no code kept by split_pass" in text and
          "auth requisite pam_recover.so split_pass" in text,
          f"no line naming the fix in syslog: {text!r}")


@case("forwarded_code_password_alone_logged_no_code_given")
def t_fwd_nocode(e):
    u = e.new_user()
    e.enrol(u)
    log = os.path.join(e.tmp, f"log-{u}")
    run = e.drive(e.forward(), u, [e.password(u)], log=log)
    expect(run, "PAM_AUTH_ERR", exact=False)
    text = logged(log)
    check(re.search(rf"<85>[^\n]*user {u}: refused \(no code given\)", text),
          f"'refused (no code given)' not at NOTICE (authpriv.notice = <85>): {text!r}")


@case("forwarded_code_reused_backup_code_logged")
def t_fwd_reused_backup(e):
    u = e.new_user()
    d = e.enrol(u)
    bc = d["backup_codes"][0].replace(" ", "").replace("-", "")
    log = os.path.join(e.tmp, f"log-{u}")
    expect(e.drive(e.forward(), u, [e.password(u) + bc]), "PAM_SUCCESS", exact=False)
    expect(e.drive(e.forward(), u, [e.password(u) + bc], log=log), "PAM_AUTH_ERR", exact=False)
    text = logged(log)
    check(f"user {u}: refused (backup code already used)" in text,
          f"the reused backup code is not logged as such: {text!r}")


def lock_user(e, svc, u, s, n, **kw):
    bad = wrong_code(s)
    runs = [e.drive(svc, u, [bad], **kw) for _ in range(n)]
    for r in runs:
        expect(r, "PAM_AUTH_ERR")
    return runs


LOCK_RE = r"^Too many wrong codes: try again after \d\d:\d\d, or use a backup code\.$"


@case("locked_user_is_told_at_the_prompt")
def t_lock_message(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact("deny=2", "unlock_time=900")
    runs = lock_user(e, svc, u, s, 2)
    check(not runs[0].errors, "no lock message before the lock: " + runs[0].describe())
    check(len(runs[1].errors) == 1 and re.match(LOCK_RE, runs[1].errors[0]),
          "the locking attempt should say so: " + runs[1].describe())
    until = time.strftime("%H:%M", time.localtime(time.time() + 900))
    step_margin()
    run = e.drive(svc, u, [totp(s)])
    expect(run, "PAM_AUTH_ERR", prompts=[(True, PROMPT)])
    check(len(run.errors) == 1 and re.match(LOCK_RE, run.errors[0]) and
          run.errors[0].split("after ")[1][:5] in (until, time.strftime(
              "%H:%M", time.localtime(time.time() + 840))),
          f"locked: expected the message with {until}: " + run.describe())
    run = e.drive(svc, u, [totp(s, now=time.time())], silent=True)
    expect(run, "PAM_AUTH_ERR")
    check(not run.errors, "PAM_SILENT: no message: " + run.describe())


@case("backup_code_works_during_lock_and_lifts_it")
def t_backup_in_lock(e):
    u = e.new_user()
    d = e.enrol(u)
    s = d["secret"]
    codes = [c.replace(" ", "").replace("-", "") for c in d["backup_codes"]]
    svc = e.exact("deny=2", "unlock_time=900")
    lock_user(e, svc, u, s, 2)
    step_margin()
    expect(e.drive(svc, u, [totp(s)]), "PAM_AUTH_ERR")  # locked
    expect(e.drive(svc, u, [codes[0]]), "PAM_SUCCESS")
    step_margin()
    expect(e.drive(svc, u, [totp(s, now=time.time())]), "PAM_SUCCESS")  # lock lifted
    # the same through the one-field stack: the owner (with the password) uses a backup code
    fsvc = e.forward("deny=2", "unlock_time=900")
    lock_user(e, svc, u, s, 2)
    run = e.drive(fsvc, u, [e.password(u) + codes[1]])
    expect(run, "PAM_SUCCESS", exact=False)


@case("backup_codes_have_their_own_limit")
def t_backup_limit(e):
    u = e.new_user()
    d = e.enrol(u)
    s = d["secret"]
    codes = [c.replace(" ", "").replace("-", "") for c in d["backup_codes"]]
    svc = e.exact("deny=2", "unlock_time=900", "backup_deny=2")
    lock_user(e, svc, u, s, 2)
    taken = set(codes)
    wrong = [c for c in ("11111111", "22222222", "33333333") if c not in taken]
    run = e.drive(svc, u, [wrong[0]])
    expect(run, "PAM_AUTH_ERR")
    check(run.errors and re.match(LOCK_RE, run.errors[0]), "still offered: " + run.describe())
    run = e.drive(svc, u, [wrong[1]])
    expect(run, "PAM_AUTH_ERR")
    check(run.errors and re.match(r"^Too many wrong codes: try again after \d\d:\d\d\.$",
                                  run.errors[0]),
          "backup codes used up their limit: no more offered: " + run.describe())
    expect(e.drive(svc, u, [codes[0]]), "PAM_AUTH_ERR")  # the right one, over the limit
    r = e.helper_run(["admin", "unlock", u])
    check(r.returncode == 0, f"admin unlock failed: {r.stderr}")
    expect(e.drive(svc, u, [codes[0]]), "PAM_SUCCESS")  # not used up by the refusal


@case("lock_and_unlock_at_login_are_audited")
def t_lock_audit(e):
    u = e.new_user()
    d = e.enrol(u)
    s = d["secret"]
    svc = e.forward("deny=2", "unlock_time=900")
    bad = wrong_code(s)
    for _ in range(2):
        expect(e.drive(svc, u, [e.password(u) + bad], rhost="192.0.2.7"), "PAM_AUTH_ERR",
               exact=False)
    code = d["backup_codes"][0].replace(" ", "").replace("-", "")
    expect(e.drive(svc, u, [e.password(u) + code], rhost="198.51.100.9"), "PAM_SUCCESS",
           exact=False)
    r = e.helper_run(["admin", "audit", u], json_out=True)
    check(r.returncode == 0, f"admin audit failed: {r.stderr}")
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    text = json.dumps(events)
    check("login-locked" in text and "login-unlocked" in text, f"audit: {text}")
    svcname = svc
    check(re.search(rf"service={svcname} rhost=192\.0\.2\.7 until=\d+", text),
          f"the lock event lacks service/rhost: {text}")
    check(re.search(rf"service={svcname} rhost=198\.51\.100\.9", text),
          f"the unlock event lacks service/rhost: {text}")
    check(code not in text and bad not in text, "a code in the audit")


@case("app_password_last_used_only_on_success")
def t_app_last_used(e):
    u = e.new_user()
    e.enrol(u)
    imap = e.exact("app_passwords")
    other = e.exact("app_passwords")
    r = e.helper_run(["app-password", "add", "mail", "--service", imap, "--user", u],
                     json_out=True)
    check(r.returncode == 0, f"app-password add failed ({r.returncode}): {r.stderr}")
    pw = json_merged(r.stdout).get("password")
    check(pw, f"no app password in the output: {r.stdout!r}")

    def last_used():
        lr = e.helper_run(["app-password", "list", "--user", u], json_out=True)
        check(lr.returncode == 0, f"app-password list failed: {lr.stderr}")
        found = [json.loads(x) for x in lr.stdout.splitlines() if x.startswith("{")]
        items = []
        for f in found:
            items += f.get("app_passwords", [f])
        item = [i for i in items if i.get("name") == "mail"]
        check(item, f"no 'mail' in the list: {lr.stdout!r}")
        return item[0].get("last_used")

    expect(e.drive(other, u, [pw]), "PAM_IGNORE")  # refused on another service
    check(last_used() is None, "a refused login stamped last_used")
    expect(e.drive(imap, u, [pw]), "PAM_SUCCESS")
    check(last_used() is not None, "a successful login did not stamp last_used")


def check_path(e):
    """Where the built module execs pam-recover-check (compiled in: RC_CHECK_PATH)."""
    m = re.search(rb"(/[A-Za-z0-9_./-]*/pam-recover-check)\0", open(e.module, "rb").read())
    check(m is not None, "the module names no pam-recover-check path")
    return m.group(1).decode()


def installed_layout(e, extra=""):
    """The layout `make install` and the Debian package leave, in this namespace only: the
    built pam-recover-check setuid root at the module's compiled-in path (an overlay on its
    directory), and the test configuration as /etc/security/pam_recover.conf, 0600 root, so
    that a module without root cannot read it. `extra`: lines added to that file."""
    target = check_path(e)
    if not getattr(e, "check_placed", False):
        d = os.path.dirname(target)
        ovl = os.path.join(e.tmp, "sbin-ovl")
        os.makedirs(ovl, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", ovl], check=True)
        for sub in ("upper", "work"):
            os.makedirs(os.path.join(ovl, sub))
        os.makedirs(d, exist_ok=True)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={d},upperdir={ovl}/upper,workdir={ovl}/work", d], check=True)
        shutil.copyfile(os.path.join(e.build, "pam-recover-check"), target)
        os.chown(target, 0, 0)
        os.chmod(target, 0o4755)
        # the non-root caller reaches the service files, pamdrive and its own password file
        os.chmod(e.tmp, 0o711)
        e.check_placed = True
    os.makedirs("/etc/security", exist_ok=True)
    conf = "/etc/security/pam_recover.conf"
    write(conf, open(e.cfg).read() + extra, 0o600)
    os.chown(conf, 0, 0)
    return target


def ask_back_end(target, uid, mode, user, service, text):
    """One request to the installed back end as `uid` (a process of that user): its status."""
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                           "--", target], input=f"{mode}\n{user}\n{service}\n{text}\n",
                          text=True, capture_output=True,
                          env={"PATH": "/usr/bin:/bin"}).returncode


def nonroot_user(e):
    """A new enrolled user, its uid, a pam_matrix password file it may read, its secret and
    backup codes."""
    u = e.new_user("nr")
    d = e.enrol(u)
    uid = int(subprocess.run(["id", "-u", u], capture_output=True, text=True).stdout)
    passdb = os.path.join(e.tmp, f"passdb-{u}")
    write(passdb, f"{u}:{e.password(u)}:*\n", 0o644)
    bcs = [b.replace(" ", "").replace("-", "") for b in d["backup_codes"]]
    return u, uid, passdb, d["secret"], bcs


@case("nonroot_installed_layout_code_replay_wrong_lock_backup")
def t_nonroot_code(e):
    # The module in a process without root (every uid the user's: a screen locker), the
    # configuration 0600 root where `make install` puts it: the module cannot read it and
    # takes its part from pam-recover-check (mode config); the decisions are the back end's.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    installed_layout(e, "prompt = \"Second factor: \"\n")
    u, uid, passdb, s, bcs = nonroot_user(e)
    svc = e.service([f"auth requisite {e.matrix} passdb={passdb}",
                     f"auth required {e.module}"])
    pw = e.password(u)
    log = os.path.join(e.tmp, f"log-{u}")
    code = totp(s)
    r = e.drive(svc, u, [pw, code], as_uid=uid, log=log)
    expect(r, "PAM_SUCCESS", exact=False)
    # the prompt is the file's (0600): it came through the back end
    check(r.prompts[-1] == (True, "Second factor: "), "the prompt of the 0600 file did not "
          "reach the module: " + r.describe())
    text = logged(log)
    check(f"user={u} service={svc} mode=code result=ok" in text,
          f"pam-recover-check did not answer mode code: {text!r}")
    check("pam-recover-check" in text, f"not the lean back end: {text!r}")
    expect(e.drive(svc, u, [pw, code], as_uid=uid), "PAM_AUTH_ERR", exact=False)  # replayed
    expect(e.drive(svc, u, [pw, wrong_code(s)], as_uid=uid), "PAM_AUTH_ERR", exact=False)
    step_margin(10)
    expect(e.drive(svc, u, [pw, totp(s, 30)], as_uid=uid), "PAM_SUCCESS", exact=False)
    # the lock (deny = 5), on a user of its own: five wrong codes in a row, then the right
    # (never used) code is refused, and a backup code still passes (and lifts the lock)
    v, vid, vpassdb, vs, vbcs = nonroot_user(e)
    vsvc = e.service([f"auth requisite {e.matrix} passdb={vpassdb}",
                      f"auth required {e.module}"])
    vpw = e.password(v)
    for _ in range(5):
        expect(e.drive(vsvc, v, [vpw, wrong_code(vs)], as_uid=vid), "PAM_AUTH_ERR",
               exact=False)
    r = e.drive(vsvc, v, [vpw, totp(vs)], as_uid=vid)
    expect(r, "PAM_AUTH_ERR", exact=False)
    check(any("Too many wrong codes" in m for m in r.errors), "no lock message: " + r.describe())
    expect(e.drive(vsvc, v, [vpw, vbcs[0]], as_uid=vid), "PAM_SUCCESS", exact=False)
    expect(e.drive(vsvc, v, [vpw, vbcs[0]], as_uid=vid), "PAM_AUTH_ERR", exact=False)  # used
    # with nullok on the line the back end says "enrolled" with the configuration: an
    # enrolled user is still asked for a code, and a used code is still refused
    w, wid, wpassdb, ws, _ = nonroot_user(e)
    wsvc = e.service([f"auth requisite {e.matrix} passdb={wpassdb}",
                      f"auth required {e.module} nullok"])
    code = totp(ws)
    expect(e.drive(wsvc, w, [e.password(w), code], as_uid=wid), "PAM_SUCCESS", exact=False)
    expect(e.drive(wsvc, w, [e.password(w), code], as_uid=wid), "PAM_AUTH_ERR", exact=False)


@case("nonroot_code_and_backup_code_with_a_blank_are_one_wrong_code")
def t_nonroot_pair(e):
    # The back end takes "DDDDDD DDDDDDDD" for forward_pass's two tails; typed at the prompt
    # it is one code (blanks dropped, as the module with root reads it): a wrong code with a
    # backup code after it is refused, and that backup code was not tried.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    installed_layout(e)
    u, uid, passdb, s, bcs = nonroot_user(e)
    svc = e.service([f"auth requisite {e.matrix} passdb={passdb}",
                     f"auth required {e.module}"])
    pw = e.password(u)
    r = e.drive(svc, u, [pw, f"{wrong_code(s)} {bcs[0]}"], as_uid=uid)
    expect(r, "PAM_AUTH_ERR", exact=False)
    expect(e.drive(svc, u, [pw, bcs[0]], as_uid=uid), "PAM_SUCCESS", exact=False)


@case("nonroot_installed_layout_nullok_from_the_file_and_as_argument")
def t_nonroot_nullok(e):
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    installed_layout(e)
    u = e.new_user("nn")
    uid = int(subprocess.run(["id", "-u", u], capture_output=True, text=True).stdout)
    plain = e.exact(raw="")
    arg = e.exact(raw="nullok")
    # no 2FA, no nullok: refused; nullok as a module argument: passed by (PAM_IGNORE)
    expect(e.drive(plain, u, ["123456"], as_uid=uid), "PAM_AUTH_ERR")
    expect(e.drive(arg, u, [], as_uid=uid), "PAM_IGNORE")
    # nullok only in the 0600 file: the module learns it from the back end
    installed_layout(e, "nullok = yes\n")
    expect(e.drive(plain, u, [], as_uid=uid), "PAM_IGNORE")
    installed_layout(e)


@case("nonroot_installed_layout_app_password")
def t_nonroot_app(e):
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    installed_layout(e)
    u, uid, _, _, _ = nonroot_user(e)
    imap = e.exact(raw="app_passwords")
    other = e.exact(raw="app_passwords")
    r = e.helper_run(["app-password", "add", "mail", "--service", imap, "--user", u],
                     json_out=True)
    check(r.returncode == 0, f"app-password add failed ({r.returncode}): {r.stderr}")
    data = json_merged(r.stdout)
    pw = data.get("password") or data.get("app_password")
    check(pw, f"no app password in the output: {r.stdout!r}")
    expect(e.drive(imap, u, [pw], as_uid=uid), "PAM_SUCCESS")
    expect(e.drive(imap, u, ["not-an-app-password"], as_uid=uid), "PAM_IGNORE")
    expect(e.drive(other, u, [pw], as_uid=uid), "PAM_IGNORE")


@case("nonroot_installed_layout_config_argument_and_broken_back_end")
def t_nonroot_refusals(e):
    # Without root a config= other than the system file cannot be honoured (the back end
    # reads only that one): refused, never guessed. A back end that cannot read the
    # configuration fails closed.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    target = installed_layout(e)
    u, uid, passdb, s, _ = nonroot_user(e)
    svc = e.exact()  # config=<the test's file>
    expect(e.drive(svc, u, [totp(s)], as_uid=uid), "PAM_AUTHINFO_UNAVAIL")
    plain = e.exact(raw="")
    os.chmod(target, 0o755)  # not setuid: it cannot read the 0600 file
    try:
        expect(e.drive(plain, u, [totp(s)], as_uid=uid), "PAM_AUTHINFO_UNAVAIL")
    finally:
        os.chmod(target, 0o4755)
    expect(e.drive(plain, u, [totp(s)], as_uid=uid), "PAM_SUCCESS")


@case("split_pass_and_forwarded_code_without_root_through_the_back_end")
def t_split_nonroot(e):
    # A module in a process without root asks pam-recover-check (modes config, split, then
    # code) with the configuration 0600 root: the one-field stack works on that path too.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    installed_layout(e)
    u, uid, passdb, s, bcs = nonroot_user(e)
    bc = bcs[0]
    svc = e.service([
        f"auth requisite {e.module} split_pass",
        f"auth requisite {e.matrix} passdb={passdb}",
        f"auth required {e.module} forwarded_code",
    ])
    step_margin()
    code = totp(s)
    pw = e.password(u)
    # pam_matrix asks for the password itself: the second answer
    log = os.path.join(e.tmp, f"log-{u}")
    expect(e.drive(svc, u, [pw + code, pw], as_uid=uid, log=log), "PAM_SUCCESS", exact=False)
    text = logged(log)
    check(f"user={u} service={svc} mode=split result=ok" in text and
          f"user={u} service={svc} mode=code result=ok" in text,
          f"the back end did not answer modes split and code: {text!r}")
    expect(e.drive(svc, u, [pw + code, pw], as_uid=uid), "PAM_AUTH_ERR", exact=False)  # replay
    expect(e.drive(svc, u, [pw + bc, pw], as_uid=uid), "PAM_SUCCESS", exact=False)  # split at 8
    expect(e.drive(svc, u, [pw + bc, pw], as_uid=uid), "PAM_AUTH_ERR", exact=False)  # used
    # wrong passwords never reach the code check, not even through the back end
    for i in range(6):
        expect(e.drive(svc, u, [f"bad{i}" + code, f"bad{i}"], as_uid=uid), "PAM_AUTH_ERR",
               exact=False)
    step_margin()
    expect(e.drive(svc, u, [pw + totp(s, 30), pw], as_uid=uid), "PAM_SUCCESS", exact=False)


@case("nonroot_check_rate_limit_per_uid")
def t_nonroot_rate(e):
    # 30 requests a minute per real uid: a login is two (enrolled, code; config opens no
    # store and is not counted); once over, the right code is refused, and another user's
    # logins are not touched.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    target = installed_layout(e)
    u, uid, _, s, _ = nonroot_user(e)
    v, vid, _, sv, _ = nonroot_user(e)
    svc = e.exact(raw="")
    answered = 0
    for _ in range(40):
        rc = ask_back_end(target, uid, "enrolled", u, svc, "")
        if rc == 0:
            answered += 1
        else:
            check(rc == 4, f"over the limit: expected 4 (locked), got {rc}")
    check(answered <= 30, f"{answered} requests of one uid answered in under a minute")
    expect(e.drive(svc, u, [totp(s)], as_uid=uid), "PAM_AUTH_ERR")
    # with nullok on the line (configuration and `enrolled` in one request, read-only): the
    # same refusal, not an error
    expect(e.drive(e.exact(raw="nullok"), u, [totp(s)], as_uid=uid), "PAM_AUTH_ERR")
    expect(e.drive(svc, v, [totp(sv)], as_uid=vid), "PAM_SUCCESS")
    return f"{answered} of 40 requests answered"


@case("nonroot_split_backup_code_lookups_limited_per_uid")
def t_nonroot_split_rate(e):
    # Mode split with a tail says whether 8 digits are an unused backup code, before any
    # password is checked, so nothing counts them as failures: a caller other than root gets
    # 20 such look-ups an hour, then "locked" (4) without a look-up, a real backup code
    # included; a request without a tail is not counted; `admin unlock` clears the limit.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    target = installed_layout(e)
    u, uid, _, s, bcs = nonroot_user(e)
    svc = e.exact(raw="")

    def split(tail):
        return ask_back_end(target, uid, "split", u, svc, tail)

    wrong = [f"{n:08d}" for n in range(40) if f"{n:08d}" not in bcs][:22]
    got = [split(t) for t in wrong]
    check(got[:20] == [0] * 20, f"the first 20 look-ups: {got[:20]} (0: cut at 6 wanted)")
    check(got[20:] == [4, 4], f"look-ups 21 and 22: {got[20:]} (4: locked wanted)")
    check(split(bcs[0]) == 4, "a backup code was looked up over the limit")
    check(split("") == 0, "a request without a tail was limited")
    r = e.helper_run(["admin", "unlock", u])
    check(r.returncode == 0, f"admin unlock: {r.returncode} {r.stderr}")
    check(split(bcs[0]) == 1, "after admin unlock the backup code is not found (1 wanted)")


@case("nonroot_forward_pass_pair_says_which_tail_was_the_code")
def t_nonroot_pair_which(e):
    # forward_pass without root sends "DDDDDD DDDDDDDD" (the field's 6- and 8-digit tails):
    # the back end says 12 when the 8-digit tail was the current code, so that the module
    # hands on the password without those 8 digits; 0 when the 6-digit one was.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    target = installed_layout(e)
    svc = e.exact(raw="")

    def code(user, uid, pair):
        return ask_back_end(target, uid, "code", user, svc, pair)

    u8 = e.new_user("nr")
    d8 = e.enrol(u8, extra=["--digits", "8"])
    uid8 = int(subprocess.run(["id", "-u", u8], capture_output=True, text=True).stdout)
    step_margin()
    c8 = totp(d8["secret"], digits=8)
    got = code(u8, uid8, f"{c8[2:]} {c8}")
    check(got == 12, f"8-digit code as the 8-digit tail: {got}, not 12")
    u6, uid6, _, s6, _ = nonroot_user(e)
    c6 = totp(s6)
    check(code(u6, uid6, f"{c6} 12{c6}") == 0, "6-digit code as the 6-digit tail: not 0")


# ---- the reuse window (forwarded_code) ----

@case("reuse_window_same_string_same_address_and_service")
def t_reuse(e):
    u = e.new_user()
    d = e.enrol(u)
    s = d["secret"]
    svc = e.forward("reuse_window=120")
    other_svc = e.forward("reuse_window=120")
    step_margin(10)
    typed = e.password(u) + totp(s)
    log = os.path.join(e.tmp, f"log-{u}")
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7", log=log), "PAM_SUCCESS", exact=False)
    check(f"user {u}: accepted (reuse within 120 s from 192.0.2.7)" in logged(log),
          f"no INFO line for the reuse: {logged(log)!r}")
    expect(e.drive(svc, u, [typed], rhost="192.0.2.8"), "PAM_AUTH_ERR", exact=False)
    expect(e.drive(other_svc, u, [typed], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)
    expect(e.drive(svc, u, [typed]), "PAM_AUTH_ERR", exact=False)  # no PAM_RHOST
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    # a lock (here: the same string replayed from elsewhere, and wrong codes) does not stop
    # the window, and the window does not lift the lock
    bad = wrong_code(s)
    for _ in range(5):
        expect(e.drive(svc, u, [e.password(u) + bad], rhost="192.0.2.9"), "PAM_AUTH_ERR",
               exact=False)
    run = e.drive(svc, u, [typed], rhost="192.0.2.7")
    expect(run, "PAM_SUCCESS", exact=False)
    step_margin()
    run = e.drive(svc, u, [e.password(u) + totp(s, 30)], rhost="192.0.2.7")
    expect(run, "PAM_AUTH_ERR", exact=False)
    check(run.errors and run.errors[0].startswith("Too many wrong codes"),
          "still locked for new codes: " + run.describe())
    # admin unlock ends the window
    r = e.helper_run(["admin", "unlock", u])
    check(r.returncode == 0, f"admin unlock: {r.stderr}")
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)


@case("reuse_window_never_for_backup_codes_or_prompted_codes")
def t_reuse_not_backup(e):
    u = e.new_user()
    d = e.enrol(u)
    svc = e.forward("reuse_window=120")
    bc = d["backup_codes"][0].replace(" ", "").replace("-", "")
    expect(e.drive(svc, u, [e.password(u) + bc], rhost="192.0.2.7"), "PAM_SUCCESS",
           exact=False)
    expect(e.drive(svc, u, [e.password(u) + bc], rhost="192.0.2.7"), "PAM_AUTH_ERR",
           exact=False)
    # an interactive stack (the code asked for) never reuses
    isvc = e.code_then("reuse_window=120")
    step_margin()
    code = totp(d["secret"])
    expect(e.drive(isvc, u, [e.password(u), code], rhost="192.0.2.7"), "PAM_SUCCESS",
           exact=False)
    expect(e.drive(isvc, u, [e.password(u), code], rhost="192.0.2.7"), "PAM_AUTH_ERR",
           exact=False)


@case("reuse_window_off_expiry_and_trusted_hosts")
def t_reuse_expiry(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    off = e.forward("reuse_window=0")
    step_margin(12)
    typed = e.password(u) + totp(s)
    expect(e.drive(off, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    expect(e.drive(off, u, [typed], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)
    svc = e.forward("reuse_window=2", "reuse_trusted_hosts=10.1.0.0/16,192.0.2.9",
                    "reuse_window_trusted=60")
    u2 = e.new_user()
    s2 = e.enrol(u2)["secret"]
    step_margin(12)
    t2 = e.password(u2) + totp(s2)
    expect(e.drive(svc, u2, [t2], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    u3 = e.new_user()
    s3 = e.enrol(u3)["secret"]
    t3 = e.password(u3) + totp(s3, now=time.time())
    expect(e.drive(svc, u3, [t3], rhost="10.1.2.3"), "PAM_SUCCESS", exact=False)
    time.sleep(3)
    expect(e.drive(svc, u2, [t2], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)  # expired
    expect(e.drive(svc, u3, [t3], rhost="10.1.2.3"), "PAM_SUCCESS", exact=False)  # trusted


@case("reuse_window_ends_on_reenrol_and_disable")
def t_reuse_end(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.forward("reuse_window=120", "nullok")
    step_margin(10)
    typed = e.password(u) + totp(s)
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    r = e.helper_run(["admin", "disable-2fa", u])
    check(r.returncode == 0, f"admin disable-2fa: {r.stderr}")
    s = e.enrol(u)["secret"]
    # the old string is refused now (the new secret gives no such code): the window is gone
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)
    step_margin(10)
    typed = e.password(u) + totp(s)
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    e.enrol(u, extra=["--force"])
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)


@case("backup_code_once")
def t_backup(e):
    u = e.new_user()
    d = e.enrol(u)
    codes = [c.replace(" ", "").replace("-", "") for c in d["backup_codes"]]
    check(len(codes) == 10, f"expected 10 backup codes, got {len(codes)}: {d}")
    check(all(re.fullmatch(r"\d{8}", c) for c in codes), f"backup codes not 8 digits: {codes}")
    svc = e.exact()
    expect(e.drive(svc, u, [codes[0]]), "PAM_SUCCESS", prompts=[(True, PROMPT)])
    expect(e.drive(svc, u, [codes[0]]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [codes[1]]), "PAM_SUCCESS")


@case("backup_codes_replaced_by_reenrol")
def t_backup_reenrol(e):
    u = e.new_user()
    old = e.enrol(u)
    new = e.enrol(u, extra=["--force"])
    svc = e.exact()
    expect(e.drive(svc, u, [old["backup_codes"][0]]), "PAM_AUTH_ERR")
    step_margin()
    expect(e.drive(svc, u, [totp(old["secret"])]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [new["backup_codes"][0]]), "PAM_SUCCESS")


@case("unknown_user_prompted_then_refused")
def t_unknown(e):
    run = e.drive(e.exact(), "nosuchuser", ["123456"])
    expect(run, "PAM_USER_UNKNOWN", prompts=[(True, PROMPT)])


@case("malformed_user_name_refused")
def t_bad_name(e):
    for name in ["Bad User", "../etc", "a" * 200]:
        expect(e.drive(e.exact(), name, ["123456"]), "PAM_USER_UNKNOWN")


def broken_config(e, name, store=None, key=None):
    return e.write_config(os.path.join(e.tmp, "etc", name), store=store, key=key)


@case("corrupt_store_fails_closed")
def t_corrupt_store(e):
    u = e.new_user()
    e.enrol(u)
    d = os.path.join(e.tmp, "corrupt")
    os.makedirs(d, mode=0o700, exist_ok=True)
    write(os.path.join(d, "state.db"), "this is not an SQLite database\n" * 200, 0o600)
    cfg = broken_config(e, "corrupt.conf", store=os.path.join(d, "state.db"))
    expect(e.drive(e.exact(cfg=cfg), u, ["123456"]), "PAM_AUTHINFO_UNAVAIL")


@case("missing_store_fails_closed")
def t_missing_store(e):
    u = e.new_user()
    e.enrol(u)
    d = os.path.join(e.tmp, "empty")
    os.makedirs(d, mode=0o700, exist_ok=True)
    cfg = broken_config(e, "missing.conf", store=os.path.join(d, "state.db"))
    expect(e.drive(e.exact(cfg=cfg), u, ["123456"]), "PAM_AUTHINFO_UNAVAIL")
    check(not os.path.exists(os.path.join(d, "state.db")), "the module created a store")


@case("unsafe_store_directory_fails_closed")
def t_unsafe_store(e):
    u = e.new_user()
    e.enrol(u)
    d = os.path.join(e.tmp, "unsafe")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    shutil.copy2(os.path.join(e.state, "state.db"), os.path.join(d, "state.db"))
    cfg = broken_config(e, "unsafe.conf", store=os.path.join(d, "state.db"))
    expect(e.drive(e.exact(cfg=cfg), u, ["123456"]), "PAM_AUTHINFO_UNAVAIL")


@case("missing_key_fails_closed")
def t_missing_key(e):
    u = e.new_user()
    e.enrol(u)
    cfg = broken_config(e, "nokey.conf", key=os.path.join(e.tmp, "etc", "no-such.key"))
    expect(e.drive(e.exact(cfg=cfg), u, ["123456"]), "PAM_AUTHINFO_UNAVAIL")


@case("wrong_key_fails_closed")
def t_wrong_key(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    k = os.path.join(e.tmp, "etc", "other.key")
    fd = os.open(k, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    os.write(fd, os.urandom(32))
    os.close(fd)
    cfg = broken_config(e, "otherkey.conf", key=k)
    step_margin()
    expect(e.drive(e.exact(cfg=cfg), u, [totp(s)]), "PAM_AUTHINFO_UNAVAIL")


@case("unsafe_key_file_fails_closed")
def t_unsafe_key(e):
    u = e.new_user()
    e.enrol(u)
    k = os.path.join(e.tmp, "etc", "readable.key")
    shutil.copyfile(e.key, k)
    os.chmod(k, 0o644)
    cfg = broken_config(e, "readablekey.conf", key=k)
    expect(e.drive(e.exact(cfg=cfg), u, ["123456"]), "PAM_AUTHINFO_UNAVAIL")


@case("bad_module_option_fails_closed")
def t_bad_option(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    code = totp(s)
    for args in [("no_such_option",), ("window=abc",), ("window=99",), ("deny=-1",),
                 ("prompt",), ("nullok=maybe",)]:
        run = e.drive(e.exact(*args), u, [code])
        check(run.ok() and run.module_rc == "PAM_AUTHINFO_UNAVAIL",
              f"option {args}: expected PAM_AUTHINFO_UNAVAIL: " + run.describe())
    # the code was never consumed by the refused attempts
    expect(e.drive(e.exact(), u, [code]), "PAM_SUCCESS")


@case("config_file_errors_fail_closed")
def t_bad_config(e):
    u = e.new_user()
    e.enrol(u)
    etc = os.path.join(e.tmp, "etc")
    unknown = e.write_config(os.path.join(etc, "unknown-key.conf"), extra="colour = blue\n")
    badval = e.write_config(os.path.join(etc, "bad-value.conf"), extra="deny = lots\n")
    writable = e.write_config(os.path.join(etc, "writable.conf"))
    os.chmod(writable, 0o666)
    link = os.path.join(etc, "link.conf")
    if not os.path.lexists(link):
        os.symlink(e.cfg, link)
    missing = os.path.join(etc, "missing.conf")
    for cfg in [unknown, badval, writable, link, missing]:
        run = e.drive(e.exact(cfg=cfg), u, ["123456"])
        check(run.ok() and run.module_rc == "PAM_AUTHINFO_UNAVAIL",
              f"config {os.path.basename(cfg)}: expected PAM_AUTHINFO_UNAVAIL: "
              + run.describe())


@case("prompt_option")
def t_prompt(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    run = e.drive(e.exact(raw=f"config={e.cfg} [prompt=One-time code: ]"), u, [totp(s)])
    expect(run, "PAM_SUCCESS")
    check(len(run.prompts) == 1 and run.prompts[0][0] and
          run.prompts[0][1].startswith("One-time code:"), "prompt= not used: " + run.describe())


@case("debug_option")
def t_debug(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    step_margin()
    expect(e.drive(e.exact("debug"), u, [totp(s)]), "PAM_SUCCESS", prompts=[(True, PROMPT)])


@case("sha256_enrolment")
def t_sha256(e):
    u = e.new_user()
    d = e.enrol(u, extra=["--algorithm", "sha256"])
    step_margin()
    expect(e.drive(e.exact(), u, [totp(d["secret"], algo="sha256")]), "PAM_SUCCESS")


@case("sha512_8_digit_enrolment")
def t_sha512(e):
    u = e.new_user()
    d = e.enrol(u, extra=["--algorithm", "sha512", "--digits", "8"])
    step_margin()
    code = totp(d["secret"], algo="sha512", digits=8)
    expect(e.drive(e.exact(), u, [code]), "PAM_SUCCESS")
    expect(e.drive(e.exact(), u, [code]), "PAM_AUTH_ERR")


@case("pam_start_confdir")
def t_confdir(e):
    # The same stack without pam_wrapper: libpam's own pam_start_confdir.
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact()
    env = e.drive_env()
    env.pop("PAM_WRAPPER", None)
    env.pop("PAM_WRAPPER_SERVICE_DIR", None)
    env["LD_PRELOAD"] = f"{e.asan_lib} libcrypt.so.1" if e.asan_lib else ""
    step_margin()
    run = e.drive(svc, u, [totp(s)], confdir=e.svc, env=env)
    expect(run, "PAM_SUCCESS", prompts=[(True, PROMPT)])


@case("app_passwords_option_ignores_non_app_password")
def t_app_ignore(e):
    u = e.new_user()
    s = e.enrol(u)["secret"]
    svc = e.exact("app_passwords")
    step_margin()
    expect(e.drive(svc, u, ["random-string"]), "PAM_IGNORE")
    expect(e.drive(svc, u, [e.password(u) + totp(s)]), "PAM_IGNORE")


@case("app_password_accepted_on_its_service_only")
def t_app_pw(e):
    u = e.new_user()
    e.enrol(u)
    imap = e.exact("app_passwords")
    other = e.exact("app_passwords")
    h = e.helper_run(["--help"])
    if not re.search(r"^\s+app-password\b", h.stdout, re.M):
        raise Skip("`pam-recover app-password` is not built")
    r = e.helper_run(["app-password", "add", "mail", "--service", imap, "--user", u],
                     json_out=True)
    check(r.returncode == 0, f"app-password add failed ({r.returncode}): {r.stderr}")
    data = json_merged(r.stdout)
    pw = data.get("password") or data.get("app_password")
    if not pw:
        m = re.search(r"\b([a-z2-9]{4}(?:-[a-z2-9]{4}){3})\b", r.stdout)
        pw = m.group(1) if m else None
    check(pw, f"no app password in the output: {r.stdout!r}")
    expect(e.drive(imap, u, [pw]), "PAM_SUCCESS")
    expect(e.drive(imap, u, [pw]), "PAM_SUCCESS")  # app passwords are reusable
    expect(e.drive(other, u, [pw]), "PAM_IGNORE")


# ---- imports ----

@case("import_oath_usersfile_then_login")
def t_import_oath(e):
    u1, u2, u3 = e.new_user(), e.new_user(), e.new_user()
    k1, k2, k3 = os.urandom(20).hex(), os.urandom(20).hex(), os.urandom(32).hex()
    path = os.path.join(e.tmp, "users.oath")
    write(path, "# pam_oath usersfile\n"
          f"HOTP/T30 {u1} - {k1}\n"
          f"HOTP/T30/6 {u2} - {k2} 0 123456 2024-01-01T00:00:00L\n"
          f"HOTP/T30/8\t{u3}\t-\t{k3}\n", 0o600)
    r = e.helper_run(["admin", "import-oath", path])
    check(r.returncode == 0, f"import-oath failed ({r.returncode}): {r.stderr}")
    svc = e.exact()
    c1 = totp(k1, hexkey=True)
    expect(e.drive(svc, u1, [c1]), "PAM_SUCCESS")
    expect(e.drive(svc, u2, [totp(k2, hexkey=True)]), "PAM_SUCCESS")
    expect(e.drive(svc, u3, [totp(k3, hexkey=True, digits=8)]), "PAM_SUCCESS")
    expect(e.drive(svc, u1, [c1]), "PAM_AUTH_ERR")  # replay


@case("import_oath_bad_line_imports_nothing")
def t_import_oath_bad(e):
    u1, u2 = e.new_user(), e.new_user()
    path = os.path.join(e.tmp, "bad.oath")
    write(path, f"HOTP/T30 {u1} - {os.urandom(20).hex()}\nHOTP/T30 {u2} - nothex!!\n", 0o600)
    r = e.helper_run(["admin", "import-oath", path])
    check(r.returncode != 0, "a bad usersfile was accepted")
    check(re.search(r"(line 2|:2\b)", r.stderr), f"no line number in: {r.stderr!r}")
    # all or nothing: u1 is not enrolled (nullok lets a non-enrolled user through: IGNORE)
    expect(e.drive(e.exact("nullok"), u1, []), "PAM_IGNORE")


@case("import_google_authenticator_then_login")
def t_import_ga(e):
    u = e.new_user()
    secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    scratch = [f"{int.from_bytes(os.urandom(4), 'big') % 90000000 + 10000000}" for _ in range(5)]
    path = os.path.join(e.tmp, "google_authenticator")
    write(path, secret + "\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n"
          "\" TOTP_AUTH\n" + "".join(c + "\n" for c in scratch), 0o600)
    r = e.helper_run(["admin", "import-google-authenticator", u, path])
    check(r.returncode == 0, f"import-google-authenticator failed ({r.returncode}): {r.stderr}")
    svc = e.exact()
    code = totp(secret)
    expect(e.drive(svc, u, [code]), "PAM_SUCCESS")
    expect(e.drive(svc, u, [code]), "PAM_AUTH_ERR")  # replay
    expect(e.drive(svc, u, [scratch[0]]), "PAM_SUCCESS")
    expect(e.drive(svc, u, [scratch[0]]), "PAM_AUTH_ERR")


# ---- concurrency ----

def race_once(e, svc, user, code, procs, rhosts=None, as_uid=None):
    """procs racers with the same answer (or code[i] per racer, given a list), released
    together; rhosts: PAM_RHOST per racer; as_uid: the racers run without root (through
    pam-recover-check)."""
    keep_mounts(e.tmp)
    # without root the wrappers reach pamdrive through env inside its own /tmp (private_tmp)
    env = e.drive_env() if as_uid is None else {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    rhosts = rhosts or [None] * procs
    codes = code if isinstance(code, list) else [code] * procs
    ps = []
    try:
        deadline = time.time() + 120
        # One racer at a time up to the gate: pam_wrapper picks its /tmp/pam.N directory by
        # lstat() then mkdir(), so two processes starting together can take the same one and
        # one of them exits 1 before main(). Past the gate they run together.
        for i in range(procs):
            p = subprocess.Popen(e.drive_cmd(svc, user, [codes[i]], gate=True, rhost=rhosts[i],
                                             as_uid=as_uid),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env)
            ps.append(p)
            line = b""
            while not line.endswith(b"\n"):
                left = deadline - time.time()
                r, _, _ = select.select([p.stdout], [], [], max(left, 0))
                if not r:
                    raise Fail("a racer never became ready")
                ch = os.read(p.stdout.fileno(), 1)  # unbuffered: select() sees the rest
                if not ch:
                    p.kill()
                    rc = p.wait()
                    raise Fail(f"a racer ended before the gate (status {rc}, output "
                                   f"{line!r}, stderr {p.stderr.read().decode()!r})")
                line += ch
            check(line == b"READY\n", f"unexpected racer output {line!r}")
        for p in ps:  # open the gate for all at once
            p.stdin.write(b"g")
            p.stdin.flush()
        runs = []
        for p in ps:
            out, err = p.communicate(timeout=120)
            runs.append(Run(p.returncode, out.decode(), err.decode(), "race"))
        return runs
    finally:
        for p in ps:
            if p.poll() is None:
                p.kill()
                p.wait()


@case("race_8_processes_same_code_exactly_one_wins", slow=True)
def t_race(e):
    reps, procs = e.args.race_reps, e.args.race_procs
    svc = e.exact()
    u = e.new_user()
    e.enrol(u)
    deadline = time.time() + e.args.race_budget
    done = 0
    for rep in range(reps):
        if time.time() > deadline:
            raise Fail(f"time budget {e.args.race_budget}s spent after {done} of {reps} rounds")
        s = e.enrol(u, extra=["--force"])["secret"]  # a fresh secret and state each round
        runs = race_once(e, svc, u, totp(s), procs)
        for r in runs:
            check(r.ok(), f"round {rep}: a racer failed: " + r.describe())
        rcs = [r.module_rc for r in runs]
        wins = rcs.count("PAM_SUCCESS")
        check(wins == 1, f"round {rep}: {wins} of {procs} accepted the same code: {rcs}")
        check(rcs.count("PAM_AUTH_ERR") == procs - 1,
              f"round {rep}: the losers must get PAM_AUTH_ERR (replay): {rcs}")
        done += 1
    return f"{done} rounds of {procs} processes: exactly one accepted each time"


@case("race_8_nonroot_processes_same_code_exactly_one_wins", slow=True)
def t_race_nonroot(e):
    # The same race without root: 8 processes of the user ask pam-recover-check at once.
    # Each round is 16 counted requests of this uid (enrolled, code), so the user changes
    # every round to stay under the check rate limit.
    if e.asan_lib or e.wrap:
        raise Skip("setuid back end under ASan/valgrind: covered by the normal build")
    installed_layout(e)
    procs = e.args.race_procs
    reps = min(e.args.race_reps, 20)
    svc = e.exact(raw="")
    for rep in range(reps):
        u, uid, _, s, _ = nonroot_user(e)
        runs = race_once(e, svc, u, totp(s), procs, as_uid=uid)
        for r in runs:
            check(r.ok(), f"round {rep}: a racer failed: " + r.describe())
        rcs = [r.module_rc for r in runs]
        check(rcs.count("PAM_SUCCESS") == 1 and rcs.count("PAM_AUTH_ERR") == procs - 1,
              f"round {rep}: not exactly one of {procs} accepted the same code: {rcs}")
    return f"{reps} rounds of {procs} processes without root: exactly one accepted each time"


@case("race_one_string_two_addresses_accepted_from_one_only", slow=True)
def t_race_reuse(e):
    # The reuse window accepts a string again from the address that used it first: 8
    # processes, 4 from each of two addresses, the same password+code at once. Every round:
    # all successes from one address (all 4 of them: the losers of the compare-and-set from
    # that address find the window), none from the other.
    reps = max(5, e.args.race_reps // 5)
    procs = 8
    svc = e.forward("reuse_window=120")
    u = e.new_user()
    e.enrol(u)
    deadline = time.time() + e.args.race_budget
    for rep in range(reps):
        if time.time() > deadline:
            raise Fail(f"time budget {e.args.race_budget}s spent after {rep} of {reps} rounds")
        s = e.enrol(u, extra=["--force"])["secret"]  # fresh secret, no window left
        hosts = ["192.0.2.1"] * 4 + ["192.0.2.2"] * 4
        typed = e.password(u) + totp(s)
        runs = race_once(e, svc, u, typed, procs, rhosts=hosts)
        for r in runs:
            check(r.ok(), f"round {rep}: a racer failed: " + r.describe())
        won = {h for h, r in zip(hosts, runs) if r.auth == "PAM_SUCCESS"}
        check(len(won) == 1, f"round {rep}: accepted from {sorted(won) or 'no address'}: "
              f"{[(h, r.auth) for h, r in zip(hosts, runs)]}")
        wins = [r.auth for h, r in zip(hosts, runs) if h in won]
        check(wins.count("PAM_SUCCESS") == 4,
              f"round {rep}: the winning address got {wins}, wanted 4 successes")
    return f"{reps} rounds of 4+4 processes: accepted from one address only, all 4 of it"


@case("race_8_logins_one_address_all_pass_even_with_deny_1", slow=True)
def t_race_reuse_deny(e):
    # A mail client opening 8 connections at once with one stored string: all pass, even
    # with deny=1 (the attempts of a window run one after the other, so none is counted as
    # a failure while the first is still deciding).
    reps = max(5, e.args.race_reps // 5)
    svc = e.forward("reuse_window=120", "deny=1")
    u = e.new_user()
    e.enrol(u)
    for rep in range(reps):
        s = e.enrol(u, extra=["--force"])["secret"]
        typed = e.password(u) + totp(s)
        runs = race_once(e, svc, u, typed, 8, rhosts=["192.0.2.5"] * 8)
        for r in runs:
            check(r.ok(), f"round {rep}: a racer failed: " + r.describe())
        rcs = [r.auth for r in runs]
        check(rcs.count("PAM_SUCCESS") == 8, f"round {rep}: {rcs}")
    return f"{reps} rounds of 8 processes from one address: all accepted"


# ---- several authenticator devices per user ----

def add_device(e, u, name, extra=()):
    """`admin enrol USER --device NAME`: the device's base32 secret."""
    r = e.helper_run(["admin", "enrol", u, "--device", name] + list(extra), json_out=True)
    check(r.returncode == 0, f"admin enrol {u} --device {name}: {r.returncode} {r.stderr}")
    d = json_merged(r.stdout)
    check(d.get("device") == name, f"admin enrol --device printed {d}")
    return d["secret"].replace(" ", "")


@case("devices_two_devices_each_code_once")
def t_dev_two(e):
    u = e.new_user()
    phone = add_device(e, u, "phone")
    tablet = add_device(e, u, "tablet")
    svc = e.exact()
    step_margin()
    now = time.time()
    cp, ct = totp(phone, now=now), totp(tablet, now=now)
    check(cp != ct, "the two devices made the same code (retry)")
    log = os.path.join(e.tmp, f"log-{u}")
    expect(e.drive(svc, u, [cp], log=log), "PAM_SUCCESS")
    check(f"user {u}: accepted (valid code) device phone" in logged(log),
          f"the log does not name the device: {logged(log)!r}")
    # the same step from the other device: its own code, accepted once too
    expect(e.drive(svc, u, [ct]), "PAM_SUCCESS")
    expect(e.drive(svc, u, [cp]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [ct]), "PAM_AUTH_ERR")


@case("devices_replay_is_per_device")
def t_dev_replay(e):
    """A code of one device never consumes another's: after the phone's code of this step,
    the tablet's code of the previous step (inside window=1) is still new for the tablet
    (one last step per user would refuse it as older)."""
    u = e.new_user()
    phone = add_device(e, u, "phone")
    tablet = add_device(e, u, "tablet")
    svc = e.exact("window=1")
    step_margin()
    now = time.time()
    expect(e.drive(svc, u, [totp(phone, now=now)]), "PAM_SUCCESS")
    expect(e.drive(svc, u, [totp(tablet, -30, now=now)]), "PAM_SUCCESS")
    # each device's own replay state still holds: the tablet's older step now refused
    expect(e.drive(svc, u, [totp(tablet, -30, now=now)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(phone, -30, now=now)]), "PAM_AUTH_ERR")


@case("devices_race_two_devices_one_winner_each", slow=True)
def t_dev_race(e):
    """8 processes at once, 4 with the phone's code and 4 with the tablet's code of the same
    step: each device's code is accepted exactly once (its own compare-and-set), and neither
    consumes the other's, every round."""
    reps = max(5, e.args.race_reps // 10)
    procs = 8
    svc = e.exact()
    for rep in range(reps):
        u = e.new_user()
        phone = add_device(e, u, "phone")
        tablet = add_device(e, u, "tablet")
        step_margin(10)
        now = time.time()
        cp, ct = totp(phone, now=now), totp(tablet, now=now)
        if cp == ct:  # one chance in a million: both devices' racers would share one code
            continue
        runs = race_once(e, svc, u, [cp, ct] * (procs // 2), procs)
        for r in runs:
            check(r.ok(), f"round {rep}: a racer failed: " + r.describe())
        rcs = [r.module_rc for r in runs]
        for name, got in (("phone", rcs[0::2]), ("tablet", rcs[1::2])):
            check(got.count("PAM_SUCCESS") == 1 and got.count("PAM_AUTH_ERR") == len(got) - 1,
                  f"round {rep}: the {name}'s code was not accepted exactly once: {rcs}")
    return f"{reps} rounds of 4+4 processes on two devices: one winner per device each time"


@case("devices_failures_and_lock_stay_per_user")
def t_dev_lock(e):
    u = e.new_user()
    phone = add_device(e, u, "phone")
    tablet = add_device(e, u, "tablet")
    svc = e.exact("deny=2", "unlock_time=900")
    lock_user(e, svc, u, phone, 2)
    step_margin()
    now = time.time()
    # locked for every device: a right code of the other device does not unlock
    run = e.drive(svc, u, [totp(tablet, now=now)])
    expect(run, "PAM_AUTH_ERR")
    check(run.errors and run.errors[0].startswith("Too many wrong codes"),
          "the tablet's code passed the lock: " + run.describe())
    r = e.helper_run(["admin", "unlock", u])
    check(r.returncode == 0, f"admin unlock: {r.stderr}")
    # a wrong code, then a right one of either device resets the user's one count
    expect(e.drive(svc, u, [wrong_code(phone)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(tablet, now=now)]), "PAM_SUCCESS")
    expect(e.drive(svc, u, [wrong_code(phone)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(phone, now=now)]), "PAM_SUCCESS")


@case("devices_removed_device_refused")
def t_dev_removed(e):
    u = e.new_user()
    phone = add_device(e, u, "phone")
    tablet = add_device(e, u, "tablet")
    r = e.helper_run(["admin", "remove-device", u, "tablet"], json_out=True)
    check(r.returncode == 0, f"admin remove-device: {r.returncode} {r.stderr}")
    d = json_merged(r.stdout)
    check(d.get("devices_left") == 1 and d.get("totp_enabled") is True, f"removed: {d}")
    svc = e.exact()
    step_margin()
    now = time.time()
    expect(e.drive(svc, u, [totp(tablet, now=now)]), "PAM_AUTH_ERR")
    expect(e.drive(svc, u, [totp(phone, now=now)]), "PAM_SUCCESS")
    # the last device gone: 2FA off, nothing left to accept
    r = e.helper_run(["admin", "remove-device", u, "phone"])
    check(r.returncode == 0, f"admin remove-device (last): {r.returncode} {r.stderr}")
    expect(e.drive(e.exact("nullok"), u, [totp(phone, 30, now=now)]), "PAM_IGNORE")
    expect(e.drive(svc, u, [totp(phone, 30, now=now)]), "PAM_AUTH_ERR")


@case("devices_removal_ends_the_reuse_window")
def t_dev_reuse(e):
    u = e.new_user()
    phone = add_device(e, u, "phone")
    tablet = add_device(e, u, "tablet")
    svc = e.forward("reuse_window=120")
    step_margin(10)
    typed = e.password(u) + totp(tablet)
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_SUCCESS", exact=False)
    r = e.helper_run(["admin", "remove-device", u, "tablet"])
    check(r.returncode == 0, f"admin remove-device: {r.returncode} {r.stderr}")
    expect(e.drive(svc, u, [typed], rhost="192.0.2.7"), "PAM_AUTH_ERR", exact=False)
    expect(e.drive(svc, u, [e.password(u) + totp(phone)], rhost="192.0.2.7"), "PAM_SUCCESS",
           exact=False)


UPGRADE = os.path.join(HERE, "..", "upgrade")


@case("devices_store_of_release_0_1_0_upgraded")
def t_dev_upgrade(e):
    """A store written by release 0.1.0 (tests/upgrade, SQL text) opens with this build: each
    enrolment is the device `default`, its codes work, the replay step carried over."""
    d = os.path.join(e.tmp, "upgrade-0.1.0")
    os.makedirs(d, mode=0o700)
    db, key = os.path.join(d, "state.db"), os.path.join(d, "pam_recover.key")
    import sqlite3
    con = sqlite3.connect(db)
    with open(os.path.join(UPGRADE, "store-0.1.0-sqlite.sql")) as f:
        con.executescript(f.read())
    con.close()
    os.chmod(db, 0o600)
    with open(os.path.join(UPGRADE, "store-0.1.0.key.hex")) as f:
        raw = bytes.fromhex(f.read().strip())
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    os.write(fd, raw)
    os.close(fd)
    cfg = e.write_config(os.path.join(d, "pam_recover.conf"), store=db, key=key)
    alice = "3132333435363738393031323334353637383930"
    bob = alice + "313233343536373839303132"
    svc = e.exact(cfg=cfg)
    step_margin()
    now = time.time()
    ca = totp(alice, hexkey=True, now=now)
    expect(e.drive(svc, "alice@example.org", [ca]), "PAM_SUCCESS")
    expect(e.drive(svc, "alice@example.org", [ca]), "PAM_AUTH_ERR")
    expect(e.drive(svc, "bob@example.org", [totp(bob, hexkey=True, digits=8, now=now)]),
           "PAM_SUCCESS")
    con = sqlite3.connect(db)
    ver = con.execute("PRAGMA user_version").fetchone()[0]
    rows = con.execute("SELECT username, device FROM totp ORDER BY 1").fetchall()
    con.close()
    check(ver == 7, f"schema version {ver} after the upgrade")
    check(rows == [("alice@example.org", "default"), ("bob@example.org", "default")],
          f"devices after the upgrade: {rows}")
    r = e.helper_run(["admin", "show", "alice@example.org"], cfg=cfg, json_out=True)
    check(r.returncode == 0, f"admin show: {r.returncode} {r.stderr}")
    show = json_merged(r.stdout)
    devs = show.get("devices", [])
    check(show.get("totp_enabled") is True and len(devs) == 1 and devs[0]["name"] == "default"
          and devs[0]["last_used"] is not None, f"admin show after the upgrade: {show}")


# --------------------------------------------------------------------------------------------
# runner

def enter_namespace_etc(tmp):
    """Make /etc writable for test users in this mount namespace only: an overlay of /etc with
    its upper layer on a tmpfs. Where overlayfs is not available, copies of passwd, group and
    shadow are bound over the real ones (keep_mounts re-binds them should the host replace a
    file by rename, which detaches such a bind)."""
    ovl = os.path.join(tmp, "ovl")
    os.makedirs(ovl, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", ovl], check=True,
                       capture_output=True)
        for d in ("upper", "work"):
            os.makedirs(os.path.join(ovl, d))
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir=/etc,upperdir={ovl}/upper,workdir={ovl}/work", "/etc"],
                       check=True, capture_output=True)
        return
    except subprocess.CalledProcessError:
        pass
    global BIND_MODE
    BIND_MODE = True
    nss = os.path.join(tmp, "nss")
    os.makedirs(nss, exist_ok=True)
    for f, mode in (("passwd", 0o644), ("group", 0o644), ("shadow", 0o640)):
        shutil.copyfile(f"/etc/{f}", os.path.join(nss, f))
        os.chmod(os.path.join(nss, f), mode)
    keep_mounts(tmp)


BIND_MODE = False


def keep_mounts(tmp):
    if not BIND_MODE:
        return
    for f in ("passwd", "group", "shadow"):
        mine, real = os.stat(os.path.join(tmp, "nss", f)), os.stat(f"/etc/{f}")
        if (mine.st_dev, mine.st_ino) != (real.st_dev, real.st_ino):
            subprocess.run(["mount", "--bind", os.path.join(tmp, "nss", f), f"/etc/{f}"],
                           check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=None,
                    help="the build directory (default: $top_builddir, from make check)")
    ap.add_argument("--asan", action="store_true", help="the build is ASan+UBSan")
    ap.add_argument("--wrap", default="", help="prefix for every pamdrive run (valgrind ...)")
    ap.add_argument("--race-reps", type=int, default=100)
    ap.add_argument("--race-procs", type=int, default=8)
    ap.add_argument("--race-budget", type=int, default=900, help="seconds for the race case")
    ap.add_argument("--no-slow", action="store_true", help="leave out the race cases")
    ap.add_argument("--slow-only", default=None, metavar="REGEX",
                    help="of the race cases, run only those whose NAME matches")
    ap.add_argument("--shard", default="0/1", metavar="K/N",
                    help="run only every Nth case from the Kth (0-based), for N runs at once")
    ap.add_argument("--only", default=None,
                    help="run only cases whose pam/NAME matches this regex (as RC_TEST_ONLY)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    m = re.fullmatch(r"(\d+)/(\d+)", args.shard)
    if not m or not int(m.group(1)) < int(m.group(2)):
        ap.error("--shard K/N: 0 <= K < N")
    shard = (int(m.group(1)), int(m.group(2)))
    # Run by make check (no --build): automake's "skipped" (77) when nothing could run;
    # by tests/pam/run: 0 then, as the pam layer of scripts/test-all counts it.
    automake = args.build is None
    args.build = args.build or os.environ.get("top_builddir")

    global MARGIN
    if args.wrap:
        MARGIN = 12.0
    if args.list:
        for name, _, slow in CASES:
            print(name + (" (slow)" if slow else ""))
        return 0
    if not args.build:
        ap.error("--build BUILDDIR (or top_builddir in the environment) is needed")

    if os.environ.get("PAMTEST_IN_NS") != "1":
        if automake and os.environ.get("RC_TEST_PAM_LAYER") == "1":
            print("SKIP: pam/all: run by the pam layer of scripts/test-all (RC_TEST_PAM_LAYER=1)")
            return 77
        if os.geteuid() != 0:
            print("SKIP: pam/all: the real-libpam tests need root (a private mount namespace "
                  "for test users, and pam-recover --config is root only)")
            return 77 if automake else 0
        build = os.path.abspath(args.build)
        for f in (os.path.join(build, ".libs", "pam_recover.so"),
                  os.path.join(build, "pam-recover")):
            if not os.path.exists(f):
                print(f"FAIL: pam/build: {f} is missing (build first: bash scripts/build)")
                return 1
        tmp = tempfile.mkdtemp(prefix="pam_recover-pamtest.")
        os.chmod(tmp, 0o700)
        env = dict(os.environ, PAMTEST_IN_NS="1", PAMTEST_TMP=tmp)
        try:
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "--",
                                sys.executable] + sys.argv, env=env)
            return r.returncode
        finally:
            if args.keep:
                print(f"(kept {tmp})")
            else:
                shutil.rmtree(tmp, ignore_errors=True)

    tmp = os.environ["PAMTEST_TMP"]
    enter_namespace_etc(tmp)
    e = Env(args)
    try:
        e.setup()
    except (Fail, SystemExit, subprocess.SubprocessError, OSError) as ex:
        print(f"FAIL: pam/setup: {ex}")
        return 1
    slow = False if args.no_slow else (args.slow_only or True)
    rc = run_cases("pam", args=(e,), include_slow=slow, pattern=args.only, exit=False,
                   timed=True, shard=shard)
    return rc if automake or rc != 77 else 0


if __name__ == "__main__":
    sys.exit(main())
