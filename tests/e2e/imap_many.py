"""Many IMAP LOGINs at once or in a timed series, from chosen loopback source addresses,
for tests/e2e/run (the single-login client is imap_login.py; this one reuses it).

usage:
  /usr/bin/python3 imap_many.py parallel PORT USER COUNT SOURCE [SOURCE...]
      COUNT logins from each SOURCE, all released at the same moment (a barrier after
      every connection is open and greeted). The secret comes on stdin (one line).
      Prints one line per login, "SOURCE RC" (RC as imap_login.py: 0 logged in,
      1 refused, 2 other error), then "ok SOURCE N" per source. Exit 0 unless a login
      ended in RC 2.
  /usr/bin/python3 imap_many.py timing PORT ROUNDS NET USER [USER...]
      ROUNDS wrong logins for each USER. In each round every USER logs in at the same
      moment (a barrier after the connections are greeted), so that a load that comes and
      goes weighs on every side alike; each from its own source address NET.<n>
      (Dovecot's per-address penalty must not weigh on one side). The passwords come on
      stdin, one line per user. Prints the time of each LOGIN, then "median USER SECONDS"
      per user and "ratio" (largest / smallest median). Exit 0 if every login was
      refused, 2 otherwise.
"""
import socket
import statistics
import sys
import threading
import time

from imap_login import SourcedIMAP, TIMEOUT
import imaplib


def login_once(conn, user, secret):
    """LOGIN on an open connection: 0 logged in, 1 refused, 2 other."""
    try:
        try:
            conn.login(user, secret)
        except imaplib.IMAP4.error as e:
            msg = str(e)
            return 1 if "AUTHENTICATIONFAILED" in msg or "failed" in msg.lower() else 2
        conn.logout()
        return 0
    except (OSError, imaplib.IMAP4.error):
        return 2
    finally:
        try:
            conn.shutdown()
        except OSError:
            pass


def parallel(port, user, count, sources, secret):
    conns = []
    for src in sources:
        for _ in range(count):
            conns.append((src, SourcedIMAP("127.0.0.1", port, src)))
    barrier = threading.Barrier(len(conns))
    results = [None] * len(conns)

    def run(i, conn):
        barrier.wait(timeout=TIMEOUT)
        results[i] = login_once(conn, user, secret)

    threads = [threading.Thread(target=run, args=(i, c)) for i, (_, c) in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    bad = False
    for (src, _), rc in zip(conns, results):
        rc = 2 if rc is None else rc
        bad = bad or rc == 2
        print(f"{src} {rc}")
    for src in sources:
        n = sum(1 for (s, _), rc in zip(conns, results) if s == src and rc == 0)
        print(f"ok {src} {n}")
    return 2 if bad else 0


def timing(port, rounds, net, users, secrets):
    times = {u: [] for u in users}
    n = 0
    refused_all = True
    for _ in range(rounds):
        conns = []
        for user in users:
            n += 1
            src = f"{net}.{n}"
            try:
                conns.append((src, SourcedIMAP("127.0.0.1", port, src)))
            except (OSError, imaplib.IMAP4.error) as e:
                print(f"connect from {src} failed: {e}")
                return 2
        barrier = threading.Barrier(len(users))
        results = [None] * len(users)

        def run(i, conn, user, secret):
            barrier.wait(timeout=TIMEOUT)
            t0 = time.monotonic()
            rc = login_once(conn, user, secret)
            results[i] = (rc, time.monotonic() - t0)

        threads = [threading.Thread(target=run, args=(i, c, u, s))
                   for i, ((_, c), u, s) in enumerate(zip(conns, users, secrets))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 3)
        for (src, _), user, res in zip(conns, users, results):
            if res is None:
                print(f"{user} {src}: no answer")
                return 2
            rc, dt = res
            times[user].append(dt)
            print(f"{user} {src} rc={rc} {dt:.3f}s")
            refused_all = refused_all and rc == 1
    medians = [statistics.median(times[u]) for u in users]
    for u, m in zip(users, medians):
        print(f"median {u} {m:.3f}")
    lo, hi = min(medians), max(medians)
    print(f"ratio {hi / lo if lo > 0 else float('inf'):.3f}")
    return 0 if refused_all else 2


def main():
    a = sys.argv[1:]
    try:
        if len(a) >= 5 and a[0] == "parallel":
            secret = sys.stdin.readline().rstrip("\n")
            return parallel(int(a[1]), a[2], int(a[3]), a[4:], secret)
        if len(a) >= 6 and a[0] == "timing":
            users = a[4:]
            secrets = [sys.stdin.readline().rstrip("\n") for _ in users]
            return timing(int(a[1]), int(a[2]), a[3], users, secrets)
    except (OSError, imaplib.IMAP4.error, threading.BrokenBarrierError) as e:
        print(f"imap_many: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    socket.setdefaulttimeout(TIMEOUT)
    sys.exit(main())
