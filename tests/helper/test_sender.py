#!/usr/bin/python3
"""
The network side runs in pam-recover-send, a separate program the setuid helper execs
(privsep.h): it must hold no key, no store and no configuration secret it does not need,
run as channel_user with no way back to root, and be the only program that links libcurl.

While a real SMTP server (aiosmtpd, slowed down) holds a message, the test finds the
helper's network process (its child) and reads, as root, /proc/PID/status, environ, fd/,
maps and mem: the key file's 32 bytes and both keys derived from it (libsodium's
crypto_kdf, recomputed here with BLAKE2b) must not be in its memory; as a control, the
helper itself must hold the derived key (so the scan does find what is there).

usage: test_sender.py [BUILDDIR]      RC_TEST_ONLY=REGEX selects cases.
"""
import glob
import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (Fail, Sandbox, Skip, case, check, need_root_and_tools, run_cases,  # noqa: E402
                    sanitizer_build, top_builddir, write)

NOBODY = 65534
KDF_CONTEXT = b"pamrecov"  # lib/seal.c SEAL_KDF_CONTEXT
TG_TOKEN = "4242:sender-scan-token-XYZ"
SMTP_DELAY = 4


def die_with_parent():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def wait_for(fn, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise Fail(f"timed out waiting for {what}")


def kdf(master, subkey_id):
    """libsodium crypto_kdf_derive_from_key (BLAKE2b: key=master, salt=id, personal=ctx)."""
    return hashlib.blake2b(b"", digest_size=32, key=master,
                           salt=struct.pack("<Q", subkey_id) + bytes(8),
                           person=KDF_CONTEXT + bytes(8)).digest()


def needed(path):
    r = subprocess.run(["readelf", "-d", path], capture_output=True, text=True)
    check(r.returncode == 0, f"readelf {path}: {r.stderr}")
    return [line.split("[", 1)[1].rstrip("]") for line in r.stdout.splitlines()
            if "(NEEDED)" in line]


def children(pid):
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/stat") as f:
                st = f.read()
            if int(st.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(os.path.basename(d)))
        except (OSError, ValueError, IndexError):
            pass
    return out


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def scan(pid, needles):
    """Which of needles (name -> bytes) occur in the readable memory of pid."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            cols = line.split()
            if "r" not in cols[1] or (len(cols) > 5 and cols[5] in ("[vvar]", "[vsyscall]")):
                continue
            lo, hi = (int(x, 16) for x in cols[0].split("-"))
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            for name, b in needles.items():
                if b in data:
                    found.add(name)
    return found


@case("only pam-recover-send links libcurl; the setuid helper does not")
def t_needed():
    build = top_builddir()
    helper = needed(os.path.join(build, "pam-recover"))
    check(not [x for x in helper if x.startswith("libcurl")],
          f"pam-recover links libcurl: {helper}")
    sender_path = os.path.join(build, "pam-recover-send")
    check(os.path.exists(sender_path), "pam-recover-send is not built")
    sender = needed(sender_path)
    check([x for x in sender if x.startswith("libcurl")], f"the sender lacks libcurl: {sender}")
    extra = [x for x in sender if x.split(".so")[0] in ("libsqlite3", "liboath", "libpam",
                                                       "libpq", "libqrencode")]
    check(not extra, f"the sender links what it must not need: {extra}")


@case("the sender refuses to be root and a bad command line")
def t_sender_refuses():
    sender = os.path.join(top_builddir(), "pam-recover-send")
    r = subprocess.run([sender], capture_output=True, env={})
    check(r.returncode == 64, f"no arguments: exit {r.returncode}")
    with tempfile.NamedTemporaryFile() as receipt:
        r = subprocess.run(["/bin/sh", "-c", 'exec "$1" 0 0 3>"$2" </dev/null', "sh", sender,
                            receipt.name], capture_output=True, env={})
    check(r.returncode != 0 and b"must not be root" in r.stdout,
          f"uid 0 accepted: exit {r.returncode} {r.stdout!r}")


@case("while it sends: no key in its memory, no store, no other secret; nobody for good")
def t_scan():
    if sanitizer_build(os.path.join(top_builddir(), "pam-recover-send")):
        # the sanitizer's shadow mappings are terabytes of reserved memory; the plain build
        # runs this case
        raise Skip("not with a sanitizer build")
    tmp = tempfile.mkdtemp(prefix="pamrec-sender-")
    maildir = os.path.join(tmp, "mail")
    os.mkdir(maildir)
    port_file = os.path.join(tmp, "smtp.port")
    sink = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"), "--dir",
                             maildir, "--port-file", port_file, "--delay", str(SMTP_DELAY)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=die_with_parent)
    p = None
    try:
        port = int(wait_for(lambda: os.path.exists(port_file) and open(port_file).read(),
                            "the SMTP sink").strip())
        token_file = os.path.join(tmp, "tg.token")
        write(token_file, TG_TOKEN + "\n", 0o600)
        sb = Sandbox("sender", extra_cfg=f"smtp_url = smtp://127.0.0.1:{port}\nsmtp_tls = none\n"
                     "mail_from = recover@example.net\n"
                     f"telegram_token_file = {token_file}\n")
        sb.init()
        with open(sb.key, "rb") as f:
            master = f.read()
        check(len(master) == 32, "the key file does not hold 32 bytes")
        needles = {"key file": master, "sealing key": kdf(master, 1), "hashing key": kdf(master, 2),
                   "Telegram token": TG_TOKEN.encode()}
        user = sb.new_user()
        p = subprocess.Popen(sb.cmd(["contact", "set", "email", "scan@example.org", "--user",
                                     user]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=sb.env(), start_new_session=True)
        net = wait_for(lambda: children(p.pid), "the helper's network process")[0]
        time.sleep(0.5)  # it has read its request and is inside the SMTP exchange now
        check(p.poll() is None, "the helper ended before the scan")
        st = status(net)
        uids, gids = st["Uid"].split(), st["Gid"].split()
        check(uids == [str(NOBODY)] * 4, f"the network process runs as uids {uids}")
        check(gids == [str(NOBODY)] * 4, f"the network process runs as gids {gids}")
        check(st.get("Groups", "").split() in ([], [str(NOBODY)]),
              f"supplementary groups kept: {st.get('Groups')}")
        check(st.get("NoNewPrivs") == "1", "NoNewPrivs is not set")
        check(int(st.get("CapEff", "1"), 16) == 0 and int(st.get("CapPrm", "1"), 16) == 0,
              f"capabilities left: {st.get('CapEff')} {st.get('CapPrm')}")
        with open(f"/proc/{net}/environ", "rb") as f:
            env = f.read()
        check(env == b"", f"the network process has an environment: {env[:200]!r}")
        with open(f"/proc/{net}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
        check(argv0 == b"pam-recover-send", f"the network process is {argv0!r}, not an exec "
              f"of pam-recover-send")
        fds = {fd: os.readlink(f"/proc/{net}/fd/{fd}") for fd in os.listdir(f"/proc/{net}/fd")}
        bad = [t for t in fds.values() if sb.state in t or sb.etc in t]
        check(not bad, f"the network process holds store or config files: {bad}")
        with open(f"/proc/{net}/maps") as f:
            libs = f.read()
        check("libsqlite3" not in libs and "liboath" not in libs,
              "the store or OATH library is mapped in the network process")
        in_sender = scan(net, needles)
        in_helper = scan(p.pid, needles)
        check("sealing key" in in_helper,
              f"control: the helper's own memory should hold the sealing key (found "
              f"{sorted(in_helper)}); the scan or the derivation is wrong")
        check(not in_sender, f"found in the network process's memory: {sorted(in_sender)}")
        out, err = p.communicate(b"\n", timeout=60)
        check(p.returncode == 0, f"contact set email: exit {p.returncode}: {err[-300:]!r}")
        msgs = glob.glob(os.path.join(maildir, "msg-*.json"))
        check(len(msgs) == 1, f"{len(msgs)} messages at the server")
        with open(msgs[0]) as f:
            check(json.load(f)["peer_uid"] == NOBODY, "the SMTP client did not run as nobody")
        sb.cleanup()
    finally:
        if p is not None and p.poll() is None:
            p.kill()
        sink.terminate()
        sink.wait()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    need_root_and_tools("readelf")
    run_cases("sender")
