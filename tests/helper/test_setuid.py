#!/usr/bin/python3
"""
The one test that runs pam-recover as it is installed: setuid root, started by an ordinary
user.

The built helper is copied into a temporary prefix (a directory on a filesystem mounted
without nosuid) with mode 04755; a user is created for the test (useradd, with a password set
by chpasswd) and removed at the end, whatever happens. In a private mount namespace the
helper's default configuration file (its compiled-in path) is the test's own, and the PAM
service `pam-recover` is conf/pam.d/pam-recover (common-auth + common-account, so the real
pam_unix checks the password) plus a tiny module that records, from inside the helper, its
uids, environment, dumpability and core limit. The host's /etc is never changed apart from
the test user.

As the user: status of the own account works; --config, --user for another account and the
admin commands are refused; LD_PRELOAD and a hostile environment have no effect; enable,
backup-codes, app-password and disable ask for the password (echo off) and work with it;
wrong passwords are counted and lock.

usage: test_setuid.py [BUILDDIR]      (as root; RC_TEST_ONLY=REGEX selects cases)
"""
import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (SANITIZER_ENV, bind_over, case, check, copy_default_config,  # noqa: E402
                    Fail, inner_main, need_root_and_tools, now_step, parse_json_lines,
                    run_as_real_user, run_cases, Sandbox, sanitizer_build, Skip, totp, write)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

ENVDUMP_C = r'''
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <security/pam_modules.h>
extern char **environ;
int pam_sm_authenticate(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	struct rlimit rl;
	FILE *f;
	(void)flags;
	if (argc < 1 || (f = fopen(argv[0], "w")) == NULL)
		return PAM_IGNORE;
	getrlimit(RLIMIT_CORE, &rl);
	mode_t m = umask(077);
	const void *ruser = NULL;
	fprintf(f, "ruid %d\neuid %d\ndumpable %d\ncore %lu\numask %03o\n", (int)getuid(),
		(int)geteuid(), prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), (unsigned long)rl.rlim_cur, m);
	if (pam_get_item(ph, PAM_RUSER, &ruser) == PAM_SUCCESS && ruser != NULL)
		fprintf(f, "ruser %s\n", (const char *)ruser);
	for (char **e = environ; e != NULL && *e != NULL; e++)
		fprintf(f, "env %s\n", *e);
	fclose(f);
	return PAM_IGNORE;
}
int pam_sm_setcred(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)ph; (void)flags; (void)argc; (void)argv;
	return PAM_IGNORE;
}
'''

EVIL_C = r'''
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	static const char msg[] = "EVIL-PRELOAD-RAN\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
}
'''


class World:
    """Filled in by the inner (namespace) process."""
    user = password = uid = gid = None
    prefix = helper = sb = dump = evil = None


W = World()


def gcc(src_text, out, shared, extra=()):
    src = out + ".c"
    write(src, src_text, 0o644)
    cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-O1", "-o", out, src] + list(extra)
    if shared:
        cmd[1:1] = ["-shared", "-fPIC"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip(f"cannot compile {os.path.basename(src)}: {r.stderr[:300]}")
    os.chmod(out, 0o755)


def user_cmd(args, env):
    """setpriv to the test user; the helper gets `env` (through env -i, so that neither
    setpriv nor env itself runs with a hostile LD_PRELOAD)."""
    cmd = ["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups", "/usr/bin/env",
           "-i"]
    env = dict(env or {"PATH": CLEAN_PATH})
    env.update(SANITIZER_ENV)  # (only a sanitizer build reads them)
    cmd += [f"{k}={v}" for k, v in env.items()]
    return cmd + [W.helper] + args


def as_user(args, env=None, stdin=None):
    return subprocess.run(user_cmd(args, env), capture_output=True, text=True, input=stdin,
                          timeout=120, env={"PATH": CLEAN_PATH}, cwd="/")


def spawn_user(args, env=None):
    import pexpect
    cmd = user_cmd(args, env)
    return pexpect.spawn(cmd[0], cmd[1:], env={"PATH": CLEAN_PATH}, encoding="utf-8",
                         timeout=30, dimensions=(80, 200), cwd="/")


def give_password(c, password=None):
    """Answer the password prompt; the typed password must not be echoed."""
    c.expect(f"Password for {W.user}: ")
    c.sendline(password or W.password)


def finish(c):
    import pexpect
    c.expect(pexpect.EOF)
    c.close()
    return c.before, c.exitstatus


def hostile_env():
    return {"PATH": W.prefix + "/evilbin:/usr/bin:/bin", "LD_PRELOAD": W.evil,
            "LD_LIBRARY_PATH": W.prefix, "IFS": "/", "LANG": "de_DE.UTF-8",
            "LC_ALL": "fr_FR.UTF-8", "TZ": "Pacific/Kiritimati", "http_proxy": "http://127.0.0.1:9",
            "https_proxy": "http://127.0.0.1:9", "all_proxy": "socks5://127.0.0.1:9",
            "SSLKEYLOGFILE": W.prefix + "/keylog", "GCONV_PATH": W.prefix,
            "MALLOC_CHECK_": "3", "HOME": W.prefix, "TMPDIR": W.prefix}


# ---------------------------------------------------------------------------------------------
# cases (inside the namespace)

@case("installed-setuid-root")
def t_installed():
    st = os.stat(W.helper)
    check(st.st_uid == 0 and st.st_mode & 0o4000, f"not setuid root: {oct(st.st_mode)}")


@case("status-own-account")
def t_status():
    r = as_user(["status"])
    check(r.returncode == 0, f"status as {W.user}: exit {r.returncode} {r.stderr!r}")
    check(f"Account {W.user}" in r.stdout and "2-step verification: off" in r.stdout,
          f"status output: {r.stdout!r}")
    r = as_user(["--json", "status"])
    j = parse_json_lines(r.stdout)
    check(r.returncode == 0 and j["user"] == W.user and j["totp_enabled"] is False,
          f"status --json: {j}")
    r = as_user(["status", "--user", W.user])
    check(r.returncode == 0, "status --user SELF refused")


@case("config-and-path-overrides-refused")
def t_config():
    other = os.path.join(W.prefix, "other.conf")
    write(other, "store = sqlite:/tmp/elsewhere.db\n", 0o644)
    for args in (["--config", other, "status"], [f"--config={other}", "status"],
                 ["--check-config"], ["--dump-config"], ["--config", W.sb.cfg, "status"]):
        r = as_user(args)
        check(r.returncode == 77 and "root" in r.stderr, f"{args}: {r.returncode} {r.stderr!r}")
    check(not os.path.exists("/tmp/elsewhere.db"), "the caller's config was used")


@case("other-accounts-and-admin-refused")
def t_other():
    for args in (["status", "--user", "root"], ["enable", "--user", "root"],
                 ["disable", "--user", "root"], ["app-password", "list", "--user", "root"],
                 ["backup-codes", "status", "--user", "root"], ["admin", "list"],
                 ["admin", "audit"], ["admin", "enrol", W.user]):
        r = as_user(args)
        check(r.returncode == 77, f"{args}: exit {r.returncode} {r.stderr!r}")


@case("ld-preload-and-hostile-environment-ignored")
def t_env():
    # Control: the library does print when the loader honours it (an ordinary program).
    r = subprocess.run(["setpriv", f"--reuid={W.uid}", f"--regid={W.gid}", "--init-groups",
                        "/usr/bin/env", "-i", f"LD_PRELOAD={W.evil}", "/bin/true"],
                       capture_output=True, text=True, env={"PATH": CLEAN_PATH})
    check("EVIL-PRELOAD-RAN" in r.stderr, "control: the preload library does not print")
    clean = as_user(["status"])
    bad = as_user(["status"], env=hostile_env())
    check("EVIL-PRELOAD-RAN" not in bad.stderr + bad.stdout, "LD_PRELOAD ran in the helper")
    check((clean.returncode, clean.stdout, clean.stderr) == (bad.returncode, bad.stdout,
                                                            bad.stderr),
          f"hostile environment changed the output:\n{clean}\n{bad}")
    check(not os.path.exists(W.prefix + "/keylog"), "SSLKEYLOGFILE honoured")


@case("enable-with-password-environment-seen-inside")
def t_enable():
    if os.path.exists(W.dump):
        os.unlink(W.dump)
    c = spawn_user(["enable"], env=hostile_env())
    give_password(c)
    try:
        c.expect(r"Code from the app \(6 digits\): ")
    except Exception:
        before = c.before
        c.close()
        raise Fail(f"no code prompt after the password (exit {c.exitstatus}, signal "
                   f"{c.signalstatus}): {before[-1500:]!r}")
    screen = c.before
    check(W.password not in screen, "the password was echoed")
    check("EVIL-PRELOAD-RAN" not in screen, "LD_PRELOAD ran")
    key = re.search(r"key:\s+((?:[A-Z2-7]{4} ?)+)", screen).group(1).replace(" ", "")
    c.sendline(totp(key, now_step()))
    out, st = finish(c)
    check(st == 0 and "2-step verification is activated for your account" in out,
          f"enable as the user: exit {st}: {out[-500:]!r}")
    W.secret = key
    W.codes = re.findall(r"\b\d{8}\b", out)
    # What the PAM module saw inside the helper.
    with open(W.dump) as f:
        dump = f.read().splitlines()
    # Root all through (so the caller cannot signal it); the caller is in PAM_RUSER.
    check("ruid 0" in dump and "euid 0" in dump, f"uids inside: {dump[:2]}")
    check(f"ruser {W.user}" in dump, f"PAM_RUSER inside: {[d for d in dump if 'ruser' in d]}")
    check("dumpable 0" in dump, "the helper is dumpable")
    check("core 0" in dump, "core dumps are allowed")
    check("umask 077" in dump, f"umask inside: {[d for d in dump if d.startswith('umask')]}")
    env = [d[4:] for d in dump if d.startswith("env ")]
    check(env == ["PATH=" + CLEAN_PATH], f"environment inside the helper: {env}")
    r = as_user(["--json", "status"])
    j = parse_json_lines(r.stdout)
    check(j["totp_enabled"] is True and j["backup_codes_left"] == 10, f"status after: {j}")


@case("self-service-with-password")
def t_self_service():
    if getattr(W, "secret", None) is None:
        raise Skip("needs the enrolment of the previous case")
    # backup codes: a new set after the password and a current code from the app
    c = spawn_user(["backup-codes"])
    give_password(c)
    c.expect("Current code from the app: ")
    c.sendline(totp(W.secret, now_step() + 1))
    out, st = finish(c)
    check(st == 0 and "the old codes no longer work" in out, f"backup-codes: {st} {out!r}")
    new_codes = re.findall(r"\b\d{8}\b", out)
    check(len(new_codes) == 10, f"codes: {new_codes}")
    # app password, in JSON with the password on stdin
    r = as_user(["--json", "app-password", "add", "phone", "--service", "imap"],
                stdin=json.dumps({"password": W.password,
                                  "current_code": totp(W.secret, now_step() + 2)}) + "\n")
    j = parse_json_lines(r.stdout)
    check(r.returncode == 0 and re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", j["password"]),
          f"app-password add --json: {r.returncode} {r.stderr!r}")
    r = as_user(["app-password", "list"])
    check(r.returncode == 0 and "phone" in r.stdout, f"list: {r.stdout!r}")
    # A name already taken is refused before the password is asked (not after typing it).
    import pexpect
    c = spawn_user(["app-password", "add", "phone"])
    i = c.expect([f"Password for {W.user}: ", pexpect.EOF])
    check(i == 1, "app-password add asked for the password before refusing a taken name")
    c.close()
    check(c.exitstatus == 65 and "exists already" in c.before,
          f"taken name: {c.exitstatus} {c.before!r}")
    c = spawn_user(["app-password", "revoke", "phone"])
    give_password(c)
    out, st = finish(c)
    check(st == 0 and "revoked" in out, f"revoke: {st} {out!r}")
    # audit: the changes are recorded with the user's real uid, method self
    events = W.sb.json(["admin", "audit", W.user])["events"]
    mine = {(e["event"], e["ruid"], e["method"]) for e in events}
    for ev in ("enable", "backup-codes", "app-password-add", "app-password-revoke"):
        check((ev, W.uid, "self") in mine, f"no audit event {ev} by uid {W.uid}: {mine}")
    # disable with a lost app: password, then a backup code
    c = spawn_user(["disable", "--lost-app"])
    give_password(c)
    c.expect("one of your backup codes: ")
    c.sendline(new_codes[0])
    out, st = finish(c)
    check(st == 0 and "2-step verification is off" in out, f"disable: {st} {out!r}")


@case("no-sender-beside-a-copied-helper-runs-for-a-user")
def t_sender_path():
    # The helper execs pam-recover-send from its compiled-in path; only root running a
    # helper outside its installed place (a build tree) uses the one beside it. A user who
    # copies or links the setuid helper next to a program of their own must not get it run.
    mark_dir = tempfile.mkdtemp(prefix="pamrec-sender-mark-")
    os.chmod(mark_dir, 0o1777)
    marker = os.path.join(mark_dir, "ran")
    fake = os.path.join(os.path.dirname(W.helper), "pam-recover-send")
    write(fake, f"#!/bin/sh\n/usr/bin/touch {marker}\n", 0o755)
    try:
        c = spawn_user(["contact", "set", "email", "someone@example.org"])
        give_password(c)
        out, st = finish(c)
    finally:
        os.unlink(fake)
    ran = os.path.exists(marker)
    shutil.rmtree(mark_dir, ignore_errors=True)
    check(not ran, "the setuid helper ran the pam-recover-send beside it for a user")
    check(st != 0, f"contact set email without a reachable sender succeeded: {out!r}")


@case("a-stack-that-never-asks-for-the-password-is-refused")
def t_rootok():
    """The helper runs as root all through, so pam_rootok in the pam-recover service would
    pass every caller: a stack that accepts without asking for the password is refused."""
    service = os.path.join(W.pamd, "pam-recover")
    with open(service) as f:
        saved = f.read()
    try:
        write(service, "auth sufficient pam_rootok.so\nauth required pam_deny.so\n"
              "account required pam_permit.so\n", 0o644)
        r = as_user(["--json", "contact", "remove", "phone"],
                    stdin=json.dumps({"password": "not-the-password"}) + "\n")
        check(r.returncode == 78 and "did not ask for the password" in r.stderr,
              f"pam_rootok stack: exit {r.returncode} {r.stderr!r}")
    finally:
        write(service, saved, 0o644)
    # The real stack again: the right password passes (and clears the count of tries).
    r = as_user(["--json", "contact", "remove", "phone"],
                stdin=json.dumps({"password": W.password}) + "\n")
    check(r.returncode == 0, f"contact remove with the password: {r.returncode} {r.stderr!r}")


@case("wrong-passwords-counted-and-locked")
def t_wrong_password():
    deny = 3
    for i in range(deny):
        c = spawn_user(["app-password", "add", f"w{i}"])
        give_password(c, "not-the-password")
        out, st = finish(c)
        check(st == 1 and "wrong password" in out, f"wrong password {i + 1}: {st} {out!r}")
    # Locked: not even asked, and the right password does not help now.
    r = as_user(["app-password", "add", "w9"], stdin=W.password + "\n")
    check(r.returncode == 75 and "too many wrong passwords" in r.stderr,
          f"after {deny} wrong passwords: {r.returncode} {r.stderr!r}")
    r = as_user(["app-password", "list"])
    check(r.returncode == 0 and "w0" not in r.stdout, "an app password was added")


# ---------------------------------------------------------------------------------------------
# set-up

def inner(user, password, prefix):
    """In the private mount namespace: configuration, PAM service, then the cases."""
    W.user, W.password, W.prefix = user, password, prefix
    pw = pwd.getpwnam(user)
    W.uid, W.gid = pw.pw_uid, pw.pw_gid
    W.helper = os.path.join(prefix, "bin", "pam-recover")
    W.sb = Sandbox("suid", extra_cfg="")
    # deny = 3 for this sandbox's counters
    text = open(W.sb.cfg).read().replace("deny = 5", "deny = 3")
    # a mail channel that goes nowhere (port 9): the sender is started, nothing is sent
    text += "smtp_url = smtp://127.0.0.1:9\nsmtp_tls = none\nmail_from = r@example.net\n"
    write(W.sb.cfg, text, 0o644)
    W.sb.init()
    W.dump = os.path.join(W.sb.tmp, "envdump")
    W.evil = os.path.join(prefix, "evil.so")
    gcc(EVIL_C, W.evil, True)
    envdump = os.path.join(W.sb.tmp, "pam_envdump.so")
    gcc(ENVDUMP_C, envdump, True, ["-lpam"])
    evilbin = os.path.join(prefix, "evilbin")
    os.mkdir(evilbin, 0o755)
    for tool in ("sh", "bash", "unix_chkpwd", "cat"):
        write(os.path.join(evilbin, tool), "#!/bin/sh\necho EVIL-PATH-RAN >&2\n", 0o755)

    # The compiled-in configuration path, asked of the helper itself (without --config).
    placed = copy_default_config(W.sb)
    if placed is None:
        print("SKIP: cannot place the default configuration")
        return 77
    conf_path, etcsec, sec_copy, pamd_copy = placed
    with open(os.path.join(SRCDIR, "conf", "pam.d", "pam-recover")) as f:
        service = f.read()
    if sanitizer_build(W.helper):
        # ASan's crypt() interceptor binds at start-up and calls address 0 once pam_unix
        # brings libcrypt along; a setuid program cannot have libcrypt preloaded. So the
        # sanitizer build checks the password with pam_matrix (no crypt): the same PAM
        # conversation, another password module.
        matrix = [m for m in glob.glob("/usr/lib/*/pam_wrapper/pam_matrix.so")]
        if not matrix:
            print("SKIP: helper-setuid: sanitizer build and no pam_matrix.so (libpam-wrapper)")
            return 77
        passdb = os.path.join(W.sb.tmp, "passdb")
        write(passdb, f"{user}:{password}:pam-recover\n", 0o600)
        service = (f"auth required {matrix[0]} passdb={passdb}\n"
                   f"account required {matrix[0]} passdb={passdb}\n")
    write(os.path.join(pamd_copy, "pam-recover"),
          f"auth optional {envdump} {W.dump}\n" + service, 0o644)
    W.pamd = pamd_copy
    bind_over(((sec_copy, etcsec), (pamd_copy, "/etc/pam.d")))
    os.chmod(W.sb.tmp, 0o711)  # the PAM module and dump file paths; the store stays 0700
    try:
        run_cases("helper-setuid")
    except SystemExit as e:
        return e.code
    finally:
        W.sb.cleanup()
    return 0


def outer():
    need_root_and_tools("setpriv", "unshare", "useradd", "userdel", "chpasswd", "findmnt",
                        "gcc", "oathtool", "mount")
    try:
        import pexpect  # noqa: F401 (is it installed?)
    except ImportError:
        print("SKIP: python3-pexpect is not installed")
        return 77
    return run_as_real_user(__file__, "helper-setuid", "prefix", "bin")


if __name__ == "__main__":
    inner_main(inner, outer)
