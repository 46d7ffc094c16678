/*
 * pam-recover-check: the back end pam_recover.so execs when it runs without root, as
 * pam_unix execs unix_chkpwd. It is `pam-recover check` (check.c, the same code) behind the
 * same start-up hardening, and nothing else: it links lib/ (the store, libsodium, liboath)
 * but no network, JSON or QR code library, so a login from a screen locker pays for one
 * small exec and one store open.
 *
 *   pam-recover-check [--config PATH]      one request on standard input (check.c)
 *   pam-recover-check --help
 *
 * --config is honoured only for root (tests, and an administrator trying a file); from
 * anyone else the request is refused (CHECK_MALFORMED): without it, the system
 * configuration. The exit status is check's (lib/check_proto.h).
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "harden.h"
#include "helper.h"
#include "login.h"

int main(int argc, char **argv)
{
	static char verb[] = "check";
	static char help[] = "--help";
	char *av[3] = {verb, NULL, NULL};
	struct hctx h;
	int i = 1, n = 1;
	int r = CHECK_MALFORMED;

	harden_startup(argc, argv); /* exits on failure */
	memset(&h, 0, sizeof(h));
	h.ruid = getuid();
	h.rgid = getgid();
	/* From here on root all through, as the helper is: the caller cannot stop or signal
	 * the process in the middle of a state write. */
	if (harden_become_root() < 0) {
		fputs("pam-recover-check: cannot become root\n", stderr);
		return LOGIN_ERROR;
	}
	openlog("pam-recover-check", LOG_PID, LOG_AUTHPRIV);
	if (i < argc && (strcmp(argv[i], "--config") == 0)) {
		if (h.ruid != 0 || i + 1 >= argc || argv[i + 1][0] != '/') {
			syslog(LOG_WARNING, "ruid=%ld: --config refused", (long)h.ruid);
			fputs("pam-recover-check: --config PATH (absolute) is for root only\n",
			      stderr);
			goto out;
		}
		h.config_path = argv[i + 1];
		i += 2;
	}
	if (i < argc && hx_is_help(argv[i])) {
		av[n++] = help;
		i++;
	}
	if (i < argc) {
		syslog(LOG_WARNING, "ruid=%ld: unexpected arguments", (long)h.ruid);
		goto out;
	}
	r = cmd_check(&h, n, av);
out:
	closelog();
	return r;
}
