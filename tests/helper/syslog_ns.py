#!/usr/bin/python3
"""Run a command with its syslog(3) lines captured, without touching the machine's syslog.

    unshare -m --propagation private /usr/bin/python3 syslog_ns.py LOGFILE -- CMD [ARGS...]

Inside a private mount namespace: a tmpfs over /dev with the real device nodes bound back,
and a datagram socket of our own at /dev/log. The command runs with this process's standard
input, output and error; every datagram it logs is written to LOGFILE (one per line).
Exits with the command's status.
"""
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def private_dev():
    real = tempfile.mkdtemp(prefix="realdev.")
    mount("--bind", "/dev", real)
    mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", "/dev")
    for name in os.listdir(real):
        src, dst = os.path.join(real, name), os.path.join("/dev", name)
        st = os.lstat(src)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(dst)
            mount("--bind", src, dst)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            open(dst, "w").close()
            mount("--bind", src, dst)


def main():
    logfile, sep, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    if sep != "--" or not cmd:
        sys.exit("usage: syslog_ns.py LOGFILE -- CMD [ARGS...]")
    private_dev()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("/dev/log")
    os.chmod("/dev/log", 0o666)
    lines = []
    stop = threading.Event()

    def reader():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                lines.append(sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                continue

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    rc = subprocess.call(cmd)
    stop.set()
    t.join()
    while True:  # whatever is still queued
        try:
            sock.setblocking(False)
            lines.append(sock.recv(65536).decode("utf-8", "replace"))
        except (BlockingIOError, OSError):
            break
    with open(logfile, "w") as f:
        for line in lines:
            f.write(line.replace("\n", " ") + "\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
