"""
A real PostgreSQL server for the tests: initdb in a temporary directory, owned by the
`postgres` system user (the server refuses to run as root), listening on a unix socket in
that directory and on 127.0.0.1 at a port of its own. No host configuration is touched.

    srv = PgServer().start()
    uri = srv.create_db("hosts")   # postgresql:///hosts?host=DIR&port=N&user=postgres
    srv.stop(); srv.start()        # same data directory
    srv.cleanup()

As a command (for shell tests):
    pglib.py start NAME... [--durable] [--tcp] [--buffers=SIZE] [--huge-pages]
                            prints the server's directory, then for each database NAME its
                            URI (unix socket; with --tcp then also its loopback TCP URI);
                            --buffers: shared_buffers (default 32MB); --huge-pages: the
                            shared memory in huge pages (huge_pages=on: the server does not
                            start unless vm.nr_hugepages has room for it)
    pglib.py cleanup DIR    stops that server and removes DIR
"""
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    return None


def available():
    """None when a server can be started here, else why not."""
    if pg_bindir() is None:
        return "PostgreSQL server binaries not found (bash scripts/deps installs postgresql)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres system user (bash scripts/deps installs postgresql)"
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, durable=False, buffers="32MB", huge=False):
        """durable: fsync on (commits are written out; synchronous_commit stays off, as
        SQLite's WAL with synchronous=NORMAL: a crash loses at most the last moment, never
        consistency). Tests run without fsync. buffers: shared_buffers (the benchmark sizes
        it for a million users' store, as a server for such a store is sized)."""
        self.durable = durable
        self.buffers = buffers
        self.huge = huge
        self.bin = pg_bindir()
        self.tmp = tempfile.mkdtemp(prefix="pamrec-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "sock")
        self.log = os.path.join(self.tmp, "server.log")
        self.port = free_port()
        pw = pwd.getpwnam("postgres")
        os.mkdir(self.sock, 0o700)
        for d in (self.tmp, self.sock):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o755)
        self._as_pg([os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust",
                     "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])

    def _as_pg(self, argv, check=True, timeout=120):
        r = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, capture_output=True,
                           text=True, timeout=timeout, cwd="/",
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stderr}{r.stdout}")
        return r

    def start(self):
        opts = (f"-k {self.sock} -p {self.port} -c listen_addresses=127.0.0.1 "
                f"-c fsync={'on' if self.durable else 'off'} -c synchronous_commit=off "
                "-c max_connections=120 "
                f"-c shared_buffers={self.buffers} -c log_connections=on "
                f"-c huge_pages={'on' if self.huge else 'try'}")
        self._as_pg([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log,
                     "-o", opts, "-w", "-t", "60", "start"])
        return self

    def stop(self, mode="fast"):
        self._as_pg([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                     "-t", "60", "stop"], check=False)

    def psql(self, db, sql):
        r = self._as_pg([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-h", self.sock,
                         "-p", str(self.port), "-U", "postgres", "-d", db, "-v",
                         "ON_ERROR_STOP=1", "-c", sql])
        return r.stdout.strip()

    def create_db(self, name):
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.uri(name)

    def uri(self, name, tcp=False):
        if tcp:
            return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
        return f"postgresql:///{name}?host={self.sock}&port={self.port}&user=postgres"

    def connections(self, db, app="pam_recover"):
        """How many sessions the server has authorised for db and application so far."""
        want = f"database={db} application_name={app}"
        with open(self.log, errors="replace") as f:
            return sum(1 for line in f if "connection authorized" in line and want in line)

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)


def cleanup_dir(tmp):
    """Stop the server whose directory is tmp (made by PgServer) and remove tmp."""
    if not os.path.basename(tmp).startswith("pamrec-pg-"):
        raise SystemExit(f"pglib: {tmp} is not a test server's directory")
    b = pg_bindir()
    if b and os.path.exists(os.path.join(tmp, "data", "postmaster.pid")):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(b, "pg_ctl"), "-D",
                        os.path.join(tmp, "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, cwd="/", timeout=120)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "start":
        why = available()
        if why:
            print(why, file=sys.stderr)
            sys.exit(77)
        names = [a for a in sys.argv[2:] if not a.startswith("--")]
        sizes = [a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("--buffers=")]
        if any(not re.fullmatch(r"[0-9]+[kMG]B", x) for x in sizes):
            print("pglib: --buffers=SIZE: a size such as 1GB", file=sys.stderr)
            sys.exit(2)
        srv = PgServer(durable="--durable" in sys.argv[2:],
                       buffers=sizes[-1] if sizes else "32MB",
                       huge="--huge-pages" in sys.argv[2:]).start()
        print(srv.tmp)
        for name in names:
            print(srv.create_db(name))
            if "--tcp" in sys.argv[2:]:
                print(srv.uri(name, tcp=True))
    elif len(sys.argv) == 3 and sys.argv[1] == "cleanup":
        cleanup_dir(sys.argv[2])
    else:
        print("usage: pglib.py start NAME | cleanup DIR", file=sys.stderr)
        sys.exit(2)
