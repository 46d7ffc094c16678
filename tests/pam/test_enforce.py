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
Env: top_builddir (default ../.. of this file). Output (tests/lib/rctest.py): "PASS:
enforce/..." or "FAIL: enforce/...: why", the last line "enforce: N passed, N failed, N
skipped"; RC_TEST_ONLY=REGEX selects the checks whose "enforce/NAME" it matches.
"""
import datetime
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from rctest import Checks, Skip, pam_wrapper_parts, rerun_under_pam_wrapper, write  # noqa: E402
BUILD = os.path.abspath(os.environ.get("top_builddir", os.path.join(HERE, "..", "..")))
MODULE = os.path.join(BUILD, ".libs", "pam_recover.so")
HELPER = os.path.join(BUILD, "pam-recover")
USER_NEW, USER_ENROLLED = "gracenew", "graceold@example.org"  # a virtual user: admin enrol takes it
PASSWORD = "correct horse"
MESSAGE = "enable 2-step verification with `pam-recover enable` before"
PAM_SUCCESS, PAM_AUTH_ERR, PAM_SILENT = 0, 7, 0x8000


def setup():
    """Create the sandbox and re-run this file under pam_wrapper and nss_wrapper."""
    if os.geteuid() != 0:
        print("SKIP: enforce/all: needs root (the module opens the store as root)")
        return 77
    for f in (MODULE, HELPER):
        if not os.path.exists(f):
            print(f"FAIL: enforce/build: {f} is not built")
            return 1
    try:
        matrix, _, _ = pam_wrapper_parts()
    except Skip as why:
        print(f"SKIP: enforce/all: {why}")
        return 77
    tmp = tempfile.mkdtemp(prefix="pam-recover-enforce.")
    os.chmod(tmp, 0o700)
    svc = os.path.join(tmp, "svc")
    os.makedirs(svc)
    write(os.path.join(tmp, "passwd"),
          f"{USER_NEW}:x:61501:61501:grace test:/nonexistent:/bin/sh\n", 0o644)
    write(os.path.join(tmp, "group"), f"{USER_NEW}:x:61501:\n", 0o644)
    write(os.path.join(tmp, "passdb"), f"{USER_NEW}:{PASSWORD}:*\n{USER_ENROLLED}:{PASSWORD}:*\n",
          0o644)
    write(os.path.join(svc, "other"), "auth required pam_deny.so\naccount required pam_deny.so\n"
          "password required pam_deny.so\nsession required pam_deny.so\n", 0o644)
    cfg = write_config(tmp, "base", "")
    r = subprocess.run([HELPER, "--config", cfg, "admin", "init"], capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin"})
    if r.returncode != 0:
        print(f"FAIL: enforce/setup: admin init: {r.stderr}")
        return 1
    r = subprocess.run([HELPER, "--config", cfg, "admin", "enrol", USER_ENROLLED],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    if r.returncode != 0:
        print(f"FAIL: enforce/setup: admin enrol: {r.stderr}")
        return 1
    write_services(tmp, matrix)
    return rerun_under_pam_wrapper(__file__, MODULE, tmp, svc, "ENFORCE_TMP", "ENFORCE_KEEP")


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


class Cases(Checks):
    def __init__(self):
        import pypamtest
        super().__init__("enforce")
        self.p = pypamtest
        self.tmp = os.environ["ENFORCE_TMP"]

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
        self.check(ok, "future_date_user_without_2fa_passes_on_the_password",
                   err)
        msg = [m for m in info if MESSAGE in m]
        self.check(len(msg) == 1 and d["future"] in msg[0],
                   "future_date_user_told_to_enable_before_the_date", repr(info))

        ok, info, err = self.login("future", USER_NEW, PAM_SUCCESS, [PASSWORD],
                                   flags=PAM_SILENT)
        self.check(ok and not any(MESSAGE in m for m in info),
                   "pam_silent_passes_without_the_message", err or repr(info))

        ok, info, err = self.login("future", USER_ENROLLED, PAM_AUTH_ERR, [PASSWORD, "000000"])
        self.check(ok and not any(MESSAGE in m for m in info),
                   "enrolled_user_asked_for_the_code_not_told", err or repr(info))

        ok, info, err = self.login("today", USER_NEW, PAM_SUCCESS, [PASSWORD])
        self.check(ok and any(MESSAGE in m for m in info),
                   "today_still_the_grace_period",
                   err or repr(info))

        ok, info, err = self.login("past", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
        self.check(ok, "past_date_user_without_2fa_refused", err)
        self.check(not any(MESSAGE in m for m in info),
                   "past_date_no_grace_period_message", repr(info))

        ok, info, err = self.login("nodate", USER_NEW, PAM_SUCCESS, [PASSWORD])
        self.check(ok and not any(MESSAGE in m for m in info),
                   "nullok_without_date_passes_no_message", err or repr(info))

        ok, info, err = self.login("nonullok", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
        self.check(ok and not any(MESSAGE in m for m in info),
                   "date_without_nullok_refused_no_message", err or repr(info))

        auth = self.p.TestCase(self.p.PAMTEST_AUTHENTICATE, PAM_SUCCESS)
        env = self.p.TestCase(self.p.PAMTEST_GETENVLIST, PAM_SUCCESS)
        try:
            self.p.run_pamtest(USER_NEW, "forward", [auth, env], [PASSWORD])
            got, err = env.pam_env.get("PAM_AUTHTOK"), ""
        except self.p.PamTestError as e:
            got, err = None, str(e)
        # split_pass + nullok: the password is asked for and left in PAM_AUTHTOK for the
        # next module (use_first_pass)
        self.check(got == PASSWORD, "split_pass_nullok_password_left_in_authtok",
                   err or repr(got))

        return self.done()


if __name__ == "__main__":
    if "ENFORCE_TMP" not in os.environ:
        sys.exit(setup())
    sys.exit(Cases().run())
