#!/usr/bin/python3
"""
Retention on the SQLite store (the cases are tests/helper/retlib.py's; test_pg.py runs them
on PostgreSQL): audit events older than audit_retention_days, counter rows past the longest
window and expired or used one-time codes are removed by `admin prune` and by the pruning
every verb but `check` does once per prune_interval, exactly those rows; a failed pruning
never fails the verb that triggered it.

Real parts: the built helper as root, its own store (rows made old through their time
columns with Python's sqlite3), codes from oathtool.

usage: test_retention.py [BUILDDIR]      RC_TEST_ONLY=REGEX selects cases.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from rctest import Sandbox, case, need_root_and_tools, now_step, run_cases, totp  # noqa: E402
import retlib  # noqa: E402


def sandbox(name, cfg):
    sb = Sandbox(name, extra_cfg=cfg)
    try:
        sb.init()
    except Exception:
        sb.cleanup()
        raise
    return sb, retlib.SqliteDb(sb.db)


def run_in(name, cfg, fn, *args):
    sb, db = sandbox(name, cfg)
    try:
        fn(sb, db, *args)
    finally:
        sb.cleanup()


@case("admin prune removes exactly the old audit events, counter rows and codes")
def t_verb():
    run_in("retverb", retlib.CFG_VERB, retlib.verb_prunes)


@case("audit_retention_days = 0 keeps every audit event")
def t_forever():
    run_in("retkeep", retlib.CFG_VERB.replace(f"= {retlib.RETENTION_DAYS}", "= 0"),
           retlib.verb_keeps_audit_forever)


@case("counter rows are kept for unlock_time when it is longer than a day")
def t_horizon():
    run_in("rethor", retlib.CFG_VERB, retlib.horizon_follows_unlock_time)


@case("a verb prunes once per prune_interval, check never")
def t_auto():
    sb, db = sandbox("retauto", retlib.CFG_AUTO)
    try:
        user = sb.new_user()
        secret, _, step = sb.enable_json(user)
        retlib.auto_prunes(sb, db, user, totp(secret, max(step, now_step()) + 1))
    finally:
        sb.cleanup()


@case(f"a backlog over {retlib.AUTO_MAX} rows: a verb removes its share, the next the rest")
def t_backlog():
    run_in("retback", retlib.CFG_AUTO, retlib.auto_backlog)


@case(f"{retlib.RACERS} verbs at once with pruning due: one prunes")
def t_race():
    run_in("retrace", retlib.CFG_AUTO, retlib.auto_race)


@case("a pruning that fails: the verb goes on, admin prune exits 74")
def t_errors():
    run_in("reterr", retlib.CFG_AUTO, retlib.errors_do_not_break_verbs)


if __name__ == "__main__":
    need_root_and_tools("oathtool")
    run_cases("retention")
