#!/usr/bin/python3
"""
The PostgreSQL store against a real server (tests/helper/pglib.py: initdb in a temporary
directory, unix socket and a port of its own), driven through the built helper as root:

- admin init creates the schema; doctor and --check-config see the connection, schema and
  key-check record;
- two configurations ("two hosts", one key_file, one server): a code accepted through one
  is refused through the other; 16 processes (8 per host) present the same code, exactly
  one wins, 100 rounds (20 under the sanitizers); failures counted on both hosts lock the
  user on both;
- devices without a replay row (a store from before every device got one when made): the
  first code raced by 16 processes, exactly one wins and none fails;
- a login whose state is clean (no failure, no lock) writes only the device's replay row,
  and a right code presented while another host counts the fifth failure waits for that
  count and is refused as locked; turning 2FA off while a login holds the device's row
  waits for it (the login's lock order), no deadlock;
- the store-level race (tests/unit/store_race -s URI): 16 connections, 30 rounds (10 under
  the sanitizers) of the compare-and-set (each round starts 16 server processes; the 100
  rounds above, through the module, are the long run), and no lost increment of failure
  counts and rate-limit counters (the quotas) across connections;
- the server stopped during logins: every check ends within seconds (refused, no hang);
  started again: logins work, and the code used before the stop is still refused;
- the server process of the module's kept connection stopped (SIGSTOP: a server that keeps
  its TCP connection but does not answer): the login is unavailable within the wait's limit;
  resumed, the next login works on a new connection and the earlier code is still refused;
- loopback TCP as well as the unix socket;
- admin copy-store: SQLite -> PostgreSQL -> SQLite keeps every enrolment (every device and
  its replay step), contact, app password and backup code working, and refuses a destination
  that is not empty; from a PostgreSQL store that a writer changes all along (a commit at a
  time, one row in each of two tables read far apart) the copy succeeds and is one
  snapshot (as many of the one as of the other); a row count that differs (a destination
  that drops one table's rows) fails the copy with the destination left empty, and the
  copy then runs again;
- a store written by release 0.1.0 (tests/upgrade, SQL text) opens with this build: every
  enrolment becomes the device `default`, its codes work, its replay step carried over; a
  second device then has its own replay state, on both hosts.
- retention (tests/helper/retlib.py, as test_retention.py on SQLite): admin prune and the
  pruning every verb does once per prune_interval remove exactly the old audit events,
  counter rows and codes; never `check`; 8 verbs at once prune once; a failing pruning
  leaves the verb's result alone.

usage: test_pg.py [BUILDDIR]      (RC_TEST_ONLY=REGEX selects cases)
"""
import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (Fail, Sandbox, Skip, case, check, need_root_and_tools,  # noqa: E402
                    STEP, now_step, run_cases, totp, write)
import pglib  # noqa: E402
import retlib  # noqa: E402

LOGIN_OK, LOGIN_OK_BACKUP, LOGIN_WRONG, LOGIN_REPLAY, LOGIN_LOCKED = 0, 1, 2, 3, 4
LOGIN_NOT_ENROLLED, LOGIN_ERROR, LOGIN_OK_APP = 5, 6, 7
RACERS = 16
# Under the sanitizers (scripts/test-all's asan-check sets RC_SANITIZERS) fewer rounds, as in
# its asan-pam layer: they look for memory errors, the plain build runs the long races.
SANITIZED = bool(os.environ.get("RC_SANITIZERS"))
ROUNDS = 20 if SANITIZED else 100
STORE_ROUNDS = 10 if SANITIZED else 30
SERVER = {}


def server():
    if "srv" not in SERVER:
        why = pglib.available()
        if why:
            raise Skip(why)
        SERVER["srv"] = pglib.PgServer().start()
        SERVER["n"] = 0
    return SERVER["srv"]


def fresh_db():
    srv = server()
    SERVER["n"] += 1
    return srv.create_db(f"t{SERVER['n']}")


class PgSandbox(Sandbox):
    """A sandbox whose store is a database on the test server; cfg2 is a second host's
    configuration (same store, same key file)."""

    def __init__(self, name, uri, extra=""):
        super().__init__(name)
        self.uri = uri
        body = (f"store = {uri}\nkey_file = {self.key}\nwindow = 5\ndeny = 5\n"
                f"unlock_time = 900\nissuer = Example Mail\n" + extra)
        write(self.cfg, body)
        self.cfg2 = os.path.join(self.etc, "host2.conf")
        write(self.cfg2, body)

    def cmd2(self, args):
        return [self.helper, "--config", self.cfg2] + args

    def check2(self, user, code, service="sshd", mode="code", host=2, timeout=60):
        cmd = self.cmd2(["check"]) if host == 2 else self.cmd(["check"])
        r = subprocess.run(cmd, input=f"{mode}\n{user}\n{service}\n{code}\n",
                           capture_output=True, text=True, env=self.env(), timeout=timeout)
        return r.returncode


def import_users(sb, users, secret_hex):
    path = os.path.join(sb.etc, "users.oath")
    write(path, "".join(f"HOTP/T30/6 {u} - {secret_hex}\n" for u in users))
    r = sb.run(["admin", "import-oath", path])
    check(r.returncode == 0, f"import-oath failed ({r.returncode}): {r.stderr}")


def b32(hexs):
    import base64
    return base64.b32encode(bytes.fromhex(hexs)).decode().rstrip("=")


SECRET_HEX = "3132333435363738393031323334353637383930"


@case("init, doctor and --check-config on PostgreSQL")
def t_init():
    sb = PgSandbox("pginit", fresh_db())
    try:
        r = sb.run(["admin", "init"])
        check(r.returncode == 0, f"admin init: {r.returncode} {r.stderr}")
        check("created" in r.stdout.split("store", 1)[1].splitlines()[0],
              f"init did not say the schema was created: {r.stdout}")
        r = sb.run(["admin", "init"])
        check(r.returncode == 0 and "schema up to date" in r.stdout, f"second init: {r.stdout}")
        ver = server().psql(sb.uri.split("///")[1].split("?")[0],
                            "SELECT version FROM pam_recover_schema")
        lite = Sandbox("pgver").init()
        try:
            import sqlite3
            want = sqlite3.connect(lite.db).execute("PRAGMA user_version").fetchone()[0]
        finally:
            lite.cleanup()
        check(ver == str(want), f"schema version {ver!r}, want {want} (the same as SQLite's)")
        r = sb.run(["--check-config"])
        check(r.returncode == 0, f"--check-config: {r.returncode} {r.stdout} {r.stderr}")
        # another key: the key-check record in PostgreSQL finds it
        os.unlink(sb.key)
        with open(sb.key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(sb.key, 0o400)
        r = sb.run(["--check-config"])
        check(r.returncode != 0 and "key" in (r.stdout + r.stderr),
              f"--check-config with another key passed: {r.returncode} {r.stdout}")
    finally:
        sb.cleanup()


@case("two hosts: a code accepted on one is refused on the other; backup codes once")
def t_two_hosts():
    sb = PgSandbox("pghosts", fresh_db()).init()
    try:
        u = sb.new_user()
        secret, backups, step = sb.enable_json(u)
        code = totp(secret, now_step() + 1)
        check(sb.check_code(u, code) == LOGIN_OK, "host 1 refused a current code")
        check(sb.check2(u, code) == LOGIN_REPLAY, "host 2 accepted a code used on host 1")
        check(sb.check2(u, backups[0]) == LOGIN_OK_BACKUP, "host 2 refused a backup code")
        check(sb.check_code(u, backups[0]) == LOGIN_WRONG, "host 1 took a used backup code")
    finally:
        sb.cleanup()


@case(f"{RACERS} processes on two hosts, one code: exactly one wins, {ROUNDS} rounds")
def t_race():
    sb = PgSandbox("pgrace", fresh_db()).init()
    try:
        users = [f"race{i}@example.org" for i in range(ROUNDS)]
        import_users(sb, users, SECRET_HEX)
        bad = []
        for i, u in enumerate(users):
            code = totp(b32(SECRET_HEX), now_step())
            procs = []
            for k in range(RACERS):
                cmd = sb.cmd(["check"]) if k % 2 == 0 else sb.cmd2(["check"])
                p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=sb.env())
                procs.append(p)
            for p in procs:  # released together: every racer is started before any input
                p.stdin.write(f"code\n{u}\nsshd\n{code}\n".encode())
                p.stdin.close()
            rcs = [p.wait(timeout=60) for p in procs]
            won = rcs.count(LOGIN_OK)
            # a racer that reached the store after the step changed sees a replay
            # a replay counts as a failure: after `deny` of them the rest read as locked
            if won != 1 or any(rc not in (LOGIN_OK, LOGIN_REPLAY, LOGIN_LOCKED) for rc in rcs):
                bad.append((i, rcs))
        check(not bad, f"{len(bad)} of {ROUNDS} rounds without exactly one winner: {bad[:3]}")
        print(f"# {RACERS} processes x {ROUNDS} rounds over two configurations: "
              f"0 replays, exactly one winner each round")
    finally:
        sb.cleanup()


@case(f"devices made without a replay row: {RACERS} processes on the first code, "
      f"exactly one wins, no error, 20 rounds")
def t_race_rowless():
    sb = PgSandbox("pgrowless", fresh_db()).init()
    try:
        users = [f"old{i}@example.org" for i in range(20)]
        import_users(sb, users, SECRET_HEX)
        name = sb.uri.split("///")[1].split("?")[0]
        # as a store from before every device got its row when made
        server().psql(name, "DELETE FROM device_steps")
        bad = []
        for i, u in enumerate(users):
            code = totp(b32(SECRET_HEX), now_step())
            procs = []
            for k in range(RACERS):
                cmd = sb.cmd(["check"]) if k % 2 == 0 else sb.cmd2(["check"])
                procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                              stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, env=sb.env()))
            for p in procs:
                p.stdin.write(f"code\n{u}\nsshd\n{code}\n".encode())
                p.stdin.close()
            rcs = [p.wait(timeout=60) for p in procs]
            if rcs.count(LOGIN_OK) != 1 or any(
                    rc not in (LOGIN_OK, LOGIN_REPLAY, LOGIN_LOCKED) for rc in rcs):
                bad.append((i, rcs))
        check(not bad, f"{len(bad)} of {len(users)} rounds without exactly one winner: "
              f"{bad[:3]}")
        rows = server().psql(name, "SELECT count(*) FROM device_steps WHERE last_step >= 0")
        check(rows == str(len(users)), f"replay rows with a step: {rows}, want {len(users)}")
        print(f"# {RACERS} processes x {len(users)} rounds on devices without a replay row: "
              f"exactly one winner each round, no error")
    finally:
        sb.cleanup()


@case(f"the store-level race on PostgreSQL: 16 connections, {STORE_ROUNDS} rounds, "
      "no lost increment")
def t_store_race():
    race = os.path.join(sb_build(), "tests", "unit", "store_race")
    if not os.access(race, os.X_OK):
        raise Skip("tests/unit/store_race is not built")
    uri = fresh_db()
    r = subprocess.run([race, "-n", "16", "-r", str(STORE_ROUNDS), "-k", "60", "-s", uri],
                       capture_output=True, text=True, timeout=600)
    sys.stdout.write("".join(f"# {line}\n" for line in r.stdout.splitlines()))
    check(r.returncode == 0, f"store_race ({r.returncode}): {r.stdout} {r.stderr[-2000:]}")


def sb_build():
    from rctest import top_builddir
    return top_builddir()


@case("failures counted on both hosts lock the user on both")
def t_lock():
    sb = PgSandbox("pglock", fresh_db()).init()
    try:
        u = sb.new_user()
        secret, _, _ = sb.enable_json(u)
        for i in range(5):
            rc = sb.check2(u, "000000", host=1 + i % 2)
            check(rc in (LOGIN_WRONG, LOGIN_LOCKED), f"wrong code {i}: {rc}")
        good = totp(secret, now_step() + 1)
        check(sb.check_code(u, good) == LOGIN_LOCKED, "host 1 not locked after 5 failures")
        check(sb.check2(u, good) == LOGIN_LOCKED, "host 2 not locked after 5 failures")
    finally:
        sb.cleanup()


def db_name(sb):
    return sb.uri.split("///")[1].split("?")[0]


@contextlib.contextmanager
def held(sb, sql):
    """Run sql in a transaction of another session (psql); enter once that session holds
    a row lock (its transaction commits when sql ends). Killed on leaving if still there."""
    srv = server()
    holder = subprocess.Popen(
        ["runuser", "-u", "postgres", "--", os.path.join(srv.bin, "psql"), "-X", "-q",
         "-h", srv.sock, "-p", str(srv.port), "-U", "postgres", "-d", db_name(sb),
         "-v", "ON_ERROR_STOP=1", "-c", "SET application_name = 'holder'",
         "-c", f"BEGIN; {sql}; COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd="/")
    held = "0"
    for _ in range(100):  # a row lock gives the holder's transaction its id
        held = srv.psql(db_name(sb), "SELECT count(*) FROM pg_locks k JOIN pg_stat_activity a "
                        "ON a.pid = k.pid WHERE a.application_name = 'holder' AND "
                        "k.locktype = 'transactionid' AND k.granted")
        if held == "1" or holder.poll() is not None:
            break
        time.sleep(0.05)
    if held != "1":
        holder.kill()
        _, err = holder.communicate()
        raise Fail(f"the holder did not take its row (exit {holder.returncode}): {err}")
    try:
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


@case("a login with a clean state writes only the device's replay row; after a failure "
      "the code clears the count")
def t_clean_login():
    sb = PgSandbox("pgclean", fresh_db()).init()
    try:
        u = sb.new_user()
        secret, _, step = sb.enable_json(u)
        db = db_name(sb)

        def state():
            return server().psql(db, "SELECT xmin, failures, locked_until FROM login_state "
                                     f"WHERE username = '{u}'")

        def replay_step():
            return server().psql(db, f"SELECT last_step FROM device_steps WHERE username = '{u}'")

        before = state()
        check(before.endswith("|0|0"), f"no clean login state made at enrolment: {before!r}")
        check(sb.check_code(u, totp(secret, step + 1)) == LOGIN_OK, "a current code refused")
        check(state() == before, f"the clean state was written: {before!r} -> {state()!r}")
        check(replay_step() == str(step + 1), f"replay step {replay_step()}, want {step + 1}")
        check(sb.check_code(u, "000000") == LOGIN_WRONG, "a wrong code was not refused")
        check(state().endswith("|1|0"), f"the failure was not counted: {state()!r}")
        check(sb.check_code(u, totp(secret, step + 2)) == LOGIN_OK, "code after a failure")
        after = state()
        check(after.endswith("|0|0") and after != before, f"the count stayed: {after!r}")
        check(sb.check_code(u, totp(secret, step + 2)) == LOGIN_REPLAY, "a replay accepted")
        check(state().endswith("|1|0"), f"the replay was not counted: {state()!r}")
    finally:
        sb.cleanup()


@case("a right code waits for a failure being counted in parallel, then sees its lock")
def t_clean_login_waits():
    sb = PgSandbox("pgwait", fresh_db()).init()
    try:
        u = sb.new_user()
        secret, _, step = sb.enable_json(u)
        # Another host's attempt that is counting the fifth failure (deny = 5), not yet
        # committed: the row is held exclusively for 3 s, as S_LOGIN_TRY's upsert holds it.
        until = int(time.time()) + 900
        with held(sb, f"UPDATE login_state SET failures = 5, locked_until = {until} "
                      f"WHERE username = '{u}'; SELECT pg_sleep(3)") as holder:
            p = subprocess.Popen(sb.cmd(["check"]), stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=sb.env())
            p.stdin.write(f"code\n{u}\nsshd\n{totp(secret, step + 1)}\n".encode())
            p.stdin.close()
            time.sleep(1)
            waited = p.poll() is None
            _, err = holder.communicate(timeout=30)
            check(holder.returncode == 0, f"the holder's transaction failed: {err}")
        rc = p.wait(timeout=60)
        check(waited, f"the check did not wait for the row being counted (rc {rc})")
        check(rc == LOGIN_LOCKED, f"a right code during a parallel fifth failure: {rc}, "
              f"want {LOGIN_LOCKED} (locked)")
    finally:
        sb.cleanup()


@case("turning 2FA off while a login holds the device's row: it waits, no deadlock")
def t_disable_during_login():
    sb = PgSandbox("pgorder", fresh_db()).init()
    try:
        u = sb.new_user()
        sb.enable_json(u)
        # a login's locks, in its order: the device's replay row, then the login state
        with held(sb, f"SELECT 1 FROM device_steps WHERE username = '{u}' FOR UPDATE; "
                      f"SELECT pg_sleep(2); SELECT 1 FROM login_state "
                      f"WHERE username = '{u}' FOR SHARE") as holder:
            r = sb.run(["admin", "disable-2fa", u])
            _, err = holder.communicate(timeout=30)
        check(holder.returncode == 0, f"the login's transaction failed: {err.strip()}")
        check(r.returncode == 0, f"disable-2fa: {r.returncode} {r.stderr.strip()}")
        check(sb.check_code(u, "123456") == LOGIN_NOT_ENROLLED, "still enrolled")
    finally:
        sb.cleanup()


@case("server stopped during logins: refused within seconds, no hang; back: works, no replay")
def t_down():
    srv = server()
    sb = PgSandbox("pgdown", fresh_db()).init()
    try:
        u = sb.new_user()
        secret, _, _ = sb.enable_json(u)
        used = totp(secret, now_step() + 1)
        check(sb.check_code(u, used) == LOGIN_OK, "refused before the stop")
        stop = threading.Event()
        seen = []

        def hammer():
            while not stop.is_set():
                t0 = time.monotonic()
                rc = sb.check2(u, "111111", timeout=30)
                seen.append((rc, time.monotonic() - t0))

        th = threading.Thread(target=hammer)
        th.start()
        time.sleep(0.5)
        srv.stop("fast")
        t0 = time.monotonic()
        rc = sb.check_code(u, totp(secret, now_step() + 2))
        took = time.monotonic() - t0
        time.sleep(1)
        stop.set()
        th.join(60)
        check(rc == LOGIN_ERROR, f"with the server down: {rc}, want LOGIN_ERROR (6)")
        check(took < 5, f"a check with the server down took {took:.1f} s")
        check(seen and max(t for _, t in seen) < 10,
              f"a check during the stop took {max(t for _, t in seen):.1f} s")
        check(all(rc in (LOGIN_WRONG, LOGIN_LOCKED, LOGIN_ERROR) for rc, _ in seen),
              f"unexpected answers during the stop: {set(rc for rc, _ in seen)}")
        srv.start()
        sb.run(["admin", "unlock", u])  # the wrong codes during the stop locked the user
        check(sb.check_code(u, used) == LOGIN_REPLAY, "the code used before the stop passed")
        check(sb.check_code(u, totp(secret, now_step() + 3)) == LOGIN_OK,
              "a new code refused after the restart")
    finally:
        srv.start() if not os.path.exists(os.path.join(srv.data, "postmaster.pid")) else None
        sb.cleanup()


@case("loopback TCP: init and a login")
def t_tcp():
    srv = server()
    SERVER["n"] += 1
    name = f"t{SERVER['n']}"
    srv.create_db(name)
    sb = PgSandbox("pgtcp", srv.uri(name, tcp=True)).init()
    try:
        u = sb.new_user()
        secret, _, _ = sb.enable_json(u)
        code = totp(secret, now_step() + 1)
        check(sb.check_code(u, code) == LOGIN_OK, "refused over TCP")
        check(sb.check2(u, code) == LOGIN_REPLAY, "replay over TCP")
    finally:
        sb.cleanup()


def driver_setup(sb, prefix, n):
    """bench/bench_login as a long-lived process of logins (Dovecot's auth worker): n users
    imported with SECRET_HEX, a users file and a PAM service `recover` on the module.
    Returns (driver, service directory, users file, users)."""
    drv = os.path.join(sb_build(), "bench", "bench_login")
    mod = os.path.join(sb_build(), ".libs", "pam_recover.so")
    if not os.access(drv, os.X_OK):
        raise Skip("bench/bench_login is not built")
    users = [f"{prefix}{i}@example.org" for i in range(n)]
    import_users(sb, users, SECRET_HEX)
    ufile = os.path.join(sb.tmp, "users")
    write(ufile, "".join(f"{u} {SECRET_HEX}\n" for u in users))
    pamd = os.path.join(sb.tmp, "pam.d")
    os.mkdir(pamd)
    write(os.path.join(pamd, "recover"), f"auth required {mod} config={sb.cfg}\n", 0o644)
    return drv, pamd, ufile, users


@case("a long-lived process keeps one connection across logins; each forked child its own")
def t_kept():
    srv = server()
    uri = fresh_db()
    db = f"t{SERVER['n']}"
    sb = PgSandbox("pgkept", uri).init()
    try:
        drv, pamd, ufile, users = driver_setup(sb, "kept", 90)

        def bench(*args):
            before = srv.connections(db)
            r = subprocess.run([drv, "-d", pamd, "-s", "recover", "-u", ufile, *args],
                               capture_output=True, text=True, timeout=300)
            check(r.returncode == 0, f"bench_login: {r.returncode} {r.stderr}")
            out = parse_json(r.stdout)
            return out, srv.connections(db) - before

        out, conns = bench("-n", "50", "-m", "kept")
        check(out["ok"] == 50, f"{out['ok']} of 50 logins passed")
        check(conns == 1, f"50 logins in one process opened {conns} connections, want 1")
        out, conns = bench("-n", "40", "-o", "50", "-p", "4", "-m", "kept")
        check(out["ok"] == 40, f"{out['ok']} of 40 logins passed in 4 processes")
        check(conns == 4, f"4 processes opened {conns} connections, want 4")
    finally:
        sb.cleanup()


@case("mode hold keeps no server connection while the prompt waits")
def t_hold_idle():
    # A login without root asks in mode hold: the answer to `enrolled`, then the back end
    # waits (up to 300 s) for the code. It must not keep a connection meanwhile, or a user
    # could hold one of the server's connections per login it starts.
    srv = server()
    uri = fresh_db()
    db = f"t{SERVER['n']}"
    sb = PgSandbox("pghold", uri).init()
    try:
        u = "hold@example.org"
        import_users(sb, [u], SECRET_HEX)
        p = subprocess.Popen(sb.cmd(["check"]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=sb.env())
        try:
            p.stdin.write(f"hold\n{u}\nsshd\n\n")
            p.stdin.flush()
            first = ""
            for _ in range(100):  # the configuration's lines, then "= N"
                line = p.stdout.readline()
                if line == "" or line.startswith("= "):
                    first = line.strip()
                    break
            check(first == f"= {LOGIN_OK}", f"hold's first answer: {first!r}")
            open_now = srv.psql(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                                    "application_name = 'pam_recover'")
            check(open_now == "0", f"{open_now} connections open while the prompt waits")
            p.stdin.write(f"code\n{u}\nsshd\n{totp(b32(SECRET_HEX), now_step() + 1)}\n")
            p.stdin.close()
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check(p.returncode == LOGIN_OK, f"the code after the wait: {p.returncode}")
    finally:
        sb.cleanup()


PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL = 0, 7, 9


@case("the module in one long-lived process: server down -> PAM_AUTHINFO_UNAVAIL in seconds; "
      "back -> logins work again by themselves, no replay")
def t_module_down():
    srv = server()
    uri = fresh_db()
    db = f"t{SERVER['n']}"
    sb = PgSandbox("pgmod", uri).init()
    proc = None
    try:
        drv, pamd, ufile, users = driver_setup(sb, "mod", 4)  # each logs in once per step
        before = srv.connections(db)
        proc = subprocess.Popen([drv, "-d", pamd, "-s", "recover", "-u", ufile, "-I"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def login(user):
            proc.stdin.write(user + "\n")
            proc.stdin.flush()
            rc, ms = proc.stdout.readline().split()
            return int(rc), float(ms)

        # The driver makes each code at the moment of the login: the last check is a replay
        # only while the step of the first login lasts. Start with 20 s of a step left (the
        # case takes a few), and say so if the step ran out all the same.
        left = STEP - time.time() % STEP
        if left < 20:
            time.sleep(left + 0.2)
        step0 = now_step()
        rc, _ = login(users[0])
        check(rc == PAM_SUCCESS, f"first login: {rc}")
        srv.stop("fast")
        srv.start()
        rc, _ = login(users[1])
        check(rc == PAM_SUCCESS, f"the first login after a restart (kept connection gone): {rc}")
        srv.stop("fast")
        rc, ms = login(users[2])
        check(rc == PAM_AUTHINFO_UNAVAIL, f"server down: {rc}, want PAM_AUTHINFO_UNAVAIL")
        check(ms < 5000, f"server down: the answer took {ms:.0f} ms")
        srv.start()
        rc, _ = login(users[2])
        check(rc == PAM_SUCCESS, f"after the restart, in the same process: {rc}")
        rc, _ = login(users[0])
        check(now_step() == step0, "the 30 s step ended during the case: the code of the "
              "first login cannot be presented again (the machine was too slow)")
        check(rc == PAM_AUTH_ERR, f"the code used before the stop: {rc}, want PAM_AUTH_ERR")
        rc, _ = login(users[3])
        check(rc == PAM_SUCCESS, f"another login on the new connection: {rc}")
        conns = srv.connections(db) - before
        check(conns == 3, f"{conns} connections for 6 logins around two restarts, want 3")
    finally:
        if proc is not None:
            proc.stdin.close()
            proc.wait(timeout=30)
        sb.cleanup()


@case("the module in one long-lived process: the server process of its kept connection stops "
      "answering (SIGSTOP) -> PAM_AUTHINFO_UNAVAIL within the wait's limit; resumed -> a new "
      "login works, no replay")
def t_module_stalled():
    srv = server()
    uri = fresh_db()
    db = f"t{SERVER['n']}"
    sb = PgSandbox("pgstall", uri).init()
    proc = None
    stopped = None
    try:
        drv, pamd, ufile, users = driver_setup(sb, "stall", 3)  # each logs in once per step
        proc = subprocess.Popen([drv, "-d", pamd, "-s", "recover", "-u", ufile, "-I"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def login(user):
            proc.stdin.write(user + "\n")
            proc.stdin.flush()
            # a login that hangs is a failure, not a hung test
            if not select.select([proc.stdout], [], [], 30)[0]:
                raise Fail(f"login of {user}: no answer in 30 s")
            rc, ms = proc.stdout.readline().split()
            return int(rc), float(ms)

        # As t_module_down: the replay check needs the first login's step to last (the
        # stalled login takes the wait's limit, 7 s).
        left = STEP - time.time() % STEP
        if left < 25:
            time.sleep(left + 0.2)
        step0 = now_step()
        rc, _ = login(users[0])
        check(rc == PAM_SUCCESS, f"first login: {rc}")
        pids = srv.psql(db, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name = 'pam_recover'").split()
        check(len(pids) == 1, f"the module's kept connection: server processes {pids}, want 1")
        stopped = int(pids[0])
        os.kill(stopped, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            rc, ms = login(users[1])
            took = time.monotonic() - t0
        finally:
            os.kill(stopped, signal.SIGCONT)
            stopped = None
        check(rc == PAM_AUTHINFO_UNAVAIL,
              f"server process stopped: {rc}, want PAM_AUTHINFO_UNAVAIL")
        # the limit is statement_timeout (5 s) + 2 s; a functional bound, not a speed test
        check(took < 12, f"server process stopped: the answer took {took:.1f} s")
        check(took > 4, f"server process stopped: the answer came after {took:.1f} s, before "
              "the wait's limit (was the process stopped?)")
        rc, _ = login(users[2])
        check(rc == PAM_SUCCESS, f"after the resume, in the same process (a new connection): {rc}")
        rc, _ = login(users[0])
        check(now_step() == step0, "the 30 s step ended during the case: the code of the "
              "first login cannot be presented again (the machine was too slow)")
        check(rc == PAM_AUTH_ERR, f"the code used before the stop: {rc}, want PAM_AUTH_ERR")
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        if proc is not None:
            proc.stdin.close()
            proc.wait(timeout=30)
        sb.cleanup()


def parse_json(text):
    import json
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    check(lines, f"no JSON in {text!r}")
    return json.loads(lines[-1])


def copy_store(sb, dest):
    return sb.run(["admin", "copy-store", dest])


@case("copy-store SQLite -> PostgreSQL -> SQLite keeps everything working")
def t_copy():
    lite = Sandbox("pgcopy").init()
    pg = PgSandbox("pgcopy2", fresh_db())
    back = Sandbox("pgcopy3")
    try:
        u = lite.new_user()
        secret, backups, _ = lite.enable_json(u)
        r = lite.run(["app-password", "add", "mail", "--service", "dovecot", "--user", u],
                     json_out=True)
        if r.returncode != 0:
            raise Fail(f"app-password add: {r.returncode} {r.stderr}")
        from rctest import parse_json_lines
        app = parse_json_lines(r.stdout).get("password")
        check(app, f"no app password in {r.stdout}")
        r = lite.run(["admin", "set-contact", u, "email", "rescue@example.net"])
        check(r.returncode == 0, f"contact set: {r.returncode} {r.stderr}")
        r = lite.run(["admin", "enrol", u, "--device", "tablet"], json_out=True)
        check(r.returncode == 0, f"admin enrol --device: {r.returncode} {r.stderr}")
        tablet = parse_json(r.stdout)["secret"]
        tstep = now_step() + 1
        check(lite.check_code(u, totp(tablet, tstep)) == LOGIN_OK, "the tablet's code refused")
        st = lite.status(u)
        check(sorted(d["name"] for d in st["devices"]) == ["phone", "tablet"],
              f"devices before the copy: {st['devices']}")
        # PostgreSQL gets the SQLite store's key; the copy refuses a non-empty destination
        with open(lite.key, "rb") as f:
            write_bytes(pg.key, f.read())
        r = copy_store(lite, pg.uri)
        check(r.returncode == 0, f"copy-store to PostgreSQL: {r.returncode} {r.stderr}")
        r = copy_store(lite, pg.uri)
        check(r.returncode != 0 and "not empty" in r.stderr, f"second copy: {r.stderr}")
        check(pg.status(u) == st, f"status differs after the copy: {pg.status(u)} vs {st}")
        # the tablet's replay step came along: its used code stays used
        check(pg.check_code(u, totp(tablet, tstep)) == LOGIN_REPLAY,
              "the tablet's used code works again after the copy")
        check(pg.check_code(u, backups[0]) == LOGIN_OK_BACKUP, "backup code lost in the copy")
        check(pg.check_code(u, app, service="dovecot", mode="app") == LOGIN_OK_APP,
              "app password lost in the copy")
        # ... and back to a new SQLite store
        with open(lite.key, "rb") as f:
            write_bytes(back.key, f.read())
        r = copy_store(pg, f"sqlite:{back.db}")
        check(r.returncode == 0, f"copy-store to SQLite: {r.returncode} {r.stderr}")
        check(back.status(u)["backup_codes_left"] == st["backup_codes_left"] - 1,
              f"backup codes after the round trip: {back.status(u)}")
        check(back.check_code(u, backups[0]) == LOGIN_WRONG, "a used backup code came back")
        check(back.check_code(u, backups[1]) == LOGIN_OK_BACKUP, "backup code lost")
        check(back.check_code(u, app, service="dovecot", mode="app") == LOGIN_OK_APP,
              "app password lost in the round trip")
        check(back.check_code(u, totp(secret, now_step() + 1)) == LOGIN_OK,
              "the TOTP secret does not work after the round trip")
        check(back.status(u).get("contacts") == st.get("contacts"),
              f"contacts after the round trip: {back.status(u)} vs {st}")
        check(back.check_code(u, totp(tablet, tstep + 1)) == LOGIN_OK,
              "the tablet does not work after the round trip")
    finally:
        for s in (lite, pg, back):
            s.cleanup()


def lite_counts(path):
    """Rows per table of a SQLite store (store_tables' tables)."""
    import sqlite3
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COPY_TABLES}
    finally:
        con.close()


COPY_TABLES = ("totp", "totp_pending", "login_state", "backup_codes", "app_passwords",
               "contacts", "questions", "tokens", "counters", "audit", "key_check", "outbox",
               "reuse", "device_steps")
# The writer's rows, one of each per transaction: `counters` is copied before `audit` (the
# padding, many rows: the copy takes a while) and `reuse` after it.
WRITER_ROWS = 20_000  # a bound only (100 s at its pace): the writer is stopped after the copy
PADDING = 100_000


@case("copy-store from a live PostgreSQL store: one snapshot, while a writer commits")
def t_copy_live():
    srv = server()
    pg = PgSandbox("pglive", fresh_db()).init()
    dest = Sandbox("pglive2")
    db = db_name(pg)
    writer, feeder, stop = None, None, threading.Event()
    try:
        u = pg.new_user()
        pg.enable_json(u)
        srv.psql(db, "INSERT INTO audit (time, username, ruid, event) SELECT i, 'pad' || i, 0, "
                 f"'padding' FROM generate_series(1, {PADDING}) AS i")
        # One session fed a transaction every 5 ms (as logins come, a bounded number): a
        # counters row and a reuse row in each. In one snapshot the copy has as many of each.
        writer = subprocess.Popen(
            [os.path.join(srv.bin, "psql"), "-X", "-q", "-h", srv.sock, "-p", str(srv.port),
             "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, cwd="/", env={"PATH": "/usr/bin:/bin", "LC_ALL": "C",
                                     "PGAPPNAME": "copywriter"})

        def feed():
            for i in range(1, WRITER_ROWS + 1):
                if stop.is_set():
                    break
                try:
                    writer.stdin.write(
                        f"BEGIN; INSERT INTO counters (key, time) VALUES ('writer:{i}', {i}); "
                        f"INSERT INTO reuse (username, hash, expires) VALUES ('writer', "
                        f"int8send({i}::bigint), {i}); COMMIT;\n")
                    writer.stdin.flush()
                except (BrokenPipeError, ValueError):
                    break
                time.sleep(0.005)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        count = "SELECT count(*) FROM counters WHERE key LIKE 'writer:%'"
        deadline = time.monotonic() + 60
        while int(srv.psql(db, count)) < 100:
            if writer.poll() is not None:  # its stderr read only then: it ends at its exit
                raise Fail(f"the writer ended early: {writer.stderr.read()}")
            check(time.monotonic() < deadline, "the writer committed fewer than 100 rows in 60 s")
            time.sleep(0.05)
        before = int(srv.psql(db, count))
        with open(pg.key, "rb") as f:
            write_bytes(dest.key, f.read())
        r = pg.run(["admin", "copy-store", f"sqlite:{dest.db}"], json_out=True, timeout=300)
        still = writer.poll() is None and feeder.is_alive()
        after = int(srv.psql(db, count))
        check(r.returncode == 0, f"copy-store from a live store: {r.returncode} {r.stderr}")
        check(still and after > before,
              f"the writer did not run through the copy ({before} -> {after} rows, "
              f"running: {still}): the case proves nothing")
        got = lite_counts(dest.db)
        import sqlite3
        con = sqlite3.connect(dest.db)
        ctr, reuse = (con.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM counters WHERE key LIKE 'writer:%'",
            "SELECT count(*) FROM reuse WHERE username = 'writer'"))
        con.close()
        check(ctr == reuse,
              f"not one snapshot: {ctr} writer rows in counters but {reuse} in reuse in the "
              "copy (one of each per transaction)")
        check(before <= ctr <= after,
              f"the copy holds {ctr} writer rows, the source had {before} before the copy "
              f"and {after} after it")
        check(got["audit"] >= PADDING and got["totp"] == 1,
              f"the copy lacks rows: {got}")
        check(parse_json(r.stdout)["rows"] == sum(got.values()),
              f"copied {parse_json(r.stdout)['rows']} rows, the copy holds {got}")
        check(dest.status(u) == pg.status(u),
              f"status differs after the copy: {dest.status(u)} vs {pg.status(u)}")
    finally:
        stop.set()
        if feeder is not None:
            feeder.join(timeout=30)
        if writer is not None:
            try:
                writer.stdin.close()
            except OSError:
                pass
            try:
                writer.wait(timeout=60)
            except subprocess.TimeoutExpired:
                writer.kill()
                writer.wait(timeout=30)
        pg.cleanup()
        dest.cleanup()


@case("copy-store: a failed row count check leaves the destination empty; a retry works")
def t_copy_check_fails():
    import sqlite3
    srv = server()
    pg = PgSandbox("pgchk", fresh_db()).init()
    dest = Sandbox("pgchk2").init()
    db = db_name(pg)
    try:
        u = pg.new_user()
        pg.enable_json(u)
        srv.psql(db, "INSERT INTO counters (key, time) SELECT 'k' || i, i "
                 "FROM generate_series(1, 20) AS i")
        # A destination that silently drops the rows of one table: the copy's own insert
        # succeeds, only the count shows it. (The rows admin init wrote: out.)
        con = sqlite3.connect(dest.db)
        con.executescript("".join(f"DELETE FROM {t};" for t in COPY_TABLES) +
                          "CREATE TRIGGER drop_counters BEFORE INSERT ON counters "
                          "BEGIN SELECT RAISE(IGNORE); END;")
        con.close()
        with open(pg.key, "rb") as f:
            write_bytes(dest.key, f.read())
        dest_uri = f"sqlite:{dest.db}"
        r = copy_store(pg, dest_uri)
        check(r.returncode == 70 and "table counters" in r.stderr and "rolled back" in r.stderr,
              f"copy into a destination that drops rows: {r.returncode} {r.stderr}")
        got = lite_counts(dest.db)
        check(not any(got.values()), f"the failed copy left rows at the destination: {got}")
        con = sqlite3.connect(dest.db)
        con.executescript("DROP TRIGGER drop_counters;")
        con.close()
        r = copy_store(pg, dest_uri)
        check(r.returncode == 0, f"the copy again, without the trigger: {r.returncode} "
              f"{r.stderr}")
        got = lite_counts(dest.db)
        want = {t: int(srv.psql(db, f"SELECT count(*) FROM {t}")) for t in COPY_TABLES}
        check(got == want and got["counters"] >= 20 and got["key_check"] == 1,
              f"the second copy: {got}, the source: {want}")
        check(dest.status(u) == pg.status(u),
              f"status differs after the copy: {dest.status(u)} vs {pg.status(u)}")
    finally:
        pg.cleanup()
        dest.cleanup()


UPGRADE = os.path.join(HERE, "..", "upgrade")


@case("the store of release 0.1.0 upgraded in place; devices per host")
def t_upgrade():
    db = fresh_db()
    name = db.split("///")[1].split("?")[0]
    with open(os.path.join(UPGRADE, "store-0.1.0-pg.sql")) as f:
        server().psql(name, f.read())
    check(server().psql(name, "SELECT version FROM pam_recover_schema") == "5",
          "the fixture is not a schema-5 store")
    sb = PgSandbox("pgupgrade", db)
    try:
        with open(os.path.join(UPGRADE, "store-0.1.0.key.hex")) as f:
            write_bytes(sb.key, bytes.fromhex(f.read().strip()))
        alice, bob = "alice@example.org", "bob@example.org"
        ahex = "3132333435363738393031323334353637383930"
        bhex = ahex + "313233343536373839303132"
        step = now_step() + 1
        code = totp(b32(ahex), step)
        check(sb.check_code(alice, code) == LOGIN_OK, "alice's code refused after the upgrade")
        check(sb.check2(alice, code) == LOGIN_REPLAY, "alice's code accepted twice")
        import subprocess as sp
        r = sp.run(["oathtool", "--totp", "--digits=8", f"--now=@{step * 30}", bhex],
                   capture_output=True, text=True, check=True)
        # bob never logged in under 0.1.0: his device has no replay row until the read
        # makes it; his first code is taken once
        check(server().psql(name, f"SELECT count(*) FROM device_steps WHERE username = '{bob}'")
              == "0", "the fixture's bob has a replay row already")
        check(sb.check2(bob, r.stdout.strip()) == LOGIN_OK, "bob's 8-digit code refused")
        check(sb.check_code(bob, r.stdout.strip()) == LOGIN_REPLAY, "bob's code accepted twice")
        check(server().psql(name, "SELECT version FROM pam_recover_schema") == "7",
              "the schema was not upgraded to 7")
        rows = server().psql(name, "SELECT username || ':' || device FROM totp ORDER BY 1")
        check(rows.split() == [f"{alice}:default", f"{bob}:default"],
              f"devices after the upgrade: {rows!r}")
        # a second device: its own replay state, whichever host checks it
        r = sb.run(["admin", "enrol", alice, "--device", "tablet"], json_out=True)
        check(r.returncode == 0, f"admin enrol --device: {r.returncode} {r.stderr}")
        tablet = parse_json(r.stdout)["secret"]
        tcode = totp(tablet, step)
        check(sb.check2(alice, tcode) == LOGIN_OK, "the tablet's code of a used step refused")
        check(sb.check_code(alice, tcode) == LOGIN_REPLAY, "the tablet's code accepted twice")
        shown = parse_json(sb.run(["admin", "show", alice], json_out=True).stdout)
        check([d["name"] for d in shown["devices"]] == ["default", "tablet"] and
              all(d["last_used"] for d in shown["devices"]), f"admin show: {shown['devices']}")
        r = sb.run(["admin", "remove-device", alice, "tablet"])
        check(r.returncode == 0, f"remove-device: {r.returncode} {r.stderr}")
        check(sb.check2(alice, totp(tablet, step + 1)) == LOGIN_WRONG,
              "the removed device's code accepted")
    finally:
        sb.cleanup()


def pg_retention(name, cfg):
    uri = fresh_db()
    sb = PgSandbox(name, uri, retlib.CFG_AUTO if cfg is None else cfg)
    r = sb.run(["admin", "init"])
    if r.returncode != 0:
        sb.cleanup()
        raise Fail(f"admin init: {r.returncode} {r.stderr}")
    return sb, retlib.PgDb(server(), f"t{SERVER['n']}")


@case("retention: admin prune removes exactly the old rows; audit kept for ever with 0; "
      "counters kept for a longer unlock_time")
def t_retention_verb():
    sb, db = pg_retention("pgretv", retlib.CFG_VERB)
    try:
        retlib.verb_prunes(sb, db)
    finally:
        sb.cleanup()
    sb, db = pg_retention("pgretf", retlib.CFG_VERB.replace(
        f"= {retlib.RETENTION_DAYS}", "= 0"))
    try:
        retlib.verb_keeps_audit_forever(sb, db)
    finally:
        sb.cleanup()
    sb, db = pg_retention("pgreth", retlib.CFG_VERB)
    try:
        retlib.horizon_follows_unlock_time(sb, db)
    finally:
        sb.cleanup()


@case("retention: a verb prunes once per prune_interval, check never; "
      f"{retlib.RACERS} at once prune once; a backlog in shares")
def t_retention_auto():
    sb, db = pg_retention("pgreta", None)
    try:
        import_users(sb, ["ret@example.org"], SECRET_HEX)
        retlib.auto_prunes(sb, db, "ret@example.org", totp(b32(SECRET_HEX), now_step() + 1))
    finally:
        sb.cleanup()
    sb, db = pg_retention("pgretr", None)
    try:
        retlib.auto_race(sb, db)
    finally:
        sb.cleanup()
    sb, db = pg_retention("pgretb", None)
    try:
        retlib.auto_backlog(sb, db)
    finally:
        sb.cleanup()


@case("retention: a pruning that fails leaves the verb alone; admin prune exits 74")
def t_retention_errors():
    sb, db = pg_retention("pgrete", None)
    try:
        retlib.errors_do_not_break_verbs(sb, db)
    finally:
        sb.cleanup()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o400)


if __name__ == "__main__":
    need_root_and_tools("oathtool", "runuser")
    try:
        run_cases("pg")
    finally:
        if "srv" in SERVER:
            SERVER["srv"].cleanup()
