#!/usr/bin/python3
"""
The enforcement date through the real libpam: pam_wrapper + pypamtest (python3-pypamtest),
with nss_wrapper for the test users and pam_matrix for their passwords.

With nullok and enforce_after in the future (or today), a user without 2-step verification
passes (the module returns PAM_IGNORE, and the rest of the stack lets the login through) and
is told "enable 2-step verification with `pam-recover enable` before ..."; with enforce_after
in the past the same user is asked for a code and refused (PAM_AUTH_ERR). An enrolled user
is never told, and PAM_SILENT keeps the message back.

Runs as root (the module opens the store directly, as in sshd); skipped otherwise.
Env: top_builddir (default ../.. of this file). Output: "ok - ..." / "FAIL - ...", the
last line "N passed, N failed".
"""
import datetime
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("top_builddir", os.path.join(HERE, "..", "..")))
MODULE = os.path.join(BUILD, ".libs", "pam_recover.so")
HELPER = os.path.join(BUILD, "pam-recover")
USER_NEW, USER_ENROLLED = "gracenew", "graceold@example.org"  # a virtual user: admin enrol takes it
PASSWORD = "correct horse"
MESSAGE = "enable 2-step verification with `pam-recover enable` before"
PAM_SUCCESS, PAM_AUTH_ERR, PAM_SILENT = 0, 7, 0x8000


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def find(pattern):
    hits = sorted(glob.glob(pattern))
    return hits[0] if hits else None


def setup():
    """Create the sandbox and re-run this file under pam_wrapper and nss_wrapper."""
    if os.geteuid() != 0:
        skip("needs root (the module opens the store as root)")
    for f in (MODULE, HELPER):
        if not os.path.exists(f):
            print(f"FAIL - {f} is not built")
            sys.exit(1)
    matrix = find("/usr/lib/*/pam_wrapper/pam_matrix.so")
    pwlib = find("/usr/lib/*/libpam_wrapper.so")
    nsslib = find("/usr/lib/*/libnss_wrapper.so")
    if not (matrix and pwlib and nsslib):
        skip("needs libpam-wrapper and libnss-wrapper")
    try:
        import pypamtest  # noqa: F401  (only checking it is there)
    except ImportError:
        skip("needs python3-pypamtest")
    tmp = tempfile.mkdtemp(prefix="pam-recover-enforce.")
    os.chmod(tmp, 0o700)
    svc = os.path.join(tmp, "svc")
    os.makedirs(svc)
    with open(os.path.join(tmp, "passwd"), "w") as f:
        f.write(f"{USER_NEW}:x:61501:61501:grace test:/nonexistent:/bin/sh\n")
    with open(os.path.join(tmp, "group"), "w") as f:
        f.write(f"{USER_NEW}:x:61501:\n")
    with open(os.path.join(tmp, "passdb"), "w") as f:
        f.write(f"{USER_NEW}:{PASSWORD}:*\n{USER_ENROLLED}:{PASSWORD}:*\n")
    with open(os.path.join(svc, "other"), "w") as f:
        f.write("auth required pam_deny.so\naccount required pam_deny.so\n"
                "password required pam_deny.so\nsession required pam_deny.so\n")
    cfg = write_config(tmp, "base", "")
    r = subprocess.run([HELPER, "--config", cfg, "admin", "init"], capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin"})
    if r.returncode != 0:
        print(f"FAIL - admin init: {r.stderr}")
        sys.exit(1)
    r = subprocess.run([HELPER, "--config", cfg, "admin", "enrol", USER_ENROLLED],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    if r.returncode != 0:
        print(f"FAIL - admin enrol: {r.stderr}")
        sys.exit(1)
    write_services(tmp, matrix)
    # A sanitizer build of the module needs its runtime first (and libcrypt for ASan's
    # crypt interceptor); leaks of the Python interpreter itself are not ours to report.
    asan = subprocess.run(["ldd", MODULE], capture_output=True, text=True).stdout
    asan_lib = next((l.split()[2] for l in asan.splitlines() if "libasan" in l), "")
    preload = f"{asan_lib} libcrypt.so.1 {pwlib} {nsslib}" if asan_lib else f"{pwlib} {nsslib}"
    env = dict(os.environ, LD_PRELOAD=preload, PAM_WRAPPER="1",
               PAM_WRAPPER_DISABLE_DEEPBIND="1",  # else the module's getpwnam skips nss_wrapper
               PAM_WRAPPER_SERVICE_DIR=svc, NSS_WRAPPER_PASSWD=os.path.join(tmp, "passwd"),
               NSS_WRAPPER_GROUP=os.path.join(tmp, "group"), ENFORCE_TMP=tmp)
    if asan_lib:
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    try:
        return subprocess.run([sys.executable, os.path.abspath(__file__)], env=env).returncode
    finally:
        if not os.environ.get("ENFORCE_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def write_config(tmp, name, extra):
    path = os.path.join(tmp, f"{name}.conf")
    with open(path, "w") as f:
        f.write(f"store = sqlite:{tmp}/state/state.db\nkey_file = {tmp}/key\n{extra}")
    os.chmod(path, 0o600)
    return path


def dates():
    """The module compares enforce_after with the local date, as datetime.date does here."""
    today = datetime.date.today()
    return {"future": (today + datetime.timedelta(days=30)).isoformat(),
            "today": today.isoformat(),
            "past": (today - datetime.timedelta(days=1)).isoformat(), "none": None}


# Service name -> (enforce_after key of dates(), nullok). Written before pam_wrapper starts:
# it copies the service directory when it is loaded.
SERVICES = {"future": ("future", True), "today": ("today", True), "past": ("past", True),
            "nodate": ("none", True), "nonullok": ("future", False), "forward": ("future", True)}


def write_services(tmp, matrix):
    """password (pam_matrix), then the module; PAM_IGNORE lets pam_permit decide. "forward":
    the module with split_pass first (one field, as for Dovecot), then pam_get_items, which
    shows what the password module after it would take as PAM_AUTHTOK."""
    d = dates()
    items = os.path.join(os.path.dirname(matrix), "pam_get_items.so")
    for name, (when, nullok) in SERVICES.items():
        extra = (f"enforce_after = {d[when]}\n" if d[when] else "") + \
            ("nullok = yes\n" if nullok else "")
        cfg = write_config(tmp, name, extra)
        with open(os.path.join(tmp, "svc", name), "w") as f:
            if name == "forward":
                f.write(f"auth required {MODULE} config={cfg} split_pass\n"
                        f"auth required {items}\n")
            else:
                f.write(f"auth required {matrix} passdb={tmp}/passdb\n"
                        f"auth required {MODULE} config={cfg}\n")
            f.write("auth required pam_permit.so\naccount required pam_permit.so\n")


class Cases:
    def __init__(self):
        import pypamtest
        self.p = pypamtest
        self.tmp = os.environ["ENFORCE_TMP"]
        self.passed = self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok - {what}")
        else:
            self.failed += 1
            print(f"FAIL - {what}{': ' + detail if detail else ''}")

    def login(self, service, user, want, answers, flags=0):
        """Run pam_authenticate; returns (matched, info messages, error text)."""
        tc = self.p.TestCase(self.p.PAMTEST_AUTHENTICATE, want, flags)
        try:
            res = self.p.run_pamtest(user, service, [tc], list(answers))
            return True, list(res.info), ""
        except self.p.PamTestError as e:
            return False, [], str(e)

    def run(self):
        d = dates()

        ok, info, err = self.login("future", USER_NEW, PAM_SUCCESS, [PASSWORD])
        self.check(ok, "enforce_after in the future: a user without 2FA passes on the password",
                   err)
        msg = [m for m in info if MESSAGE in m]
        self.check(len(msg) == 1 and d["future"] in msg[0],
                   "... and is told to enable 2-step verification before the date", repr(info))

        ok, info, err = self.login("future", USER_NEW, PAM_SUCCESS, [PASSWORD],
                                   flags=PAM_SILENT)
        self.check(ok and not any(MESSAGE in m for m in info),
                   "PAM_SILENT: the same login passes without the message", err or repr(info))

        ok, info, err = self.login("future", USER_ENROLLED, PAM_AUTH_ERR, [PASSWORD, "000000"])
        self.check(ok and not any(MESSAGE in m for m in info),
                   "an enrolled user is asked for the code and is not told", err or repr(info))

        ok, info, err = self.login("today", USER_NEW, PAM_SUCCESS, [PASSWORD])
        self.check(ok and any(MESSAGE in m for m in info),
                   "enforce_after today: still the grace period (nullok ends after the day)",
                   err or repr(info))

        ok, info, err = self.login("past", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
        self.check(ok, "enforce_after in the past: the same user is refused (PAM_AUTH_ERR)", err)
        self.check(not any(MESSAGE in m for m in info),
                   "... and gets no grace-period message", repr(info))

        ok, info, err = self.login("nodate", USER_NEW, PAM_SUCCESS, [PASSWORD])
        self.check(ok and not any(MESSAGE in m for m in info),
                   "nullok without enforce_after: passes, no date to announce", err or repr(info))

        ok, info, err = self.login("nonullok", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
        self.check(ok and not any(MESSAGE in m for m in info),
                   "enforce_after without nullok: refused, no message", err or repr(info))

        auth = self.p.TestCase(self.p.PAMTEST_AUTHENTICATE, PAM_SUCCESS)
        env = self.p.TestCase(self.p.PAMTEST_GETENVLIST, PAM_SUCCESS)
        try:
            self.p.run_pamtest(USER_NEW, "forward", [auth, env], [PASSWORD])
            got, err = env.pam_env.get("PAM_AUTHTOK"), ""
        except self.p.PamTestError as e:
            got, err = None, str(e)
        self.check(got == PASSWORD, "split_pass + nullok: the password is asked for and left "
                   "in PAM_AUTHTOK for the next module (use_first_pass)", err or repr(got))

        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


if __name__ == "__main__":
    if "ENFORCE_TMP" not in os.environ:
        sys.exit(setup())
    sys.exit(Cases().run())
