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
skipped"; RC_TEST_ONLY=REGEX selects the cases whose "enforce/NAME" it matches.
"""
import datetime
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from rctest import (Skip, case, check, pam_wrapper_parts, rerun_under_pam_wrapper,  # noqa: E402
                    run_cases, write)
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


def login(service, user, want, answers, flags=0):
    """Run pam_authenticate; returns (matched, info messages, error text)."""
    import pypamtest as p
    tc = p.TestCase(p.PAMTEST_AUTHENTICATE, want, flags)
    try:
        res = p.run_pamtest(user, service, [tc], list(answers))
        return True, list(res.info), ""
    except p.PamTestError as e:
        return False, [], str(e)


@case("future_date_user_without_2fa_passes_on_the_password")
def t_future():
    ok, info, err = login("future", USER_NEW, PAM_SUCCESS, [PASSWORD])
    check(ok, err)


@case("future_date_user_told_to_enable_before_the_date")
def t_future_told():
    ok, info, err = login("future", USER_NEW, PAM_SUCCESS, [PASSWORD])
    msg = [m for m in info if MESSAGE in m]
    check(len(msg) == 1 and dates()["future"] in msg[0], repr(info))


@case("pam_silent_passes_without_the_message")
def t_silent():
    ok, info, err = login("future", USER_NEW, PAM_SUCCESS, [PASSWORD], flags=PAM_SILENT)
    check(ok and not any(MESSAGE in m for m in info), err or repr(info))


@case("enrolled_user_asked_for_the_code_not_told")
def t_enrolled():
    ok, info, err = login("future", USER_ENROLLED, PAM_AUTH_ERR, [PASSWORD, "000000"])
    check(ok and not any(MESSAGE in m for m in info), err or repr(info))


@case("today_still_the_grace_period")
def t_today():
    # nullok ends after the day
    ok, info, err = login("today", USER_NEW, PAM_SUCCESS, [PASSWORD])
    check(ok and any(MESSAGE in m for m in info), err or repr(info))


@case("past_date_user_without_2fa_refused")
def t_past():
    ok, info, err = login("past", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
    check(ok, err)


@case("past_date_no_grace_period_message")
def t_past_quiet():
    ok, info, err = login("past", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
    check(not any(MESSAGE in m for m in info), repr(info))


@case("nullok_without_date_passes_no_message")
def t_nodate():
    ok, info, err = login("nodate", USER_NEW, PAM_SUCCESS, [PASSWORD])
    check(ok and not any(MESSAGE in m for m in info), err or repr(info))


@case("date_without_nullok_refused_no_message")
def t_nonullok():
    ok, info, err = login("nonullok", USER_NEW, PAM_AUTH_ERR, [PASSWORD, "123456"])
    check(ok and not any(MESSAGE in m for m in info), err or repr(info))


@case("split_pass_nullok_password_left_in_authtok")
def t_forward():
    # split_pass + nullok: the password is asked for and left in PAM_AUTHTOK for the next
    # module (use_first_pass)
    import pypamtest as p
    auth = p.TestCase(p.PAMTEST_AUTHENTICATE, PAM_SUCCESS)
    env = p.TestCase(p.PAMTEST_GETENVLIST, PAM_SUCCESS)
    try:
        p.run_pamtest(USER_NEW, "forward", [auth, env], [PASSWORD])
        got, err = env.pam_env.get("PAM_AUTHTOK"), ""
    except p.PamTestError as e:
        got, err = None, str(e)
    check(got == PASSWORD, err or repr(got))


if __name__ == "__main__":
    if "ENFORCE_TMP" not in os.environ:
        sys.exit(setup())
    run_cases("enforce")
