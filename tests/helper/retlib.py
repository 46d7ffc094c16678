"""
Retention cases shared by the SQLite (test_retention.py) and the PostgreSQL (test_pg.py)
runs: rows made old through the store's own time columns, then `admin prune` and the
pruning every verb does once per prune_interval, checked row by row: exactly the old rows
go, the recent ones stay.

Each case takes a sandbox (rctest.Sandbox or test_pg.PgSandbox, configured with
CFG_VERB or CFG_AUTO) and a Db: SQL on the sandbox's store, rows as tuples of strings.
"""
import subprocess
import threading
import time

from rctest import check, parse_json_lines

DAY = 86400
RETENTION_DAYS = 30
# The configurations of the cases (the sandbox's own lines set unlock_time = 900: the
# counters' longest window is then a day).
CFG_VERB = f"audit_retention_days = {RETENTION_DAYS}\nprune_interval = 0\n"
CFG_AUTO = f"audit_retention_days = {RETENTION_DAYS}\nprune_interval = 3600\n"
RACERS = 8
AUTO_MAX = 10000  # helper/retention.h: RETENTION_AUTO_MAX


class SqliteDb:
    def __init__(self, path):
        self.path = path

    def sql(self, q):
        import sqlite3
        con = sqlite3.connect(self.path, timeout=30)
        try:
            rows = con.execute(q).fetchall()
            con.commit()
        finally:
            con.close()
        return [tuple("" if v is None else str(v) for v in r) for r in rows]

    @staticmethod
    def blob(hexs):
        return f"X'{hexs}'"

    def bulk_audit(self, n, t):
        self.sql(f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
                 "INSERT INTO audit (time, username, ruid, event, method, detail) "
                 f"SELECT {t}, 'bulk@example.org', 0, 'login', '', 'bulk' FROM s")

    def block_audit_delete(self):
        self.sql("CREATE TRIGGER keep_audit BEFORE DELETE ON audit "
                 "BEGIN SELECT RAISE(ABORT, 'audit rows are kept'); END")


class PgDb:
    def __init__(self, srv, name):
        self.srv, self.name = srv, name

    def sql(self, q):
        out = self.srv.psql(self.name, q)
        return [tuple(line.split("|")) for line in out.splitlines() if line != ""]

    @staticmethod
    def blob(hexs):
        return f"'\\x{hexs}'::bytea"

    def bulk_audit(self, n, t):
        self.sql("INSERT INTO audit (time, username, ruid, event, method, detail) "
                 f"SELECT {t}, 'bulk@example.org', 0, 'login', '', 'bulk' "
                 f"FROM generate_series(1, {n})")

    def block_audit_delete(self):
        self.sql("CREATE FUNCTION keep_audit() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$BEGIN RAISE EXCEPTION 'audit rows are kept'; END$$")
        self.sql("CREATE TRIGGER keep_audit BEFORE DELETE ON audit "
                 "FOR EACH STATEMENT EXECUTE FUNCTION keep_audit()")


def seed(db, tag):
    """Old and recent rows of each kind, marked with tag; returns (old, recent) as sets of
    (table, marker). Times are relative to now, far enough from each limit that a few
    seconds of test do not move a row across it."""
    now = int(time.time())
    audit = {f"{tag}-a-old-400d": now - 400 * DAY,
             f"{tag}-a-old-31d": now - (RETENTION_DAYS + 1) * DAY,
             f"{tag}-a-new-29d": now - (RETENTION_DAYS - 1) * DAY,
             f"{tag}-a-new-1m": now - 60}
    # the longest window is a day, and a day's margin for clocks follows it
    counters = {f"{tag}-c-old-3d": now - 3 * DAY,
                f"{tag}-c-old-2d": now - 2 * DAY - 300,
                f"{tag}-c-new-47h": now - 2 * DAY + 3600,
                f"{tag}-c-new-1m": now - 60}
    # (expires, used, attempts): expired over a day ago; used but not expired; expired
    # within the day's margin; live with every try spent (locked, not expired)
    tokens = {f"{tag}-t-old-expired": (now - DAY - 300, 0, 0),
              f"{tag}-t-old-used": (now + 3600, 1, 1),
              f"{tag}-t-new-expired": (now - 600, 0, 0),
              f"{tag}-t-new-locked": (now + 600, 0, 5)}
    for m, t in audit.items():
        db.sql("INSERT INTO audit (time, username, ruid, event, method, detail) "
               f"VALUES ({t}, 'ret@example.org', 0, 'login', 'totp', '{m}')")
    for m, t in counters.items():
        db.sql(f"INSERT INTO counters (key, time) VALUES ('{m}', {t})")
    for m, (exp, used, att) in tokens.items():
        db.sql("INSERT INTO tokens (username, channel, purpose, hash, expires, attempts, used) "
               f"VALUES ('{m}', 'email', 'reset', {db.blob('ab' * 32)}, {exp}, {att}, {used})")
    marks = [("audit", m) for m in audit] + [("counters", m) for m in counters] + \
        [("tokens", m) for m in tokens]
    return ({x for x in marks if "-old-" in x[1]}, {x for x in marks if "-new-" in x[1]})


def present(db, tag):
    rows = [("audit", r[0]) for r in db.sql(f"SELECT detail FROM audit WHERE detail LIKE '{tag}-%'")]
    rows += [("counters", r[0]) for r in db.sql(f"SELECT key FROM counters WHERE key LIKE '{tag}-%'")]
    rows += [("tokens", r[0]) for r in db.sql(
        f"SELECT username FROM tokens WHERE username LIKE '{tag}-%'")]
    return set(rows)


def expect_pruned(db, tag, old, recent, what):
    got = present(db, tag)
    check(got == recent, f"{what}: left {sorted(got)}; want exactly {sorted(recent)} "
          f"(still there: {sorted(got & old)}, gone: {sorted(recent - got)})")


def expect_kept(db, tag, old, recent, what):
    got = present(db, tag)
    check(got == old | recent, f"{what}: pruned {sorted((old | recent) - got)}")


def prune_events(db):
    return db.sql("SELECT detail, ruid FROM audit WHERE event = 'prune' ORDER BY id")


def make_due(db):
    """As if the last pruning was more than prune_interval ago."""
    db.sql("UPDATE counters SET time = time - 3601 WHERE key = 'prune:last'")


def verb_prunes(sb, db):
    """admin prune (prune_interval = 0): exact counts, exactly the old rows; other verbs do
    not prune with prune_interval = 0; a second run finds nothing."""
    old, recent = seed(db, "v")
    r = sb.run(["admin", "audit", "--limit", "1"])
    check(r.returncode == 0, f"admin audit: {r.returncode} {r.stderr}")
    expect_kept(db, "v", old, recent, "a verb with prune_interval = 0")
    out = sb.json(["admin", "prune"])
    want = {"ok": True, "audit": 2, "counters": 2, "tokens": 2}
    check({k: out.get(k) for k in want} == want, f"admin prune --json: {out}")
    check(isinstance(out.get("audit_before"), str) and out["audit_before"].endswith("Z"),
          f"audit_before: {out}")
    expect_pruned(db, "v", old, recent, "admin prune")
    ev = prune_events(db)
    check(ev == [("audit=2 counters=2 tokens=2", "0")], f"the prune audit events: {ev}")
    r = sb.run(["admin", "prune"])
    check(r.returncode == 0 and r.stdout.startswith("0 audit events (older than ") and
          "0 counter rows, 0 one-time codes removed" in r.stdout,
          f"second admin prune: {r.returncode} {r.stdout!r} {r.stderr!r}")
    expect_pruned(db, "v", old, recent, "second admin prune")
    check(len(prune_events(db)) == 1, "a prune that removed no audit event was audited")


def verb_keeps_audit_forever(sb, db):
    """audit_retention_days = 0: no audit event goes; counters and codes still do."""
    old, recent = seed(db, "f")
    out = sb.json(["admin", "prune"])
    check(out.get("audit") == 0 and out.get("audit_before") is None and
          out.get("counters") == 2 and out.get("tokens") == 2, f"admin prune --json: {out}")
    audit_old = {x for x in old if x[0] == "audit"}
    expect_pruned(db, "f", old - audit_old, recent | audit_old, "audit_retention_days = 0")
    r = sb.run(["admin", "prune"])
    check("kept for ever" in r.stdout, f"admin prune with audit_retention_days = 0: {r.stdout!r}")


def auto_prunes(sb, db, user, code):
    """prune_interval = 3600: a verb prunes when it is due, at most once per interval, never
    `check` (the login path), and the verb's own result is unchanged."""
    old, recent = seed(db, "o")
    r = sb.run(["admin", "audit", "--limit", "1"])
    check(r.returncode == 0, f"admin audit: {r.returncode} {r.stderr}")
    expect_kept(db, "o", old, recent, "a verb within prune_interval of admin init's pruning")
    make_due(db)
    rc = sb.check_code(user, code)
    check(rc == 0, f"check of a good code: {rc}")
    expect_kept(db, "o", old, recent, "check (the login path), pruning due")
    r = sb.run(["admin", "audit", "--limit", "1"], json_out=True)
    check(r.returncode == 0, f"admin audit when due: {r.returncode} {r.stderr}")
    events = parse_json_lines(r.stdout).get("events")
    check(isinstance(events, list) and len(events) == 1, f"admin audit's output: {r.stdout!r}")
    expect_pruned(db, "o", old, recent, "the verb's own pruning")
    ev = prune_events(db)
    check(ev == [("audit=2 counters=2 tokens=2", "0")], f"the prune audit events: {ev}")
    # the next verb, within the interval: nothing pruned
    old2, recent2 = seed(db, "p")
    r = sb.run(["admin", "audit", "--limit", "1"])
    check(r.returncode == 0, f"admin audit: {r.returncode} {r.stderr}")
    expect_kept(db, "p", old2, recent2, "a verb just after the verb that pruned")
    check(len(prune_events(db)) == 1, f"pruned twice within the interval: {prune_events(db)}")


def auto_race(sb, db):
    """Pruning due, RACERS verbs at once: exactly one of them prunes."""
    old, recent = seed(db, "r")
    make_due(db)
    before = len(prune_events(db))
    barrier = threading.Barrier(RACERS)
    results = [None] * RACERS

    def one(i):
        barrier.wait()
        results[i] = subprocess.run(sb.cmd(["admin", "audit", "--limit", "1"]),
                                    capture_output=True, text=True, env=sb.env(), timeout=120)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [(r.returncode, r.stderr) for r in results if r is None or r.returncode != 0]
    check(not bad, f"verbs failed: {bad}")
    expect_pruned(db, "r", old, recent, f"{RACERS} verbs at once")
    ev = prune_events(db)[before:]
    check(ev == [("audit=2 counters=2 tokens=2", "0")], f"prune events of the race: {ev}")
    # those that found no turn taken each counted one (one per racer at most); the turn
    # taken an interval ago went with the first of them
    now = int(time.time())
    turns = db.sql("SELECT time FROM counters WHERE key = 'prune:last'")
    check(1 <= len(turns) <= RACERS and all(now - int(t[0]) < 600 for t in turns),
          f"prune:last rows after the race: {turns} (now {now})")


def errors_do_not_break_verbs(sb, db):
    """Pruning fails (a trigger refuses deletes from audit): the verb that triggered it
    succeeds with its usual output; admin prune reports the store error, exit 74."""
    old, recent = seed(db, "e")
    db.block_audit_delete()
    make_due(db)
    r = sb.run(["admin", "audit", "--limit", "1"], json_out=True)
    check(r.returncode == 0, f"admin audit with pruning failing: {r.returncode} {r.stderr}")
    check(parse_json_lines(r.stdout).get("ok") is True, f"admin audit's output: {r.stdout!r}")
    expect_kept(db, "e", old, recent, "a failed pruning")
    r = sb.run(["admin", "prune"])
    check(r.returncode == 74 and "store error" in r.stderr,
          f"admin prune with pruning failing: {r.returncode} {r.stdout!r} {r.stderr!r}")
    expect_kept(db, "e", old, recent, "a failed admin prune")


def horizon_follows_unlock_time(sb, db):
    """unlock_time longer than a day (3 days): counter rows stay for it and the day's
    margin; older ones go."""
    with open(sb.cfg) as f:
        text = f.read()
    check("unlock_time = 900\n" in text, "the sandbox's configuration has no unlock_time line")
    with open(sb.cfg, "w") as f:
        f.write(text.replace("unlock_time = 900\n", f"unlock_time = {3 * DAY}\n"))
    now = int(time.time())
    rows = {"u-c-old-5d": now - 5 * DAY, "u-c-old-4d": now - 4 * DAY - 300,
            "u-c-new-95h": now - 4 * DAY + 3600, "u-c-new-2d": now - 2 * DAY - 300}
    for m, t in rows.items():
        db.sql(f"INSERT INTO counters (key, time) VALUES ('{m}', {t})")
    out = sb.json(["admin", "prune"])
    check(out.get("counters") == 2, f"admin prune --json: {out}")
    got = {r[0] for r in db.sql("SELECT key FROM counters WHERE key LIKE 'u-%'")}
    check(got == {"u-c-new-95h", "u-c-new-2d"}, f"counter rows left: {sorted(got)}")


def auto_backlog(sb, db):
    """A backlog larger than a verb's share (AUTO_MAX rows): the verb removes its share and
    gives the turn back; the next verb removes the rest and keeps the turn."""
    left = 2500
    db.bulk_audit(AUTO_MAX + left, int(time.time()) - (RETENTION_DAYS + 5) * DAY)

    def bulk():
        return int(db.sql("SELECT count(*) FROM audit WHERE detail = 'bulk'")[0][0])

    def turns():
        return int(db.sql("SELECT count(*) FROM counters WHERE key = 'prune:last'")[0][0])

    make_due(db)
    r = sb.run(["admin", "audit", "--limit", "1"])
    check(r.returncode == 0, f"admin audit: {r.returncode} {r.stderr}")
    check(bulk() == left and turns() == 0,
          f"after the first verb: {bulk()} old events left (want {left}), {turns()} turns")
    r = sb.run(["admin", "audit", "--limit", "1"])
    check(r.returncode == 0, f"admin audit: {r.returncode} {r.stderr}")
    check(bulk() == 0 and turns() == 1,
          f"after the second verb: {bulk()} old events left, {turns()} turns")
    ev = [e[0] for e in prune_events(db)]
    check(len(ev) == 2 and ev[0].startswith(f"audit={AUTO_MAX} ") and
          ev[1].startswith(f"audit={left} "), f"the prune audit events: {ev}")
