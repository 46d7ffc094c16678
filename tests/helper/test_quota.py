#!/usr/bin/python3
"""
Send quotas that cannot be raced: 25 helpers started at once against a slow SMS gateway on
loopback (each request takes SLOW seconds, so every run is past its quota check before the
first message is out) never send more messages than the limit allows, for each limit:

- per account (sends_per_hour): parallel resets of one account by SMS;
- per destination (destination_sends_per_day): one number set as the recovery phone of 25
  accounts at once (`contact set phone`, the verification SMS);
- per account for contact verification (`contact verify phone --resend`);
- per caller (caller_requests_per_hour): parallel resets of 25 accounts by one client of a
  web front end (`reset --client ADDRESS`); another client still gets its codes; typing a
  user name counts nothing; security-question answers count;
- the host's SMS budget (sms_daily_budget), also for unknown names.

The gateway is a real HTTP server (http.server) in this process; the helper's network child
talks to it over loopback. As root, with the built helper and --config (a caller of its own
comes from --client; the uid caller is covered by test_factor.py's setuid runs).

usage: test_quota.py [BUILDDIR]      (RC_TEST_ONLY=REGEX selects cases)
"""
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import Sandbox, case, check, need_root_and_tools, run_cases  # noqa: E402

PARALLEL = 25
SLOW = 1.5
SEQ = [0]


class Gateway:
    """A slow SMS gateway: every request is recorded, then answered after SLOW seconds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies = []
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = urllib.parse.unquote_plus(self.rfile.read(n).decode("utf-8", "replace"))
                with gw.lock:
                    gw.bodies.append(body)
                time.sleep(SLOW)
                out = b'{"status":"queued"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent_to(self, number):
        with self.lock:
            return sum(1 for b in self.bodies if number in b)


GW = None
MADE = []  # every sandbox of the run, removed at the end


def sandbox(extra):
    sb = Sandbox("quota", extra_cfg=f"sms_url = http://127.0.0.1:{GW.port}/sms\n"
                 "reset_methods = email,sms,question\n"
                 "smtp_url = smtp://127.0.0.1:9\nsmtp_tls = none\n"
                 "mail_from = recover@example.net\n" + extra)
    MADE.append(sb)
    return sb.init()


def number():
    SEQ[0] += 1
    return "+3712%07d" % ((os.getpid() * 100 + SEQ[0]) % 10000000)


def phone_user(sb, num):
    user = sb.new_user("q")
    r = sb.run(["admin", "set-contact", user, "phone", num])
    check(r.returncode == 0, f"admin set-contact: {r.stderr}")
    return user


def parallel(fn, n=PARALLEL):
    """Run fn(i) in n threads released at the same moment; their results in order."""
    results = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        gate.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def reset_sms(sb, user, client=None):
    """A reset by SMS up to the code step (then the input ends): the last objects."""
    args = ["reset"] + (["--client", client] if client else [])
    r = sb.run(args, json_out=True, timeout=120,
               stdin=json.dumps({"user": user}) + "\n" + json.dumps({"method": "sms"}) + "\n")
    return r.returncode, [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]


def steps(objs):
    return [o.get("code") if o.get("step") == "error" else o.get("step") for o in objs]


@case("reset-25-parallel-per-account")
def t_account():
    sb = sandbox("sends_per_hour = 3\n")
    num = number()
    user = phone_user(sb, num)
    res = parallel(lambda i: reset_sms(sb, user))
    got = GW.sent_to(num)
    check(got == 3, f"{got} SMS went out with sends_per_hour = 3 (25 parallel resets)")
    limited = sum(1 for rc, objs in res if "rate_limited" in steps(objs))
    check(limited == PARALLEL - 3, f"{limited} runs were told about the limit: "
          f"{[steps(o) for _, o in res][:5]}")


@case("contact-set-25-accounts-one-number-per-destination")
def t_destination():
    sb = sandbox("sends_per_hour = 5\ndestination_sends_per_day = 2\n")
    num = number()
    users = [sb.new_user("d") for _ in range(PARALLEL)]
    res = parallel(lambda i: sb.run(["contact", "set", "phone", num, "--user", users[i]],
                                    json_out=True, stdin="", timeout=120))
    got = GW.sent_to(num)
    check(got == 2, f"{got} SMS to one number with destination_sends_per_day = 2")
    codes = sorted(r.returncode for r in res)
    check(codes.count(75) == PARALLEL - 2, f"exit statuses: {codes}")
    check(all("today" in r.stderr for r in res if r.returncode == 75),
          "the refusal does not say why")


@case("contact-verify-resend-25-parallel-per-account")
def t_verify():
    sb = sandbox("sends_per_hour = 2\n")
    num = number()
    user = sb.new_user("v")
    # Stored unverified by a first `contact set` (one send); then 25 resends at once.
    r = sb.run(["contact", "set", "phone", num, "--user", user], json_out=True, stdin="")
    check(r.returncode == 0 and GW.sent_to(num) == 1, f"contact set: {r.returncode} {r.stderr}")
    parallel(lambda i: sb.run(["contact", "verify", "phone", "--resend", "--user", user],
                              json_out=True, stdin="", timeout=120))
    got = GW.sent_to(num)
    check(got == 2, f"{got} SMS with sends_per_hour = 2")


@case("reset-25-parallel-per-client-of-a-front-end")
def t_caller():
    sb = sandbox("sends_per_hour = 5\ncaller_requests_per_hour = 4\n")
    nums = [number() for _ in range(PARALLEL)]
    users = [phone_user(sb, n) for n in nums]
    # Typing a name counts nothing: ten runs that stop after the name.
    for i in range(10):
        sb.run(["reset", "--client", "198.51.100.7"], json_out=True,
               stdin=json.dumps({"user": users[i]}) + "\n")
    res = parallel(lambda i: reset_sms(sb, users[i], client="198.51.100.7"))
    got = sum(GW.sent_to(n) for n in nums)
    check(got == 4, f"{got} SMS for one client with caller_requests_per_hour = 4")
    finals = [o[-1] for _, o in res if o and o[-1].get("code") == "rate_limited"]
    check(len(finals) == PARALLEL - 4 and all(o["final"] for o in finals),
          f"{len(finals)} final rate_limited answers")
    # Over its limit, the client is refused right after the name, and nothing is written.
    before = len(sb.json(["admin", "audit", users[0]])["events"])
    r = sb.run(["reset", "--client", "198.51.100.7"], json_out=True,
               stdin=json.dumps({"user": users[0]}) + "\n")
    objs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    check(r.returncode == 75 and steps(objs) == ["user", "rate_limited"],
          f"over the limit: {r.returncode} {steps(objs)}")
    check(len(sb.json(["admin", "audit", users[0]])["events"]) == before,
          "a caller over its limit wrote to the store")
    # Another client of the same front end is not held back by this one.
    other = number()
    rc, objs = reset_sms(sb, phone_user(sb, other), client="2001:db8:1:2::99")
    check(GW.sent_to(other) == 1 and steps(objs)[-1] == "code", f"other client: {steps(objs)}")
    # One IPv6 /64 is one client: three more addresses in it, then the limit.
    seen = []
    for i in range(4):
        rc, objs = reset_sms(sb, phone_user(sb, number()), client=f"2001:db8:1:2:{i}::7")
        seen.append(steps(objs)[-1])
    check(seen == ["code", "code", "code", "rate_limited"], f"one /64: {seen}")


@case("question-answers-count-per-caller")
def t_answers():
    sb = sandbox("caller_requests_per_hour = 2\nquestion_daily_attempts = 10\n")
    user = sb.new_user("a")
    r = sb.run(["contact", "set", "question", "--question", "Name of the first pet?", "--user", user],
               json_out=True, stdin=json.dumps({"answer": "Rex"}) + "\n" +
               json.dumps({"answer": "Rex"}) + "\n")
    check(r.returncode == 0, f"contact set question: {r.returncode} {r.stderr}")
    stdin = (json.dumps({"user": user}) + "\n" + json.dumps({"method": "question"}) + "\n" +
             "".join(json.dumps({"answer": f"wrong{i}"}) + "\n" for i in range(3)))
    r = sb.run(["reset", "--client", "192.0.2.55"], json_out=True, stdin=stdin)
    objs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    check(steps(objs).count("wrong_answer") == 2 and objs[-1]["code"] == "rate_limited" and
          r.returncode == 75, f"answers per caller: {r.returncode} {steps(objs)}")


@case("sms-budget-25-parallel-also-unknown-names")
def t_budget():
    sb = sandbox("sms_daily_budget = 2\nsends_per_hour = 5\n")
    nums = [number() for _ in range(PARALLEL)]
    users = [phone_user(sb, n) for n in nums]
    parallel(lambda i: reset_sms(sb, users[i]))
    got = sum(GW.sent_to(n) for n in nums)
    check(got == 2, f"{got} SMS with sms_daily_budget = 2")
    # The budget is spent: a real account and an unknown name get the same answer.
    real = steps(reset_sms(sb, users[0])[1])
    fake_user = "nobody%d@example.org" % os.getpid()
    rc, objs = reset_sms(sb, fake_user)
    methods = [m["id"] for m in objs[1].get("methods", [])] if len(objs) > 1 else []
    if "sms" in methods:
        check(steps(objs) == real, f"budget answers differ: {real} / {steps(objs)}")


def main():
    global GW
    need_root_and_tools()
    GW = Gateway()
    try:
        run_cases("helper-quota")
    finally:
        for sb in MADE:
            sb.cleanup()


if __name__ == "__main__":
    main()
