"""
Shared pieces of the helper tests (tests/helper/test_*.py): a sandbox (configuration, key
and store in a temp directory, the built helper run as root with --config), codes from
oathtool (an independent TOTP implementation), the `check` verb as the login decision,
pexpect sessions, and a tiny case runner that prints "PASS: NAME" / "FAIL: NAME: why" /
"SKIP: NAME: why" and exits 0, 1, or 77 (automake's "skipped") when nothing could run.

Run as root (the helper opens a root-owned store); `top_builddir` comes from `make check`
or the first argument.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

STEP = 30
CASES = []


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def top_builddir():
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        return os.path.abspath(sys.argv[1])
    d = os.environ.get("top_builddir")
    if d:
        return os.path.abspath(d)
    return os.path.abspath(".")


def need_root_and_tools(*tools):
    if os.geteuid() != 0:
        print("SKIP: these tests run as root (the helper's store is root-owned)")
        sys.exit(77)
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print("SKIP: missing tools: " + " ".join(missing) + " (bash scripts/deps)")
        sys.exit(77)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def parse_json_lines(text):
    """The last JSON object printed (the helper prints one per line)."""
    objs = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    if not objs:
        raise Fail(f"no JSON object in {text!r}")
    return objs[-1]


def now_step():
    return int(time.time()) // STEP


def totp(secret_b32, step, digits=6):
    r = subprocess.run(["oathtool", "--totp", f"--digits={digits}", "-b", secret_b32,
                        "--now", f"@{step * STEP}"], capture_output=True, text=True)
    check(r.returncode == 0, f"oathtool failed: {r.stderr}")
    return r.stdout.strip()


# For a sanitizer build (--enable-sanitizers): a leak or an error ends the helper with 23, which
# no case expects. Ignored by an ordinary build.
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=1:exitcode=23",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=23"}


def sanitizer_build(path):
    """Is this binary built with AddressSanitizer (--enable-sanitizers)?"""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def helper_env(leaks=True):
    """The environment the tests give the helper. leaks=False for runs without
    CAP_SYS_PTRACE: LeakSanitizer cannot attach to a non-dumpable process then."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update(SANITIZER_ENV)
    if not leaks:
        env["ASAN_OPTIONS"] = "detect_leaks=0:exitcode=23"
    return env


class Sandbox:
    """A configuration, key and store of its own; the built helper run as root."""

    seq = 0

    def __init__(self, name, extra_cfg="", window=5):
        self.build = top_builddir()
        self.helper = os.path.join(self.build, "pam-recover")
        check(os.access(self.helper, os.X_OK), f"{self.helper} is not built")
        self.tmp = tempfile.mkdtemp(prefix=f"pamrec-{name}-")
        os.chmod(self.tmp, 0o700)
        self.etc = os.path.join(self.tmp, "etc")
        self.state = os.path.join(self.tmp, "state")
        for d in (self.etc, self.state):
            os.mkdir(d, 0o700)
        self.cfg = os.path.join(self.etc, "pam_recover.conf")
        self.key = os.path.join(self.etc, "pam_recover.key")
        self.db = os.path.join(self.state, "state.db")
        write(self.cfg, f"store = sqlite:{self.db}\nkey_file = {self.key}\n"
              f"window = {window}\ndeny = 5\nunlock_time = 900\nissuer = Example Mail\n"
              + extra_cfg)

    def init(self):
        r = self.run(["admin", "init"])
        check(r.returncode == 0, f"admin init failed ({r.returncode}): {r.stderr}")
        return self

    def new_user(self, prefix="u"):
        """A virtual mail user (user@domain): no passwd entry needed."""
        Sandbox.seq += 1
        return f"{prefix}{os.getpid() % 10000}n{Sandbox.seq}@example.org"

    def env(self):
        return helper_env()

    def cmd(self, args, json_out=False):
        return [self.helper, "--config", self.cfg] + (["--json"] if json_out else []) + args

    def run(self, args, json_out=False, stdin=None, env=None, timeout=60):
        return subprocess.run(self.cmd(args, json_out), capture_output=True, text=True,
                              input=stdin, env=env or self.env(), timeout=timeout)

    def spawn(self, args, env=None, timeout=15):
        import pexpect
        c = self.cmd(args)
        return pexpect.spawn(c[0], c[1:], env=env or self.env(), encoding="utf-8",
                             timeout=timeout, dimensions=(80, 200))

    def json(self, args, stdin=None):
        r = self.run(args, json_out=True, stdin=stdin)
        check(r.returncode == 0, f"{args} failed ({r.returncode}): {r.stderr.strip()}")
        return parse_json_lines(r.stdout)

    def status(self, user):
        return self.json(["status", "--user", user])

    def check_code(self, user, code, service="sshd", mode="code"):
        """The login decision (`check`, as the module would ask): enum login_result."""
        r = subprocess.run(self.cmd(["check"]), input=f"{mode}\n{user}\n{service}\n{code}\n",
                           capture_output=True, text=True, env=self.env(), timeout=60)
        return r.returncode

    def enable_json(self, user):
        """Enrol through `enable --json` (root, --user): returns (secret, backup codes, step)."""
        p = subprocess.Popen(self.cmd(["enable", "--user", user], json_out=True),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env())
        first = json.loads(p.stdout.readline())
        check(first.get("step") == "verify", f"enable --json first object: {first}")
        step = now_step()
        p.stdin.write(json.dumps({"code": totp(first["secret"], step)}) + "\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, f"enable --json failed ({p.returncode}): {err}")
        done = parse_json_lines(out)
        check(done.get("totp_enabled") is True, f"enable --json result: {done}")
        return first["secret"], done["backup_codes"], step

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_cases(prefix):
    only = os.environ.get("HX_ONLY")
    failed = passed = skipped = 0
    for name, fn in CASES:
        if only and not re.search(only, name):
            continue
        try:
            fn()
            print(f"PASS: {prefix}/{name}", flush=True)
            passed += 1
        except Skip as e:
            print(f"SKIP: {prefix}/{name}: {e}", flush=True)
            skipped += 1
        except Fail as e:
            print(f"FAIL: {prefix}/{name}: {e}", flush=True)
            failed += 1
        except Exception as e:  # a crash in the test is a failure with its trace
            print(f"FAIL: {prefix}/{name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc()
            failed += 1
    print(f"{prefix}: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    if failed:
        sys.exit(1)
    sys.exit(77 if passed == 0 and skipped > 0 else 0)
