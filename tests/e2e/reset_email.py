"""A password reset by e-mail through `pam-recover --json reset`, for tests/e2e/run.

usage: /usr/bin/python3 reset_email.py HELPER CONFIG USER ADDRESS MAILDIR
The new password comes on stdin (one line), never on the command line. Answers the steps of
the JSON reset protocol (pam-recover(8), RESET PROTOCOL): user -> method "email" -> the
recovery address -> the code, read from the mail that tests/helper/smtp_sink.py stored in
MAILDIR (msg-NNNN.json) -> the new password -> done.
Prints the helper's objects, one per line, and last the code that was used as
{"e2e_code": CODE}; exit status 0 when the flow ended in {"step":"done"}, 1 otherwise.
"""
import glob
import json
import os
import re
import subprocess
import sys
import threading
import time

TIMEOUT = 90


class Flow:
    def __init__(self, argv):
        env = dict(os.environ)
        for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):  # sanitizer builds only
            if os.environ.get("E2E_CHILD_" + k):
                env[k] = os.environ["E2E_CHILD_" + k]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.timer = threading.Timer(TIMEOUT, self.p.kill)
        self.timer.start()

    def read(self, step):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"the helper ended before the step {step!r}")
        print(line.rstrip("\n"), flush=True)
        obj = json.loads(line)
        if obj.get("step") != step:
            raise RuntimeError(f"expected the step {step!r}, got {obj}")
        return obj

    def send(self, obj):
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.stdin = None  # communicate() must not flush a closed pipe
        out, err = self.p.communicate(timeout=TIMEOUT)
        self.timer.cancel()
        return self.p.returncode, out, err


def mails(maildir):
    out = []
    for path in sorted(glob.glob(os.path.join(maildir, "msg-*.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def code_mail(maildir, addr, since):
    end = time.time() + 30
    while time.time() < end:
        for m in mails(maildir)[since:]:
            if addr in m["rcpt_tos"] and "Subject: Reset your password" in m["data"]:
                body = m["data"].split("\r\n\r\n", 1)[-1]
                found = re.search(r"\b(\d{8})\b", body)
                if not found:
                    raise RuntimeError(f"no code in the mail: {m['data'][:400]!r}")
                return found.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"no code mail to {addr} within 30 s")


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    helper, cfg, user, addr, maildir = sys.argv[1:]
    password = sys.stdin.readline().rstrip("\n")
    since = len(mails(maildir))
    flow = Flow([helper, "--config", cfg, "--json", "reset"])
    code = None
    try:
        flow.read("user")
        flow.send({"user": user})
        m = flow.read("method")
        ids = [x.get("id") for x in m.get("methods", [])]
        if "email" not in ids:
            raise RuntimeError(f"e-mail is not offered: {m}")
        flow.send({"method": "email"})
        flow.read("email")
        flow.send({"email": addr})
        flow.read("code")
        code = code_mail(maildir, addr, since)
        flow.send({"code": code})
        flow.read("password")
        flow.send({"password": password})
        flow.read("done")
    except (RuntimeError, ValueError, OSError) as e:
        print(f"reset_email: {e}", file=sys.stderr)
        rc, out, err = flow.close()
        sys.stdout.write(out)
        print(f"reset_email: helper exit {rc}; stderr: {err.strip()}", file=sys.stderr)
        return 1
    rc, out, err = flow.close()
    sys.stdout.write(out)
    print(json.dumps({"e2e_code": code}))
    if rc != 0:
        print(f"reset_email: helper exit {rc} after done; stderr: {err.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
