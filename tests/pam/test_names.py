#!/usr/bin/python3
"""
One user, one name: through the real libpam (pam_wrapper + pypamtest, nss_wrapper for a local
test user, pam_matrix as the password module) and through the real helper.

The password module here stands in for a case-insensitive back end (Dovecot's SQL passdb,
LDAP, SSSD): pam_matrix's passdb holds the same password for every spelling of the name. The
stack is a rollout stack (password, then the module with nullok), where a name the module
does not know as enrolled passes on the password alone. With bob@example.com enrolled:

- BOB@example.com (and Bob@Example.COM) are asked for a code and never pass without one of
  bob's codes; bob's codes pass under every spelling, and a code used under one spelling is a
  replay under another (one replay counter, one failure count);
- user_name_case = exact keeps names as typed (the documented trade-off: then BOB@example.com
  is another, unenrolled name);
- user_name_case = insensitive also folds plain names (DAEMON is daemon); the default (auto)
  refuses an upper-case plain name as malformed, as before;
- the helper's verbs find bob under either spelling: `check` (the module's back end),
  `admin show`, `admin unlock`, `admin set-contact`, `admin audit`, `status --user`, and the
  name step of `reset --json`; `admin enrol BOB@example.com` is refused as already enrolled;
- a store written before names were canonical (a row under Bob@Example.com) makes the login
  of bob@example.com fail closed (PAM_AUTHINFO_UNAVAIL, never PAM_IGNORE) until
  `pam-recover admin canonicalise-names` has moved the row (and `admin doctor` names that
  command until then); the command refuses, changing nothing, when two spellings collide.

Runs as root (the module opens the store directly); skipped otherwise.
Env: top_builddir (default ../.. of this file). Output (tests/lib/rctest.py): "PASS:
names/..." or "FAIL: names/...: why", the last line "names: N passed, N failed, N skipped";
RC_TEST_ONLY=REGEX selects the checks whose "names/NAME" it matches (the checks build on each
other's state, so every step still runs; only the selected ones are reported).
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from rctest import (Checks, Skip, json_objects, oathtool, pam_wrapper_parts,  # noqa: E402
                    rerun_under_pam_wrapper, step_margin, write)
BUILD = os.path.abspath(os.environ.get("top_builddir", os.path.join(HERE, "..", "..")))
MODULE = os.path.join(BUILD, ".libs", "pam_recover.so")
HELPER = os.path.join(BUILD, "pam-recover")
BOB = "bob@example.com"
SPELLINGS = ["BOB@example.com", "Bob@Example.COM", BOB]
# A plain local name: the helper (which clears its environment, so nss_wrapper cannot reach
# it) must find it in the system's passwd, and base-passwd gives every Debian system "daemon".
DAVE = "daemon"
PASSWORD = "correct horse"
PAM_SUCCESS, PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_AUTHINFO_UNAVAIL = 0, 7, 10, 9
PROMPT = "Verification code: "


def helper(cfg, *args, stdin=None, json_out=True):
    cmd = [HELPER, "--config", cfg] + (["--json"] if json_out else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, input=stdin,
                          env={"PATH": "/usr/bin:/bin"}, timeout=120)


def write_config(tmp, name, extra, store="state"):
    path = os.path.join(tmp, f"{name}.conf")
    write(path, f"store = sqlite:{tmp}/{store}/state.db\nkey_file = {tmp}/key\n"
          f"window = 1\ndeny = 5\nnullok = yes\n{extra}")
    return path


# Service name -> extra config. Written before pam_wrapper starts (it copies the directory).
SERVICES = {"auto": "", "exact": "user_name_case = exact\n",
            "insensitive": "user_name_case = insensitive\n",
            "old": ""}  # "old": its own store, made as an earlier version would have


def setup():
    """Create the sandbox and re-run this file under pam_wrapper and nss_wrapper."""
    if os.geteuid() != 0:
        print("SKIP: names/all: needs root (the module opens the store as root)")
        return 77
    for f in (MODULE, HELPER):
        if not os.path.exists(f):
            print(f"FAIL: names/build: {f} is not built")
            return 1
    try:
        matrix, _, _ = pam_wrapper_parts()
    except Skip as why:
        print(f"SKIP: names/all: {why}")
        return 77
    tmp = tempfile.mkdtemp(prefix="pam-recover-names.")
    os.chmod(tmp, 0o700)
    svc = os.path.join(tmp, "svc")
    os.makedirs(svc)
    write(os.path.join(tmp, "passwd"), f"{DAVE}:x:1:1:names test:/nonexistent:/bin/sh\n",
          0o644)
    write(os.path.join(tmp, "group"), f"{DAVE}:x:1:\n", 0o644)
    # Every spelling has the password: a case-insensitive password back end.
    spell = SPELLINGS + ["carol@example.com", "Carol@Example.com", DAVE, DAVE.upper()]
    write(os.path.join(tmp, "passdb"), "".join(f"{u}:{PASSWORD}:*\n" for u in spell))
    write(os.path.join(svc, "other"), "auth required pam_deny.so\naccount required pam_deny.so\n"
          "password required pam_deny.so\nsession required pam_deny.so\n", 0o644)
    for name, extra in SERVICES.items():
        cfg = write_config(tmp, name, extra, store="old" if name == "old" else "state")
        write(os.path.join(svc, name), f"auth requisite {matrix} passdb={tmp}/passdb\n"
              f"auth required {MODULE} config={cfg}\n"
              "auth required pam_permit.so\naccount required pam_permit.so\n", 0o644)
    return rerun_under_pam_wrapper(__file__, MODULE, tmp, svc, "NAMES_TMP", "NAMES_KEEP")


def totp(secret, offset=0):
    """oathtool's code for now + offset, with at least 5 s of the step left."""
    step_margin(5)
    return oathtool(secret, time.time() + offset)


class Cases(Checks):
    def __init__(self):
        import pypamtest
        super().__init__("names")
        self.p = pypamtest
        self.tmp = os.environ["NAMES_TMP"]
        self.cfg = {n: os.path.join(self.tmp, f"{n}.conf") for n in SERVICES}

    def login(self, service, user, answers):
        """One pam_authenticate: the PAM code it returned (None if pypamtest failed)."""
        tc = self.p.TestCase(self.p.PAMTEST_AUTHENTICATE, PAM_SUCCESS)
        try:
            self.p.run_pamtest(user, service, [tc], list(answers))
            return PAM_SUCCESS
        except self.p.PamTestError as e:
            m = re.search(r"returned \[(\d+)\]", str(e))
            return int(m.group(1)) if m else None

    def enrol(self, cfg, user):
        r = helper(cfg, "admin", "enrol", user)
        data = {}
        for o in json_objects(r.stdout):
            data.update(o)
        if r.returncode != 0 or "secret" not in data:
            raise SystemExit(f"FAIL: names/setup: admin enrol {user}: {r.returncode} {r.stderr}")
        return data["secret"].replace(" ", "")

    # ---- through the real libpam ----
    def pam_cases(self):
        cfg = self.cfg["auto"]
        r = helper(cfg, "admin", "init")
        if r.returncode != 0:
            raise SystemExit(f"FAIL: names/setup: admin init: {r.stderr}")
        secret = self.enrol(cfg, BOB)

        for u in SPELLINGS[:2]:
            got = self.login("auto", u, [PASSWORD, "000000"])
            self.check(got == PAM_AUTH_ERR, f"pam/{u}_password_and_wrong_code_refused",
                       f"got {got} (a rollout stack with nullok let the password alone in)")
            got = self.login("auto", u, [PASSWORD, ""])
            self.check(got == PAM_AUTH_ERR, f"pam/{u}_password_without_code_refused",
                       f"got {got}")

        # bob's codes under every spelling; one replay counter for all of them.
        prev, cur = totp(secret, -30), totp(secret)
        got = self.login("auto", "BOB@example.com", [PASSWORD, prev])
        self.check(got == PAM_SUCCESS, "pam/bobs_previous_code_passes_as_BOB", f"got {got}")
        got = self.login("auto", BOB, [PASSWORD, cur])
        self.check(got == PAM_SUCCESS, "pam/bobs_current_code_passes_as_bob", f"got {got}")
        got = self.login("auto", "Bob@Example.COM", [PASSWORD, cur])
        self.check(got == PAM_AUTH_ERR, "pam/code_used_as_bob_is_a_replay_as_Bob@Example.COM",
                   f"got {got}")

        # exact: names as typed (the documented trade-off of the key).
        got = self.login("exact", "BOB@example.com", [PASSWORD])
        self.check(got == PAM_SUCCESS, "pam/exact_BOB_is_another_unenrolled_name",
                   f"got {got}")

        # insensitive: plain names fold too; auto refuses an upper-case plain name.
        dave = self.enrol(cfg, DAVE)
        got = self.login("auto", DAVE.upper(), [PASSWORD, "000000"])
        self.check(got == PAM_USER_UNKNOWN, "pam/auto_upper_case_plain_name_malformed",
                   f"got {got}")
        got = self.login("insensitive", DAVE.upper(), [PASSWORD, "000000"])
        self.check(got == PAM_AUTH_ERR, "pam/insensitive_DAEMON_is_daemon_wrong_code_refused",
                   f"got {got}")
        got = self.login("insensitive", DAVE.upper(), [PASSWORD, totp(dave)])
        self.check(got == PAM_SUCCESS, "pam/insensitive_DAEMON_passes_with_daemons_code",
                   f"got {got}")
        return secret

    # ---- the helper's verbs ----
    def helper_cases(self, secret):
        cfg = self.cfg["auto"]
        req = f"enrolled\nBOB@example.com\nimap\n\n"
        r = helper(cfg, "check", stdin=req, json_out=False)
        self.check(r.returncode == 0, "helper/check_enrolled_under_BOB",
                   f"exit {r.returncode} (0 = enrolled, 5 = not enrolled)")

        r = helper(cfg, "admin", "show", "Bob@Example.COM")
        shown = {}
        for o in json_objects(r.stdout):
            shown.update(o)
        self.check(r.returncode == 0 and shown.get("user") == BOB and
                   shown.get("totp_enabled") is True,
                   "helper/admin_show_Bob@Example.COM_is_bob", f"{r.returncode} {r.stdout!r}")

        for _ in range(5):
            self.login("auto", "BOB@example.com", [PASSWORD, "000000"])
        st = helper(cfg, "admin", "show", BOB)
        locked = any(o.get("locked") for o in json_objects(st.stdout))
        self.check(locked, "helper/wrong_codes_as_BOB_lock_bob", st.stdout)
        r = helper(cfg, "admin", "unlock", "BOB@EXAMPLE.COM")
        st = helper(cfg, "admin", "show", BOB)
        self.check(locked and r.returncode == 0 and
                   not any(o.get("locked") for o in json_objects(st.stdout)),
                   "helper/admin_unlock_BOB@EXAMPLE.COM_unlocks_bob",
                   f"{r.returncode} {r.stderr} {st.stdout}")

        r = helper(cfg, "admin", "set-contact", "BOB@example.com", "email", "bob@elsewhere.org")
        st = helper(cfg, "admin", "show", BOB)
        self.check(r.returncode == 0 and '"kind":"email","value":"b***b@elsewhere.org"' in st.stdout,
                   "helper/admin_set_contact_for_BOB_is_bobs", f"{r.stderr} {st.stdout}")

        r = helper(cfg, "status", "--user", "Bob@Example.COM")
        self.check(r.returncode == 0 and BOB in r.stdout and '"totp_enabled":true' in
                   r.stdout.replace(" ", ""), "helper/status_--user_Bob@Example.COM_is_bob",
                   f"{r.returncode} {r.stdout} {r.stderr}")

        r = helper(cfg, "admin", "enrol", "BOB@example.com")
        self.check(r.returncode == 65 and "already enrolled" in r.stderr,
                   "helper/admin_enrol_BOB_refused_as_already_enrolled",
                   f"{r.returncode} {r.stderr}")

        r = helper(cfg, "admin", "audit", "BOB@Example.com")
        events = [e for o in json_objects(r.stdout) for e in o.get("events", [])]
        self.check(r.returncode == 0 and any(e.get("event") == "enrol" for e in events) and
                   all(e.get("user") == BOB for e in events),
                   "helper/admin_audit_BOB_lists_bobs_events", f"{r.returncode} {r.stdout}")

        # The reset's name step: the audit shows the reset started for bob@example.com.
        p = subprocess.Popen([HELPER, "--config", cfg, "reset", "--json"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={"PATH": "/usr/bin:/bin"})
        try:
            p.stdout.readline()  # the "user" step
            p.stdin.write(json.dumps({"user": "BOB@Example.COM"}) + "\n")
            p.stdin.flush()
            p.stdout.readline()  # the method step
        finally:
            p.kill()
            p.wait()
        r = helper(cfg, "admin", "audit", BOB, "--limit", "1")  # the newest of bob's events
        events = [e for o in json_objects(r.stdout) for e in o.get("events", [])]
        # (the reset stops there: no channel is configured, so no method is usable)
        self.check(events and events[0].get("event", "").startswith("reset"),
                   "helper/reset_name_step_BOB@Example.COM_is_bob", r.stdout)

    # ---- a store written before names were canonical ----
    def old_store_cases(self):
        cfg = self.cfg["old"]
        tmp = self.tmp
        r = helper(cfg, "admin", "init")
        if r.returncode != 0:
            raise SystemExit(f"FAIL: names/setup: admin init (old): {r.stderr}")
        # An earlier version kept names as typed: enrol under exact, as it would have.
        exact = write_config(tmp, "old-exact", "user_name_case = exact\n", store="old")
        carol = self.enrol(exact, "Carol@Example.com")
        r = helper(exact, "admin", "set-contact", "Carol@Example.com", "email",
                   "carol@elsewhere.org")
        if r.returncode != 0:
            raise SystemExit(f"FAIL: names/setup: set-contact (old): {r.stderr}")
        got = self.login("old", "carol@example.com", [PASSWORD])
        self.check(got == PAM_AUTHINFO_UNAVAIL,
                   "old_store/other_spelling_in_store_fails_closed",
                   f"got {got} (PAM_SUCCESS would be the password alone passing nullok)")
        pamd = os.path.join(tmp, "pamd-empty")
        os.makedirs(pamd, exist_ok=True)
        r = helper(cfg, "admin", "doctor", "--pamd", pamd, json_out=False)
        self.check("canonicalise-names" in r.stdout + r.stderr,
                   "old_store/admin_doctor_names_the_fix", r.stdout + r.stderr)
        r = helper(cfg, "admin", "canonicalise-names")
        moved = json_objects(r.stdout)
        self.check(r.returncode == 0 and len(moved) == 1 and
                   moved[0].get("from") == "Carol@Example.com" and
                   moved[0].get("to") == "carol@example.com" and
                   moved[0].get("backup_codes_removed") == 10,
                   "old_store/canonicalise_names_moves_carol_and_counts_backup_codes",
                   f"{r.returncode} {r.stdout} {r.stderr}")
        st = helper(cfg, "admin", "show", "carol@example.com")
        self.check('"kind":"email","value":"c***l@elsewhere.org","verified":true' in st.stdout,
                   "old_store/contact_sealed_again_under_the_canonical_name", st.stdout)
        r = helper(cfg, "admin", "doctor", "--pamd", pamd, json_out=False)
        self.check("canonicalise-names" not in r.stdout + r.stderr,
                   "old_store/admin_doctor_satisfied_after_the_move", r.stdout + r.stderr)
        got = self.login("old", "carol@example.com", [PASSWORD, "000000"])
        self.check(got == PAM_AUTH_ERR, "old_store/after_canonicalise_wrong_code_refused",
                   f"got {got}")
        got = self.login("old", "Carol@Example.com", [PASSWORD, totp(carol)])
        self.check(got == PAM_SUCCESS, "old_store/after_canonicalise_carols_code_passes",
                   f"got {got}")
        # A collision: two spellings of one name, both with rows. Refused; nothing changes.
        self.enrol(exact, "Eve@Example.com")
        self.enrol(exact, "eve@example.com")
        db = os.path.join(tmp, "old", "state.db")
        before = sqlite3.connect(db).execute(
            "SELECT username FROM totp ORDER BY username").fetchall()
        r = helper(cfg, "admin", "canonicalise-names", json_out=False)
        after = sqlite3.connect(db).execute(
            "SELECT username FROM totp ORDER BY username").fetchall()
        self.check(r.returncode == 65 and "Eve@Example.com" in r.stderr and before == after,
                   "old_store/collision_refused_nothing_changed",
                   f"{r.returncode} {r.stdout} {r.stderr} {before} {after}")

    def run(self):
        secret = self.pam_cases()
        self.helper_cases(secret)
        self.old_store_cases()
        return self.done()


if __name__ == "__main__":
    if "NAMES_TMP" not in os.environ:
        sys.exit(setup())
    sys.exit(Cases().run())
