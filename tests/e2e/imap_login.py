"""IMAP LOGIN from a chosen loopback source address, for tests/e2e/run.

usage: /usr/bin/python3 imap_login.py PORT SOURCE_ADDR USER
The password comes on stdin (one line, the newline stripped), never on the command line.
Exit status: 0 logged in (and logged out), 1 the server refused the login (NO),
2 anything else (connection, protocol, timeout): a test must not count 2 as "refused".
"""
import imaplib
import socket
import sys

TIMEOUT = 20


class SourcedIMAP(imaplib.IMAP4):
    """imaplib.IMAP4 that connects from a given local address (Dovecot delays repeated
    failures per client address, so each failing test uses its own)."""

    def __init__(self, host, port, source):
        self._source = source
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    port, source, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    password = sys.stdin.readline().rstrip("\n")
    try:
        conn = SourcedIMAP("127.0.0.1", port, source)
    except (OSError, imaplib.IMAP4.error) as e:
        print(f"imap: connect failed: {e}", file=sys.stderr)
        return 2
    try:
        try:
            conn.login(user, password)
        except imaplib.IMAP4.error as e:
            msg = str(e)
            print(f"imap: LOGIN refused: {msg}", file=sys.stderr)
            return 1 if "AUTHENTICATIONFAILED" in msg or "failed" in msg.lower() else 2
        typ, _ = conn.select("INBOX")
        if typ != "OK":
            print(f"imap: logged in but SELECT INBOX answered {typ}", file=sys.stderr)
            return 2
        conn.logout()
        return 0
    except (OSError, imaplib.IMAP4.error) as e:
        print(f"imap: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    finally:
        try:
            conn.shutdown()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
