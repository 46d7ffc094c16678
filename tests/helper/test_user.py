#!/usr/bin/python3
"""
The self-service verbs of pam-recover driven the way a user drives them: through a
pseudo-terminal (pexpect) for the interactive ones, with codes from oathtool, the QR code
decoded by zbarimg (both qrencode's own PNG of the URI and the half-block art the helper
draws), the login decision asked through `pam-recover check`, and app passwords tried
through the real libpam (pam_wrapper + pypamtest) with the built pam_recover.so.

As root, with the built helper and --config/--user (the password confirmation of non-root
callers is covered by tests/helper/test_setuid.py).

usage: test_user.py [BUILDDIR]   (make check passes top_builddir in the environment)
       RC_TEST_ONLY=REGEX selects cases.
"""
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (Sandbox, Skip, case, check, need_root_and_tools, now_step,  # noqa: E402
                    parse_json_lines, run_cases, sanitizer_build, totp, write)

LOGIN_OK, LOGIN_OK_BACKUP, LOGIN_WRONG, LOGIN_REPLAY = 0, 1, 2, 3
HALF = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}

SB = None


def sandbox():
    global SB
    if SB is None:
        SB = Sandbox("user").init()
    return SB


# ---------------------------------------------------------------------------------------------
# screens

def enable_screen(sb, user, current=None):
    """Start `enable` on a pty (answering the current-code question of a re-enrolment);
    return (session, screen up to the code prompt, key, uri)."""
    c = sb.spawn(["enable", "--user", user])
    if current is not None:
        c.expect("Current code from the app, or a backup code: ")
        c.sendline(current)
    c.expect(r"Code from the app \(6 digits\): ")
    screen = c.before
    m = re.search(r"key:\s+((?:[A-Z2-7]{4} ?)+)", screen)
    check(m, f"no key on the screen: {screen[-800:]!r}")
    key = m.group(1).replace(" ", "")
    u = re.search(r"(otpauth://totp/\S+)", screen)
    check(u, "no otpauth URI on the screen")
    check(f"secret={key}" in u.group(1), "the key by hand is not the URI's secret")
    check("Can't scan the barcode?" in screen, "no \"Can't scan the barcode?\" help")
    return c, screen, key, u.group(1)


def finish(c):
    import pexpect
    c.expect(pexpect.EOF)
    out = c.before
    c.close()
    return out, c.exitstatus


def backup_codes_from(text):
    codes = []
    for line in text.splitlines():
        m = re.fullmatch(r"\s+(\d{8})(?:\s+(\d{8}))?\s*", line)
        if m:
            codes += [g for g in m.groups() if g]
    return codes


def art_to_pgm(screen, path, scale=4):
    """The helper's half-block QR art back into pixels (PGM, which zbarimg reads)."""
    rows = []
    for line in screen.splitlines():
        m = re.search(r"\x1b\[30;107m(.*?)\x1b\[0m", line)
        if not m:
            continue
        art = m.group(1)
        check(all(ch in HALF for ch in art), f"unexpected glyph in the QR art: {art!r}")
        rows.append([HALF[ch][0] for ch in art])
        rows.append([HALF[ch][1] for ch in art])
    check(len(rows) > 24, f"no QR art found ({len(rows)} rows)")
    width = len(rows[0])
    check(all(len(r) == width for r in rows), "QR art lines differ in width")
    # The quiet zone: at least the outer 2 modules (1 text line) are light on every side.
    for r in rows[:2] + rows[-2:]:
        check(not any(r), "no light quiet zone above/below the symbol")
    for r in rows:
        check(not any(r[:2]) and not any(r[-2:]), "no light quiet zone left/right")
    with open(path, "wb") as f:
        f.write(b"P5 %d %d 255\n" % (width * scale, len(rows) * scale))
        for r in rows:
            line = bytes(0 if px else 255 for px in r for _ in range(scale))
            for _ in range(scale):
                f.write(line)


def zbar(path):
    r = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True)
    check(r.returncode == 0, f"zbarimg could not decode {path} ({r.returncode})")
    return r.stdout.strip()


# ---------------------------------------------------------------------------------------------
# enable

@case("enable-qr-first-code-backup-codes")
def t_enable():
    sb = sandbox()
    user = sb.new_user()
    c, screen, key, uri = enable_screen(sb, user)
    check(uri.startswith("otpauth://totp/Example%20Mail:") or
          uri.startswith("otpauth://totp/Example Mail:"), f"issuer not from the config: {uri}")
    check(user.replace("@", "%40") in uri or user in uri, f"label is not the user: {uri}")
    # Minimal: the issuer only as the label's prefix, the defaults (SHA1, 6, 30) left out.
    check(re.fullmatch(r"otpauth://totp/[^?]+\?secret=[A-Z2-7]+", uri), f"URI not minimal: {uri}")
    # At the code prompt the whole barcode is on an 80x24 screen: it is the last thing before
    # the prompt, and its lines plus the prompt line are at most 24, each at most 80 wide.
    lines = screen.replace("\r\n", "\n").split("\n")
    art = [i for i, ln in enumerate(lines) if "\x1b[30;107m" in ln]
    check(art and art == list(range(art[0], art[-1] + 1)), "QR art lines not together")
    check(all(not ln.strip() for ln in lines[art[-1] + 1:]),
          f"text between the barcode and the prompt: {lines[art[-1] + 1:]!r}")
    check(len(art) + 1 <= 24, f"barcode ({len(art)} lines) + prompt do not fit 24 lines")
    widths = {len(re.sub(r"\x1b\[[0-9;]*m", "", lines[i])) for i in art}
    check(max(widths) <= 80, f"barcode wider than 80 columns: {widths}")
    # The key by hand comes in groups of four.
    check(re.search(r"key:\s+[A-Z2-7]{4} [A-Z2-7]{4} ", screen), "key is not grouped by four")
    # QR: the art on the screen decodes to exactly the URI...
    pgm = os.path.join(sb.tmp, "art.pgm")
    art_to_pgm(screen, pgm)
    check(zbar(pgm) == uri, "the terminal QR code does not decode to the otpauth URI")
    # ... and qrencode's own rendering of that URI decodes to it as well.
    png = os.path.join(sb.tmp, "uri.png")
    subprocess.run(["qrencode", "-o", png, uri], check=True)
    check(zbar(png) == uri, "qrencode's PNG of the URI does not decode back")

    first = totp(key, now_step())
    c.sendline(first)
    out, st = finish(c)
    check(st == 0, f"enable exit {st}: {out[-600:]!r}")
    # The first code is typed hidden, like the codes of disable and reset.
    check(not out.lstrip().startswith(first), f"the first code was echoed: {out[:80]!r}")
    check("2-step verification is activated for your account" in out,
          "no activation confirmation")
    codes = backup_codes_from(out)
    check(len(codes) == 10 and len(set(codes)) == 10, f"not ten backup codes: {codes}")
    check("you will be asked for a 6-digit code" in out.replace("\r\n", " ").replace("\n", " "),
          "no word on the next login")
    s = sb.status(user)
    check(s["totp_enabled"] is True and s["backup_codes_left"] == 10 and
          s["algorithm"] == "sha1" and not s["pending_enrolment"], f"status after enable: {s}")
    # The enrolment code itself cannot be replayed at login; the next one works.
    check(sb.check_code(user, first) == LOGIN_REPLAY, "the first code can be replayed")
    check(sb.check_code(user, totp(key, now_step() + 1)) == LOGIN_OK, "next code not accepted")
    check(sb.check_code(user, codes[0]) == LOGIN_OK_BACKUP, "a printed backup code fails")


@case("admin-enrol-qr-on-a-terminal-only")
def t_admin_enrol_qr():
    """`admin enrol` draws the barcode when its output is a terminal (the phone scans it off
    the admin's screen), and prints none into a pipe, where a script reads the URI."""
    import pexpect
    sb = sandbox()
    user = sb.new_user()
    c = sb.spawn(["admin", "enrol", user])
    c.expect(pexpect.EOF)
    screen = c.before
    c.close()
    check(c.exitstatus == 0, f"admin enrol on a pty: {c.exitstatus} {screen[-300:]!r}")
    u = re.search(r"(otpauth://totp/\S+)", screen)
    check(u, "no URI on the screen")
    pgm = os.path.join(sb.tmp, "enrol.pgm")
    art_to_pgm(screen, pgm)
    check(zbar(pgm) == u.group(1), "the barcode of admin enrol does not decode to its URI")
    r = sb.run(["admin", "enrol", "--force", user])
    check(r.returncode == 0 and "otpauth://" in r.stdout and "\x1b[" not in r.stdout,
          f"admin enrol into a pipe: {r.returncode} {r.stdout[:200]!r}")
    # root's backup codes are not "handed to root": the admin keeps them off the host.
    r = sb.run(["admin", "enrol", "root"])
    flat = " ".join(r.stdout.split())
    check(r.returncode == 0 and "hand them to root" not in flat and
          "somewhere safe off this host" in flat, f"admin enrol root: {flat[-200:]!r}")
    r = sb.run(["admin", "disable-2fa", "root"])
    check(r.returncode == 0, f"admin disable-2fa root: {r.returncode} {r.stderr}")


@case("enable-three-tries-on-one-secret")
def t_enable_tries():
    """A mistyped first code is not the end: two wrong codes, then the right one, on the
    same secret (the barcode already scanned keeps working)."""
    sb = sandbox()
    user = sb.new_user()
    c, _, key, _ = enable_screen(sb, user)
    right = totp(key, now_step())
    for left in (2, 1):
        c.sendline("%06d" % ((int(right) + 1) % 1000000))
        c.expect(r"Code from the app \(6 digits\): ")
        flat = " ".join(c.before.split())
        check("That code does not match" in flat and f"{left} tr" in flat,
              f"no retry message with {left} left: {flat!r}")
    check(sb.status(user)["pending_enrolment"] is True, "the secret was dropped before 3 tries")
    c.sendline(totp(key, now_step()))
    out, st = finish(c)
    check(st == 0 and "is activated" in out, f"third try failed ({st}): {out[-300:]!r}")
    check(sb.check_code(user, totp(key, now_step() + 1)) == LOGIN_OK, "the secret does not log in")


@case("enable-missed-first-code-then-repeat")
def t_enable_missed():
    sb = sandbox()
    user = sb.new_user()
    c, _, key, _ = enable_screen(sb, user)
    right = totp(key, now_step())
    for _ in range(2):
        c.sendline("%06d" % ((int(right) + 1) % 1000000))
        c.expect(r"Code from the app \(6 digits\): ")
    c.sendline("%06d" % ((int(right) + 1) % 1000000))
    out, st = finish(c)
    check(st == 1, f"a wrong first code gave exit {st}")
    flat = " ".join(out.split())
    check("Repeat `pam-recover enable`" in flat, f"no 'repeat' advice: {flat!r}")
    s = sb.status(user)
    check(s["totp_enabled"] is False and s["pending_enrolment"] is False,
          f"state after a missed code: {s}")
    check(sb.check_code(user, right) != LOGIN_OK, "an unverified secret logs in")
    # Repeating all the steps works.
    c, _, key2, _ = enable_screen(sb, user)
    check(key2 != key, "the repeat shows the same secret")
    c.sendline(totp(key2, now_step()))
    out, st = finish(c)
    check(st == 0 and "is activated" in out, f"repeat failed ({st})")


@case("re-enrol-keeps-old-secret-until-verified")
def t_reenrol():
    sb = sandbox()
    user = sb.new_user()
    old, old_codes, s0 = sb.enable_json(user)
    # Replacing needs a current code or backup code first: a wrong one changes nothing.
    c = sb.spawn(["enable", "--user", user])
    c.expect("Current code from the app, or a backup code: ")
    c.sendline("%06d" % ((int(totp(old, s0 + 1)) + 3) % 1000000))
    out, st = finish(c)
    check(st == 1 and "wrong code" in out, f"re-enrol with a wrong current code: {st} {out!r}")
    check(sb.status(user)["pending_enrolment"] is False, "a wrong current code made a secret")
    # A re-enrolment is waiting for its first code: the old secret still logs in.
    c, _, new, _ = enable_screen(sb, user, current=totp(old, s0 + 1))
    check(sb.status(user)["pending_enrolment"] is True, "no pending enrolment shown")
    check(sb.check_code(user, totp(old, s0 + 2)) == LOGIN_OK,
          "the old secret stopped working before the new one was verified")
    check(sb.check_code(user, totp(new, s0 + 3)) == LOGIN_WRONG,
          "the unverified new secret logs in")
    # Three wrong first codes: the old secret stays.
    for i in range(3):
        c.sendline("000000" if totp(new, now_step()) != "000000" else "111111")
        if i < 2:
            c.expect(r"Code from the app \(6 digits\): ")
    out, st = finish(c)
    check(st == 1 and "stays on with your current secret" in " ".join(out.split()),
          f"wrong code on re-enrol: exit {st}")
    check(sb.check_code(user, totp(old, s0 + 3)) == LOGIN_OK, "old secret lost after a miss")
    # Verified (this time the current proof is a backup code): the new secret replaces the
    # old, with new backup codes.
    c, _, new, _ = enable_screen(sb, user, current=old_codes[0])
    c.sendline(totp(new, now_step()))
    out, st = finish(c)
    check(st == 0, f"re-enrol exit {st}")
    check("previous secret and backup codes no longer work" in " ".join(out.split()),
          "no word that the old secret is gone")
    check(sb.check_code(user, totp(old, s0 + 4)) == LOGIN_WRONG, "old secret still works")
    check(sb.check_code(user, old_codes[1]) == LOGIN_WRONG, "old backup codes still work")
    check(sb.check_code(user, totp(new, now_step() + 1)) == LOGIN_OK, "new secret fails")
    new_codes = backup_codes_from(out)
    check(sb.check_code(user, new_codes[0]) == LOGIN_OK_BACKUP, "new backup codes fail")


# ---------------------------------------------------------------------------------------------
# disable

def disable_with(sb, user, code):
    c = sb.spawn(["disable", "--user", user])
    c.expect("Code from the app, or a backup code: ")
    c.sendline(code)
    return finish(c)


@case("disable-with-code")
def t_disable_code():
    sb = sandbox()
    user = sb.new_user()
    secret, _, s0 = sb.enable_json(user)
    out, st = disable_with(sb, user, totp(secret, s0 + 1))
    check(st == 0 and "2-step verification is off" in out, f"disable exit {st}: {out!r}")
    s = sb.status(user)
    check(s["totp_enabled"] is False and s["backup_codes_left"] == 0, f"after disable: {s}")
    check(sb.check_code(user, totp(secret, s0 + 2)) != LOGIN_OK, "secret works after disable")
    # Already off: nothing to do, exit 0, and no prompt.
    r = sb.run(["disable", "--user", user])
    check(r.returncode == 0 and "already off" in r.stdout, f"disable when off: {r.returncode}")


@case("disable-offers-to-revoke-app-passwords")
def t_disable_apps():
    """disable says what becomes of the app passwords and offers to delete them; Enter
    deletes (as mail providers do with 2-step verification off), "n" keeps them; without a
    terminal (JSON) they are deleted unless --keep-app-passwords."""
    sb = sandbox()
    for answer, kept in (("", False), ("n", True)):
        user = sb.new_user()
        secret, _, s0 = sb.enable_json(user)
        app_add(sb, user, "phone", "imap")
        app_add(sb, user, "laptop", "imap")
        c = sb.spawn(["disable", "--user", user])
        c.expect("Code from the app, or a backup code: ")
        c.sendline(totp(secret, s0 + 1))
        c.expect(r"Delete the app passwords\? \[Y/n\] ")
        flat = " ".join(c.before.split())
        check("2 app passwords (laptop, phone)" in flat and "would still work" in flat,
              f"no word on the app passwords: {flat!r}")
        c.sendline(answer)
        out, st = finish(c)
        flat = " ".join(out.split())
        check(st == 0 and "2-step verification is off" in flat, f"disable: {st} {flat!r}")
        left = sb.json(["app-password", "list", "--user", user])["app_passwords"]
        check(len(left) == (2 if kept else 0), f"answer {answer!r}: app passwords {left}")
        check(("still work" in flat) == kept and ("are deleted" in flat) == (not kept),
              f"answer {answer!r}: the result is not said: {flat!r}")
    # Not a terminal (a script pipes the code in): no question, the default.
    user = sb.new_user()
    secret, _, s0 = sb.enable_json(user)
    app_add(sb, user, "phone", "imap")
    r = sb.run(["disable", "--user", user], stdin=totp(secret, s0 + 1) + "\n")
    check(r.returncode == 0 and "are deleted" in r.stdout and "[Y/n]" not in r.stdout + r.stderr,
          f"disable from a pipe: {r.returncode} {r.stdout!r} {r.stderr!r}")
    for opts, kept in (([], False), (["--keep-app-passwords"], True)):
        user = sb.new_user()
        secret, _, s0 = sb.enable_json(user)
        app_add(sb, user, "phone", "imap")
        j = sb.json(["disable", "--user", user] + opts,
                    stdin=json.dumps({"code": totp(secret, s0 + 1)}) + "\n")
        left = sb.json(["app-password", "list", "--user", user])["app_passwords"]
        check(len(left) == (1 if kept else 0) and
              j.get("app_passwords_revoked") == (0 if kept else 1) and
              j.get("app_passwords_kept") == (1 if kept else 0), f"json {opts}: {j} {left}")


@case("one-minute-not-one-minutes")
def t_one_minute():
    """unlock_time = 60: the lock message says "1 minute", not "1 minutes"."""
    sb = Sandbox("minute")
    try:
        text = open(sb.cfg).read().replace("deny = 5", "deny = 1")
        write(sb.cfg, text.replace("unlock_time = 900", "unlock_time = 60"))
        sb.init()
        user = sb.new_user()
        secret, _, s0 = sb.enable_json(user)
        out, st = disable_with(sb, user, "%06d" % ((int(totp(secret, s0 + 1)) + 7) % 1000000))
        flat = " ".join(out.split())
        check(st == 1 and "locked for 1 minute;" in flat and "1 minutes" not in flat,
              f"lock message: {st} {flat!r}")
        r = sb.run(["disable", "--user", user], stdin=totp(secret, s0 + 2) + "\n")
        flat = " ".join(r.stderr.split())
        check(r.returncode == 75 and "up to 1 minute," in flat, f"locked: {r.returncode} {flat!r}")
    finally:
        sb.cleanup()


@case("disable-with-backup-code")
def t_disable_backup():
    sb = sandbox()
    user = sb.new_user()
    _, codes, _ = sb.enable_json(user)
    out, st = disable_with(sb, user, codes[3][:4] + "-" + codes[3][4:])
    check(st == 0 and "2-step verification is off" in out, f"disable exit {st}: {out!r}")
    check(sb.status(user)["totp_enabled"] is False, "still on")


@case("disable-wrong-code-stays-on")
def t_disable_wrong():
    sb = sandbox()
    user = sb.new_user()
    secret, _, s0 = sb.enable_json(user)
    good = totp(secret, s0 + 1)
    out, st = disable_with(sb, user, "%06d" % ((int(good) + 7) % 1000000))
    check(st == 1 and "stays on" in " ".join(out.split()), f"wrong code: exit {st}: {out!r}")
    check(sb.status(user)["totp_enabled"] is True, "turned off by a wrong code")
    # The same step cannot be used twice: the code that logged in is refused as a replay.
    check(sb.check_code(user, good) == LOGIN_OK, "good code refused")
    out, st = disable_with(sb, user, good)
    check(st == 1 and "already used" in out, f"replayed code: exit {st}: {out!r}")


# ---------------------------------------------------------------------------------------------
# backup codes

@case("backup-codes-new-set-invalidates-old")
def t_backup_codes():
    sb = sandbox()
    user = sb.new_user()
    _, old_codes, _ = sb.enable_json(user)
    c = sb.spawn(["backup-codes", "--user", user])
    out, st = finish(c)
    check(st == 0 and "the old codes no longer work" in out, f"backup-codes exit {st}")
    new_codes = backup_codes_from(out)
    check(len(new_codes) == 10 and not set(new_codes) & set(old_codes), "not a fresh set")
    check(sb.check_code(user, old_codes[0]) == LOGIN_WRONG, "an old backup code still works")
    check(sb.check_code(user, new_codes[0]) == LOGIN_OK_BACKUP, "a new backup code fails")
    check(sb.check_code(user, new_codes[0]) == LOGIN_WRONG, "a backup code works twice")
    r = sb.run(["backup-codes", "status", "--user", user])
    check(r.returncode == 0 and "9 unused backup codes" in r.stdout, f"status: {r.stdout!r}")
    j = sb.json(["backup-codes", "status", "--user", user])
    check(j["backup_codes_left"] == 9 and j["totp_enabled"] is True, f"json status: {j}")
    # Not enrolled: no codes to make.
    other = sb.new_user()
    r = sb.run(["backup-codes", "--user", other])
    check(r.returncode == 65 and "pam-recover enable" in r.stderr, f"not enrolled: {r}")


# ---------------------------------------------------------------------------------------------
# app passwords: the command

def app_add(sb, user, name, services=None):
    args = ["app-password", "add", name, "--user", user]
    if services:
        args += ["--service", services]
    c = sb.spawn(args)
    out, st = finish(c)
    check(st == 0, f"app-password add exit {st}: {out!r}")
    m = re.search(r"^\s+([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})\s*$", out, re.M)
    check(m, f"no app password shown: {out!r}")
    return m.group(1)


@case("app-password-add-list-revoke")
def t_app_cli():
    sb = sandbox()
    user = sb.new_user()
    pw = app_add(sb, user, "thunderbird", "imap,SMTP")
    r = sb.run(["app-password", "list", "--user", user])
    check(r.returncode == 0 and re.search(r"thunderbird\s+imap,smtp\s+\d{4}-", r.stdout) and
          "never" in r.stdout, f"list: {r.stdout!r}")
    j = sb.json(["app-password", "list", "--user", user])
    a = j["app_passwords"]
    check(len(a) == 1 and a[0]["name"] == "thunderbird" and a[0]["services"] == "imap,smtp"
          and a[0]["last_used"] is None and a[0]["created"].endswith("Z"), f"json list: {j}")
    check(sb.status(user)["app_passwords"][0]["name"] == "thunderbird", "not in status")
    # The password is shown once and stored only as a keyed hash.
    with open(sb.db, "rb") as f:
        db = f.read()
    check(pw.encode() not in db and pw.replace("-", "").encode() not in db,
          "the app password is in the store in clear")
    # Same name twice, bad names, bad services.
    r = sb.run(["app-password", "add", "thunderbird", "--user", user])
    check(r.returncode == 65 and "exists already" in r.stderr, f"duplicate: {r}")
    for bad in ["", "-x", "a b", "x" * 64, "tab\there", "../etc"]:
        r = sb.run(["app-password", "add", "--user", user, "--", bad])
        check(r.returncode in (64, 65), f"bad name {bad!r} accepted ({r.returncode})")
    r = sb.run(["app-password", "add", "phone", "--service", "imap;rm", "--user", user])
    check(r.returncode == 65 and "--service" in r.stderr, f"bad service: {r}")
    # JSON add shows the password once.
    j = sb.json(["app-password", "add", "phone", "--service", "pop3", "--user", user])
    check(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", j["password"]), f"json add: {j}")
    # Revoke.
    r = sb.run(["app-password", "revoke", "thunderbird", "--user", user])
    check(r.returncode == 0 and "revoked" in r.stdout, f"revoke: {r}")
    r = sb.run(["app-password", "revoke", "thunderbird", "--user", user])
    check(r.returncode == 65 and "no app password called" in r.stderr, f"revoke twice: {r}")
    names = [x["name"] for x in sb.json(["app-password", "list", "--user", user])["app_passwords"]]
    check(names == ["phone"], f"after revoke: {names}")


# ---------------------------------------------------------------------------------------------
# app passwords through the real libpam

PAMTEST = r'''
import json, sys, pypamtest
req = json.loads(sys.argv[1])
try:
    tc = pypamtest.TestCase(pypamtest.PAMTEST_AUTHENTICATE)
    pypamtest.run_pamtest(req["user"], req["service"], [tc], req["answers"])
    print("OK")
except pypamtest.PamTestError as e:
    print("ERR " + str(e))
'''


def find_pam_wrapper_dir():
    for d in glob.glob("/usr/lib/*/pam_wrapper") + glob.glob("/usr/lib*/pam_wrapper"):
        if os.path.exists(os.path.join(d, "pam_matrix.so")):
            return d
    raise Skip("pam_matrix.so not found (libpam-wrapper)")


class PamStack:
    def __init__(self, sb):
        self.sb = sb
        self.pwdir = find_pam_wrapper_dir()
        self.module = os.path.join(sb.build, ".libs", "pam_recover.so")
        if not os.path.exists(self.module):
            raise Skip("pam_recover.so is not built")
        self.svc = os.path.join(sb.tmp, "svc")
        os.makedirs(self.svc, exist_ok=True)
        self.passdb = os.path.join(sb.tmp, "passdb")
        self.script = os.path.join(sb.tmp, "pamtest.py")
        write(self.script, PAMTEST)
        write(os.path.join(self.svc, "other"), "auth required pam_deny.so\n"
              "account required pam_deny.so\npassword required pam_deny.so\n"
              "session required pam_deny.so\n", 0o644)
        mod = f"{self.module} config={sb.cfg}"
        matrix = f"{self.pwdir}/pam_matrix.so passdb={self.passdb}"
        for service in ("imap", "pop3"):
            write(os.path.join(self.svc, service),
                  f"auth [success=done default=ignore] {mod} app_passwords\n"
                  f"auth requisite {mod} split_pass\n"
                  f"auth requisite {matrix} use_first_pass\n"
                  f"auth required {mod} forwarded_code\n"
                  f"account required {matrix}\n", 0o644)

    def add_user(self, user, password):
        with open(self.passdb, "a") as f:
            for service in ("imap", "pop3"):
                f.write(f"{user}:{password}:{service}\n")
        os.chmod(self.passdb, 0o600)

    def auth(self, user, service, *answers, log=None):
        """One authentication; answers: the hidden prompts in order (pam_matrix always asks
        for the password itself, after the module has split password and code). log: a
        list that gets the modules' syslog lines (pam_wrapper shows them on stderr)."""
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_PRELOAD": "libpam_wrapper.so",
               "PAM_WRAPPER": "1", "PAM_WRAPPER_SERVICE_DIR": self.svc}
        if log is not None:
            env["PAM_WRAPPER_DEBUGLEVEL"] = "2"
        if sanitizer_build(self.module):
            # The sanitizer runtime must come first; python itself leaks by design.
            asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                                  text=True).stdout.strip()
            env.update({"LD_PRELOAD": f"{asan} libpam_wrapper.so",
                        "PAM_WRAPPER_DISABLE_DEEPBIND": "1",
                        "ASAN_OPTIONS": "detect_leaks=0:exitcode=23",
                        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=23"})
        r = subprocess.run(["/usr/bin/python3", self.script,
                            json.dumps({"user": user, "service": service,
                                        "answers": list(answers)})],
                           capture_output=True, text=True, env=env, timeout=60)
        check(r.returncode == 0 and r.stdout.strip(), f"pypamtest crashed: {r.stderr[-500:]}")
        if log is not None:
            log.extend(ln for ln in r.stderr.splitlines() if "SYSLOG" in ln)
        return r.stdout.strip() == "OK"


@case("app-password-add-warns-about-unknown-service")
def t_app_service_warning():
    """--service names a PAM service: when no /etc/pam.d file of that name checks app
    passwords, the password could never log in: say so (Dovecot's service name is the
    passdb's `args =`, default dovecot). /etc/pam.d is a directory of this test's own,
    bound over the real one in a private mount namespace."""
    import shutil
    if shutil.which("unshare") is None:
        raise Skip("needs unshare")
    sb = sandbox()
    user = sb.new_user()
    pamd = os.path.join(sb.tmp, "pam.d-warn")
    os.makedirs(pamd, exist_ok=True)
    write(os.path.join(pamd, "imap"), "# IMAP\n"
          "auth [success=done default=ignore] pam_recover.so app_passwords\n"
          "auth required pam_unix.so\n", 0o644)
    write(os.path.join(pamd, "pop3"), "auth required pam_unix.so\n"
          "# auth [success=done default=ignore] pam_recover.so app_passwords\n", 0o644)

    def add(name, services):
        cmd = " ".join(["mount --bind", pamd, "/etc/pam.d && exec"] +
                       sb.cmd(["app-password", "add", name, "--service", services,
                               "--user", user]))
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd],
                              capture_output=True, text=True, env=sb.env(), timeout=60)

    r = add("ok1", "imap")
    check(r.returncode == 0 and "warning" not in r.stderr, f"imap: {r.returncode} {r.stderr!r}")
    r = add("w1", "imap,pop3,smtp")
    flat = " ".join(r.stderr.split())
    check(r.returncode == 0, f"add with a warning failed: {r.returncode} {r.stderr!r}")
    check('"pop3"' in flat and '"smtp"' in flat and '"imap"' not in flat,
          f"warnings for the wrong services: {flat!r}")
    check("args =" in flat and "dovecot" in flat, f"no word on Dovecot's service: {flat!r}")


@case("app-password-through-libpam")
def t_app_pam():
    try:
        import pypamtest  # noqa: F401
    except ImportError:
        raise Skip("python3-pypamtest is not installed")
    sb = sandbox()
    stack = PamStack(sb)
    user = sb.new_user("mail")
    stack.add_user(user, "Mail-Pass1")
    secret, _, s0 = sb.enable_json(user)
    pw = app_add(sb, user, "laptop-imap", "imap")
    # The mail program's one field: app password accepted on the service it was made for.
    check(stack.auth(user, "imap", pw), "app password refused on imap")
    check(stack.auth(user, "imap", pw.replace("-", "").upper()),
          "app password without dashes refused")
    used = sb.json(["app-password", "list", "--user", user])["app_passwords"][0]["last_used"]
    check(used is not None, "last_used not stamped")
    # On another service it falls through to password+code, which it is not: refused, and
    # the refusal is logged at NOTICE with the app password's name and services (the mail
    # program is set up with the wrong service: the admin needs to see why).
    log = []
    check(not stack.auth(user, "pop3", pw, log=log), "app password for imap accepted on pop3")
    check(any("SYSLOG(5)" in ln and "app password laptop-imap (imap) is not for pop3" in ln
              for ln in log), f"no NOTICE for the app password of another service: {log}")
    # That path itself works (password followed by the code), so the refusal is the service.
    check(stack.auth(user, "pop3", "Mail-Pass1" + totp(secret, s0 + 1), "Mail-Pass1"),
          "password+code refused on pop3 (control)")
    check(not stack.auth(user, "imap", "Mail-Pass1"), "the bare password passes")
    # Revoked: refused everywhere.
    r = sb.run(["app-password", "revoke", "laptop-imap", "--user", user])
    check(r.returncode == 0, f"revoke failed: {r.stderr}")
    check(not stack.auth(user, "imap", pw), "revoked app password accepted")


# ---------------------------------------------------------------------------------------------
# status, audit, JSON protocol, help

@case("admin-list-all-accounts")
def t_admin_list_all():
    """admin list --all: every account with a login shell (those with nologin or false left
    out) and every enrolled virtual user, with a header and 2FA, since, backup codes left,
    locked and contacts. The accounts are this test's own: a passwd file bound over
    /etc/passwd in a private mount namespace."""
    import shutil
    if shutil.which("unshare") is None:
        raise Skip("needs unshare")
    sb = sandbox()
    virt = sb.new_user()
    sb.enable_json(virt)
    # laid over /etc as a read-only overlay: a file bound over /etc/passwd would be unmounted
    # when a useradd elsewhere renames the host's file
    etc_top = os.path.join(sb.tmp, "etc-top")
    os.makedirs(etc_top, exist_ok=True)
    passwd = os.path.join(etc_top, "passwd")
    write(passwd, "root:x:0:0:root:/root:/bin/bash\n"
          "lsalice:x:61001:61001::/nonexistent:/bin/bash\n"
          "lsbob:x:61002:61002::/nonexistent:/bin/sh\n"
          "lsdaemon:x:61003:61003::/nonexistent:/usr/sbin/nologin\n"
          "lsfalse:x:61004:61004::/nonexistent:/bin/false\n", 0o644)
    h = " ".join(sb.cmd([]))
    script = (f"mount -t overlay overlay -o lowerdir={etc_top}:/etc /etc && "
              f"{h} admin enrol lsalice >/dev/null && "
              f"{h} admin set-contact lsalice email lsalice@mail.example >/dev/null && "
              f"{h} admin list --all && echo ==== && {h} --json admin list --all")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, env=sb.env(), timeout=60)
    check(r.returncode == 0, f"admin list --all: {r.returncode} {r.stderr!r}")
    text, js = r.stdout.split("====\n")
    lines = text.splitlines()
    check(lines[0].split() == ["USER", "2FA", "SINCE", "BACKUP", "LOCKED", "CONTACTS"],
          f"header: {lines[0]!r}")
    rows = {ln.split()[0]: ln.split() for ln in lines[1:] if ln.strip()}
    check("lsdaemon" not in rows and "lsfalse" not in rows, f"nologin accounts listed: {rows}")
    check(rows.get("lsbob", [])[1:] == ["off", "-", "0", "no", "-"], f"lsbob: {rows.get('lsbob')}")
    a = rows.get("lsalice", [])
    check(a[1] == "on" and re.fullmatch(r"\d{4}-\d\d-\d\d", a[2]) and a[3] == "10" and
          a[4] == "no" and a[5] == "email", f"lsalice: {a}")
    check(rows.get(virt, [None, None])[1] == "on", f"the virtual user is missing: {rows}")
    j = {o["user"]: o for o in json.loads(js)}
    check(set(j) >= {"root", "lsalice", "lsbob", virt} and "lsdaemon" not in j, f"json: {list(j)}")
    check(j["lsalice"]["contacts"] == ["email"] and j["lsalice"]["backup_codes_left"] == 10 and
          j["lsalice"]["totp_enabled"] is True and j["lsbob"]["totp_enabled"] is False,
          f"json rows: {j['lsalice']} {j['lsbob']}")


@case("status-human-and-json")
def t_status():
    sb = sandbox()
    user = sb.new_user()
    r = sb.run(["status", "--user", user])
    check(r.returncode == 0 and "2-step verification: off" in r.stdout and
          "pam-recover enable" in r.stdout, f"status off: {r.stdout!r}")
    sb.enable_json(user)
    r = sb.run(["status", "--user", user])
    check(r.returncode == 0 and re.search(r"2-step verification: on \(sha1, 6 digits", r.stdout)
          and "backup codes left:   10" in r.stdout and "not locked" in r.stdout,
          f"status on: {r.stdout!r}")
    j = sb.status(user)
    for k in ("user", "totp_enabled", "algorithm", "backup_codes_left", "locked", "contacts",
              "app_passwords"):
        check(k in j, f"status --json lacks {k}: {j}")
    check(j["user"] == user and j["locked"] is False, f"status json: {j}")
    r = sb.run(["status", "--user", "no-such-user-xyz"])
    check(r.returncode == 66, f"unknown user: {r.returncode}")


@case("same-labels-status-contact-list-admin-show")
def t_same_labels():
    """status, contact list and admin show name the same things the same way: the lines of
    the recovery contacts are identical, and every label the three share is spelt alike."""
    sb = sandbox()
    user = sb.new_user()
    sb.enable_json(user)
    r = sb.run(["admin", "set-contact", user, "email", "same.labels@mail.example"])
    check(r.returncode == 0, f"set-contact: {r.stderr}")
    outs = {}
    for name, args in (("status", ["status", "--user", user]),
                       ("contact list", ["contact", "list", "--user", user]),
                       ("admin show", ["admin", "show", user])):
        r = sb.run(args)
        check(r.returncode == 0, f"{name}: {r.returncode} {r.stderr}")
        outs[name] = {m.group(1): m.group(2).strip() for m in
                      re.finditer(r"^  (\S[^:]*):\s+(.*)$", r.stdout, re.M)}
    contact_labels = ("recovery e-mail", "recovery phone", "recovery Telegram",
                      "security question")
    for name, fields in outs.items():
        for lab in contact_labels:
            check(lab in fields, f"{name} has no {lab!r} line: {sorted(fields)}")
            check(fields[lab] == outs["status"][lab],
                  f"{lab}: {name} says {fields[lab]!r}, status {outs['status'][lab]!r}")
    for lab in ("2-step verification", "backup codes left", "logins", "app passwords"):
        check(lab in outs["status"] and lab in outs["admin show"],
              f"{lab!r} not in both status and admin show: {sorted(outs['admin show'])}")


@case("audit-events-without-secrets")
def t_audit():
    sb = sandbox()
    user = sb.new_user()
    secret, codes, _ = sb.enable_json(user)
    pw = sb.json(["app-password", "add", "x1", "--user", user])["password"]
    sb.json(["backup-codes", "--user", user])
    j = sb.json(["admin", "audit", user])
    events = [e["event"] for e in j["events"]]
    for ev in ("enable-start", "enable", "app-password-add", "backup-codes"):
        check(ev in events, f"no {ev} audit event: {events}")
    check(all(e["user"] == user and e["method"] == "root" for e in j["events"]),
          f"audit rows: {j['events']}")
    check(len(sb.json(["admin", "audit", user, "--limit", "1"])["events"]) == 1, "--limit 1")
    r = sb.run(["admin", "audit"])
    check(r.returncode == 0 and user in r.stdout, "admin audit (all) lacks the user")
    # Who did it is shown by name (root), not as a bare uid.
    lines = [ln.split() for ln in r.stdout.splitlines()]
    check(lines[0][:3] == ["TIME", "USER", "BY"], f"audit header: {lines[0]}")
    mine = [ln for ln in lines[1:] if user in ln]
    check(mine and all(ln[ln.index(user) + 1] == "root" for ln in mine),
          f"the caller is not named: {mine[:3]}")
    check(all(e.get("caller") == "root" for e in j["events"]), f"json caller: {j['events'][:2]}")
    text = json.dumps(j) + r.stdout
    for s in [secret, pw, pw.replace("-", "")] + codes:
        check(s not in text, "a secret is in the audit trail")
    with open(sb.db, "rb") as f:
        db = f.read()
    for s in [secret, pw.replace("-", "")] + codes:
        check(s.encode() not in db, "a secret is in the store in clear")


@case("enable-json-protocol-re-enrol")
def t_enable_json():
    """--json: one object per step out, request objects in; a re-enrolment takes the current
    proof as "current_code" and the new first code as "code"."""
    import json as _json
    sb = sandbox()
    user = sb.new_user()
    old, codes, s0 = sb.enable_json(user)
    p = subprocess.Popen(sb.cmd(["enable", "--user", user], json_out=True),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=sb.env())
    p.stdin.write(_json.dumps({"current_code": codes[5]}) + "\n")
    p.stdin.flush()
    first = _json.loads(p.stdout.readline())
    check(first["step"] == "verify" and first["replacing"] is True and
          first["uri"].startswith("otpauth://totp/") and first["secret"] != old, f"{first}")
    # A wrong first code: the same secret, tries left, and the next code object is read.
    right = totp(first["secret"], now_step())
    p.stdin.write(_json.dumps({"code": "%06d" % ((int(right) + 1) % 1000000)}) + "\n")
    p.stdin.flush()
    again = _json.loads(p.stdout.readline())
    check(again.get("ok") is False and again.get("step") == "verify" and
          again.get("tries_left") == 2, f"after a wrong first code: {again}")
    p.stdin.write(_json.dumps({"code": totp(first["secret"], now_step())}) + "\n")
    out, err = p.communicate(timeout=60)
    done = parse_json_lines(out)
    check(p.returncode == 0 and done["replaced"] is True and len(done["backup_codes"]) == 10,
          f"json re-enrol: {p.returncode} {out!r} {err!r}")
    check(sb.check_code(user, codes[6]) == LOGIN_WRONG, "old backup code works after re-enrol")
    # A front end that sends one wrong code and ends its input: the code did not verify (1).
    other = sb.new_user()
    r = sb.run(["enable", "--user", other], json_out=True,
               stdin=_json.dumps({"code": "000000"}) + "\n")
    check(r.returncode == 1 and sb.status(other)["pending_enrolment"] is False,
          f"one wrong code then end of input: {r.returncode} {r.stderr[-200:]!r}")


@case("devices-enable-name-add-on-a-terminal-status-re-enable")
def t_devices():
    """enable --name names the first device; `device add` on a terminal shows the barcode
    and key as enable does and asks for the first code; status lists the devices; enable
    again replaces every device."""
    sb = sandbox()
    user = sb.new_user()
    r = sb.run(["enable", "--user", user, "--name", "bad/name"])
    check(r.returncode == 65 and "not a usable device name" in r.stderr,
          f"enable --name bad/name: {r.returncode} {r.stderr!r}")
    c = sb.spawn(["enable", "--user", user, "--name", "work-phone"])
    c.expect(r"Code from the app \(6 digits\): ")
    key = re.search(r"key:\s+((?:[A-Z2-7]{4} ?)+)", c.before).group(1).replace(" ", "")
    c.sendline(totp(key, now_step()))
    finish(c)
    check(c.exitstatus == 0, f"enable --name: {c.exitstatus}")
    check([d["name"] for d in sb.status(user)["devices"]] == ["work-phone"],
          f"devices: {sb.status(user)['devices']}")
    # device add, as root for the user: a code from a device set up, then the new one's
    c = sb.spawn(["device", "add", "tablet", "--user", user])
    c.expect("Current code from one of the devices: ")
    c.sendline(totp(key, now_step() + 1))
    c.expect(r"Code from the app \(6 digits\): ")
    screen = c.before
    m = re.search(r"key:\s+((?:[A-Z2-7]{4} ?)+)", screen)
    check(m and "Can't scan the barcode?" in screen and "otpauth://totp/" in screen,
          f"device add does not show the new secret: {screen[-600:]!r}")
    tablet = m.group(1).replace(" ", "")
    check(tablet != key, "the new device got the first device's secret")
    c.sendline(totp(tablet, now_step()))
    c.expect("Device tablet added")
    finish(c)
    check(c.exitstatus == 0, f"device add: {c.exitstatus}")
    r = sb.run(["status", "--user", user])
    check(r.returncode == 0 and re.search(r"devices:\s+2", r.stdout) and
          re.search(r"^\s+tablet\s+sha1, 6 digits, 30 s; added .*, last used ", r.stdout, re.M)
          and re.search(r"^\s+work-phone\s", r.stdout, re.M),
          f"status does not list the devices: {r.stdout!r}")
    r = sb.run(["device", "list", "--user", user])
    check(r.returncode == 0 and "tablet" in r.stdout and "work-phone" in r.stdout,
          f"device list: {r.stdout!r}")
    check(sb.check_code(user, totp(tablet, now_step() + 1)) == LOGIN_OK, "the tablet's code")
    check(sb.check_code(user, totp(key, now_step() + 2)) == LOGIN_OK, "the phone's code")
    # a taken name and an unknown device are refused before anything is asked
    r = sb.run(["device", "remove", "laptop", "--user", user])
    check(r.returncode == 65 and "no device called laptop" in r.stderr,
          f"device remove of an unknown name: {r.returncode} {r.stderr!r}")
    r = sb.run(["device", "frob"])
    check(r.returncode == 64, f"device frob: {r.returncode}")
    # enable again: the new secret replaces every device
    p = subprocess.Popen(sb.cmd(["enable", "--user", user, "--name", "new-phone"], json_out=True),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=sb.env())
    p.stdin.write(json.dumps({"current_code": totp(tablet, now_step() + 3)}) + "\n")
    p.stdin.flush()
    first = json.loads(p.stdout.readline())
    check(first.get("step") == "verify" and first.get("replacing") is True, f"{first}")
    p.stdin.write(json.dumps({"code": totp(first["secret"], now_step())}) + "\n")
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0 and parse_json_lines(out).get("device") == "new-phone",
          f"enable again: {p.returncode} {out!r} {err!r}")
    check([d["name"] for d in sb.status(user)["devices"]] == ["new-phone"],
          f"enable again left other devices: {sb.status(user)['devices']}")
    check(sb.check_code(user, totp(tablet, now_step() + 4)) == LOGIN_WRONG,
          "the replaced tablet still works")


@case("json-input-refused-clearly")
def t_json_input():
    sb = sandbox()
    user = sb.new_user()
    secret, _, _ = sb.enable_json(user)
    for stdin, want in [("not json\n", "not one JSON object"),
                        ('{"cod":"123456"}\n', 'no "code" field'),
                        ('{"code":123456}\n', "must be a string"),
                        ('{"code":"' + "1" * 5000 + '"}\n', "longer than"),
                        ('{"code":"12\\u00003456"}\n', "NUL byte"),
                        ('{"code":"12\x003456"}\n', "NUL byte"),
                        ("", "end of file")]:
        r = sb.run(["disable", "--user", user], json_out=True, stdin=stdin)
        check(r.returncode == 65 and want in r.stderr, f"{stdin[:30]!r}: {r.returncode} {r.stderr}")
        j = parse_json_lines(r.stdout)
        check(j["ok"] is False and j["status"] == 65 and want in j["error"], f"json error: {j}")
    check(sb.status(user)["totp_enabled"] is True, "bad input changed the state")


@case("help-for-every-verb")
def t_help():
    sb = sandbox()
    for verb in (["enable"], ["disable"], ["backup-codes"], ["app-password"], ["status"],
                 ["device"], ["admin", "audit"], ["admin", "remove-device"], ["admin", "show"],
                 ["admin", "disable-2fa"], ["admin", "unlock"]):
        r = sb.run(verb + ["--help"])
        check(r.returncode == 0 and ("Usage: pam-recover " + " ".join(verb)) in r.stdout,
              f"{verb} --help: {r.returncode} {r.stdout[:80]!r}")
    r = sb.run(["--help"])
    for verb in ("enable", "disable", "backup-codes", "app-password", "status", "device"):
        check(re.search(rf"^\s+{verb}\s", r.stdout, re.M), f"{verb} not in --help")
    # Every exit status of the helper's own (helper/helper.h) is listed.
    hdr = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "helper",
                            "helper.h")).read()
    enum = hdr[hdr.index("HX_OK = 0"):hdr.index("};", hdr.index("HX_OK = 0"))]
    statuses = re.findall(r"HX_\w+ = (\d+)", enum)
    flat = " ".join(r.stdout.split())
    for st in statuses:
        check(re.search(rf"\b{st} [a-z]", flat), f"exit status {st} not in --help")
    r = sb.run(["app-password", "frobnicate"])
    check(r.returncode == 64, f"unknown subcommand: {r.returncode}")
    r = sb.run(["enable", "--bogus"])
    check(r.returncode == 64, f"unknown option: {r.returncode}")


@case("missing-key-one-hint")
def t_missing_key_hint():
    """A missing key file: one hint to run admin init, not two."""
    sb = Sandbox("nokey")
    try:
        r = sb.run(["status", "--user", sb.new_user()])
        check(r.returncode == 78 and r.stderr.count("admin init") == 1,
              f"missing key: {r.returncode} {r.stderr!r}")
    finally:
        sb.cleanup()


@case("ctrl-c-at-hidden-prompt-restores-echo")
def t_ctrl_c():
    import pexpect
    sb = sandbox()
    user = sb.new_user()
    sb.enable_json(user)
    sh = pexpect.spawn("/bin/bash", ["--norc", "--noprofile"], encoding="utf-8", timeout=15,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PS1": "PROMPT> "})
    sh.expect("PROMPT> ")
    sh.sendline(" ".join(sb.cmd(["disable", "--user", user])))
    sh.expect("Code from the app, or a backup code: ")
    sh.sendintr()
    sh.expect("PROMPT> ")
    sh.sendline("stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo; echo rc=$?")
    sh.expect(r"rc=\d")
    check(re.search(r"^echo\r?$", sh.before, re.M), f"echo not restored: {sh.before!r}")
    sh.sendline("exit")
    sh.expect(pexpect.EOF)
    check(sb.status(user)["totp_enabled"] is True, "interrupted disable changed the state")


if __name__ == "__main__":
    need_root_and_tools("oathtool", "zbarimg", "qrencode")
    try:
        import pexpect  # noqa: F401
    except ImportError:
        print("SKIP: python3-pexpect is not installed")
        sys.exit(77)
    try:
        run_cases("helper-user")
    finally:
        if SB is not None and not os.environ.get("HX_KEEP"):
            SB.cleanup()
