"""su or login on a pseudo-terminal, answering the password and code prompts, for
tests/e2e/run (which runs this inside the private mount namespace).

usage: /usr/bin/python3 tty_login.py su|login TARGET_USER
stdin: two lines, the password and the code (never on the command line).
Exit status: 0 the shell ran as TARGET_USER, 1 refused ("Authentication failure" /
"Login incorrect"), 2 anything else (a test must not count 2 as "refused").
Prints the prompts seen on stderr, one per line, as "prompt: ...".
"""
import os
import sys

import pexpect

TIMEOUT = 30


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("su", "login"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, target = sys.argv[1], sys.argv[2]
    password = sys.stdin.readline().rstrip("\n")
    code = sys.stdin.readline().rstrip("\n")
    marker = "E2E-SHELL-AS-"
    # What the shell runs: the quotes keep the terminal's echo of the typed line from
    # matching the marker; only the shell's output does.
    show = 'echo E2E-SHELL""-AS-$(id -un)'
    if mode == "su":
        # Plain su: its PAM service is "su" (`su -` uses "su-l", which on Debian includes
        # su).
        cmd, args = "/bin/su", ["-c", show, target]
    else:
        cmd, args = "/bin/login", ["--", target]
    env = {"PATH": "/usr/bin:/bin", "TERM": "dumb", "LANG": "C"}
    # A sanitizer build of the module needs its runtime preloaded into login.
    for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if os.environ.get("E2E_CHILD_" + k):
            env[k] = os.environ["E2E_CHILD_" + k]
    child = pexpect.spawn(cmd, args, timeout=TIMEOUT, encoding="utf-8", codec_errors="replace",
                          env=env)
    refused = ["Authentication failure", "Login incorrect", "incorrect password"]
    try:
        while True:
            i = child.expect([r"[Vv]erification code: ?", r"[Pp]assword: ?"] + refused +
                             [marker + r"(\S+)", r"\$ $", pexpect.EOF])
            if i == 0:
                print("prompt: Verification code", file=sys.stderr)
                child.sendline(code)
            elif i == 1:
                print("prompt: Password", file=sys.stderr)
                child.sendline(password)
            elif i in (2, 3, 4):
                print(f"{mode}: refused: {refused[i - 2]}", file=sys.stderr)
                return 1
            elif i == 5:
                who = child.match.group(1).strip()
                if who == target:
                    if mode == "login":
                        child.sendline("exit")
                    return 0
                print(f"{mode}: the shell runs as {who}, not {target}", file=sys.stderr)
                return 2
            elif i == 6:  # login's shell prompt
                child.sendline(show + "; exit")
            else:
                print(f"{mode}: ended without a shell: {child.before!r}", file=sys.stderr)
                return 2
    except pexpect.TIMEOUT:
        print(f"{mode}: timed out; last output: {child.before!r}", file=sys.stderr)
        return 2
    finally:
        child.close(force=True)


if __name__ == "__main__":
    sys.exit(main())
