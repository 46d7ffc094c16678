"""Read what pam-recover printed, for tests/e2e/run.

usage: /usr/bin/python3 parse.py enrol < output   -> line 1: base32 secret, line 2: a backup code
       /usr/bin/python3 parse.py app   < output   -> the app password
Reads --json output (one object per line) when it is there, else the human text: the secret
from the otpauth:// URI, backup codes (8 digits, maybe grouped) from the lines after the line
that mentions them, the app password as four dash-separated groups of four.
Exit status 1 when the wanted value is not found.
"""
import json
import re
import sys
import urllib.parse


def json_objects(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                pass


def walk(o):
    """Every (key, value) pair in nested JSON."""
    if isinstance(o, dict):
        for k, v in o.items():
            yield k, v
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)


def secret_from_uri(uri):
    q = urllib.parse.urlparse(uri).query
    vals = urllib.parse.parse_qs(q).get("secret")
    return vals[0] if vals else None


def enrol(text):
    secret, codes = None, []
    for o in json_objects(text):
        for k, v in walk(o):
            if isinstance(v, str) and v.startswith("otpauth://") and secret is None:
                secret = secret_from_uri(v)
            elif k == "secret" and isinstance(v, str) and secret is None:
                secret = v.replace(" ", "")
            elif "backup" in k and isinstance(v, list):
                codes += [c for c in v if isinstance(c, str)]
    if secret is None:
        m = re.search(r"otpauth://\S+", text)
        if m:
            secret = secret_from_uri(m.group(0))
    if not codes:
        after = False
        for line in text.splitlines():
            if re.search(r"backup", line, re.I):
                after = True
                continue
            if after:
                for m in re.finditer(r"(?<![\w-])(\d{4}[ -]?\d{4})(?![\w-])", line):
                    codes.append(m.group(1))
    if not secret:
        return 1
    print(secret.upper())
    print(re.sub(r"[ -]", "", codes[0]) if codes else "")
    return 0


APP_RE = re.compile(r"(?<![\w-])([a-z0-9]{4}(?:-[a-z0-9]{4}){3})(?![\w-])")


def app(text):
    for o in json_objects(text):
        for k, v in walk(o):
            if k in ("password", "app_password") and isinstance(v, str) and v:
                print(v)
                return 0
    m = APP_RE.search(text)
    if m:
        print(m.group(1))
        return 0
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("enrol", "app"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    data = sys.stdin.read()
    sys.exit(enrol(data) if sys.argv[1] == "enrol" else app(data))
