#!/usr/bin/python3
"""One login through the real libpam and /etc/pam.d/SERVICE (pam_authenticate, then
pam_acct_mgmt when it should succeed), answering the prompts in order with the lines of
standard input.

    pamlogin.py USER SERVICE success|fail < answers

Exit status 0 when the result is the expected one, 1 otherwise (the PAM error on stderr)."""
import sys

import pypamtest

PAM_SUCCESS, PAM_AUTH_ERR = 0, 7


def main():
    user, service, want = sys.argv[1:4]
    answers = sys.stdin.read().splitlines()
    code = PAM_SUCCESS if want == "success" else PAM_AUTH_ERR
    tests = [pypamtest.TestCase(pypamtest.PAMTEST_AUTHENTICATE, code)]
    if code == PAM_SUCCESS:
        tests.append(pypamtest.TestCase(pypamtest.PAMTEST_ACCOUNT, PAM_SUCCESS))
    try:
        pypamtest.run_pamtest(user, service, tests, answers)
    except pypamtest.PamTestError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
