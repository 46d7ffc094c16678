/*
 * pam-recover: the setuid-root helper. Hardening first, then the caller recorded and root
 * all through, then the arguments copied and hidden, then the global options, then one verb
 * from a fixed table. Nothing here trusts the caller: the order and its reasons are in
 * doc/hardening.md.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "chars.h"
#include "doctor/doctor.h"
#include "harden.h"
#include "helper.h"
#include "out.h"

struct verb {
	const char *name;
	verb_fn fn;
	const char *summary;
};

/* The fixed set of verbs, one line each, with their code in a file of their own. */
static const struct verb verbs[] = {
	{"check", cmd_check, "back end of pam_recover.so (reads a request on a pipe)"},
	{"admin", cmd_admin, "administration (root only); `pam-recover admin --help`"},
	{"enable", cmd_enable, "turn on 2-step verification (QR code, first code, backup codes)"},
	{"disable", cmd_disable, "turn off 2-step verification (password and a code)"},
	{"device", cmd_device, "authenticator devices: list, add, remove (phone, tablet, ...)"},
	{"backup-codes", cmd_backup_codes,
	 "a new set of backup codes; `status`: how many are left"},
	{"app-password", cmd_app_password, "app passwords for mail programs: add, list, revoke"},
	{"status", cmd_status, "your 2-step verification settings"},
	{"contact", cmd_contact, "recovery e-mail, phone, Telegram, security question"},
	{"reset", cmd_reset, "reset a forgotten password (any caller; --json for web front ends)"},
};

static void usage(FILE *f)
{
	fputs("Usage: pam-recover [--config PATH] [--json] VERB [ARGS...]\n"
	      "       pam-recover [--config PATH] --check-config [--dump-config]\n"
	      "       pam-recover --help | --version\n"
	      "\n"
	      "Global options:\n"
	      "  --config PATH   use this configuration file (root only)\n"
	      "  --json          machine-readable output: one JSON object per line\n"
	      "  --check-config  load and validate the configuration, print \"configuration OK\"\n"
	      "  --dump-config   with --check-config: print the effective configuration\n"
	      "  --help          this text; `pam-recover VERB --help` for a verb\n"
	      "  --version       print the version\n"
	      "\n"
	      "Verbs:\n",
	      f);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\nExit status: 0 ok, 1 wrong code or proof, 64 usage, 65 bad input, 66 no such user\n"
	      "or file, 69 mail server or gateway unreachable, 70 internal error, 73 cannot\n"
	      "create, 74 store I/O error, 75 try later, 77 permission denied, 78 configuration\n"
	      "error. `check` answers with the codes of pam-recover(8).\n",
	      f);
}

static void identify_caller(struct hctx *h)
{
	h->ruid = getuid();
	h->rgid = getgid();
	const struct passwd *pw = getpwuid(h->ruid);
	if (pw == NULL || pw->pw_name == NULL ||
	    rc_snprintf(h->caller, sizeof(h->caller), "%s", pw->pw_name) < 0)
		if (rc_snprintf(h->caller, sizeof(h->caller), "uid %ld", (long)h->ruid) < 0)
			h->caller[0] = '\0';
}

/*
 * An argument that may stay visible in /proc/PID/cmdline (readable by every local user):
 * an option name without a value ("--user", "--json") or a plain lower-case word (verbs,
 * "set", "email"). Everything else (addresses, numbers, values after '=', free text, user
 * names with digits or '@') is blanked once copied.
 */
static int arg_public(const char *a)
{
	size_t n = strlen(a), i = 0;

	if (n == 0 || n > 32)
		return 0;
	if (a[0] == '-') {
		i = a[1] == '-' ? 2 : 1;
		if (i >= n)
			return 1;
	}
	for (; i < n; i++)
		if (!(rc_is_lower((unsigned char)a[i]) || (a[i] == '-' && i > 0)))
			return 0;
	return 1;
}

/*
 * The arguments as the verbs see them: copies on the heap. The originals, which
 * /proc/PID/cmdline shows to every local user, are overwritten with NUL bytes (all but the
 * public words above), so that a recovery address or phone number typed on the command line
 * is visible only for the moment between exec and this point.
 */
static char **copy_and_hide_args(int argc, char **argv)
{
	char **av = xcalloc((size_t)argc + 1, sizeof(*av));

	for (int i = 0; i < argc; i++) {
		av[i] = xstrdup(argv[i]);
		if (i > 0 && !arg_public(argv[i]))
			memset(argv[i], 0, strlen(argv[i]));
	}
	av[argc] = NULL;
	return av;
}

static void free_args(int argc, char **av)
{
	for (int i = 0; i < argc; i++) {
		rc_wipe(av[i], strlen(av[i]));
		free(av[i]);
	}
	free(av);
}

static int check_config(const struct hctx *h, int dump)
{
	struct cfg c;
	int r = hx_load_config(h, &c);
	if (r != 0)
		return r;
	if (dump) {
		cfg_dump(&c, stdout);
		r = HX_OK;
	} else
		r = dr_check_config(h, &c);
	cfg_free(&c);
	return r;
}

int main(int argc, char **argv_in)
{
	struct hctx h;
	char **argv;
	int want_check = 0, want_dump = 0;
	int i = 1;
	int r = HX_USAGE;

	harden_startup(argc, argv_in); /* exits on failure */
	memset(&h, 0, sizeof(h));
	identify_caller(&h);
	/* From here on the caller exists only as h.ruid, h.rgid and h.caller: the process is
	 * root all through, so the caller cannot stop, slow or signal it. */
	if (harden_become_root() < 0) {
		fputs("pam-recover: cannot become root\n", stderr);
		return HX_SOFTWARE;
	}
	argv = copy_and_hide_args(argc, argv_in);
	openlog("pam-recover", LOG_PID, LOG_AUTHPRIV);

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--config") == 0 || strncmp(a, "--config=", 9) == 0) {
			const char *path = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
			if (h.ruid != 0) {
				r = out_fail(
					HX_NOPERM,
					"--config is honoured only for root; "
					"running with the system configuration is the only choice");
				goto out;
			}
			if (path == NULL || path[0] != '/') {
				r = out_fail(HX_USAGE, "--config needs an absolute path");
				goto out;
			}
			h.config_path = path;
		} else if (strcmp(a, "--json") == 0) {
			h.json = 1;
			out_set_json(1);
		} else if (hx_is_help(a)) {
			usage(stdout);
			r = HX_OK;
			goto out;
		} else if (strcmp(a, "--version") == 0) {
			printf("pam-recover (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			r = HX_OK;
			goto out;
		} else if (strcmp(a, "--check-config") == 0 || strcmp(a, "-t") == 0) {
			want_check = 1;
		} else if (strcmp(a, "--dump-config") == 0 || strcmp(a, "-T") == 0) {
			want_check = want_dump = 1;
		} else {
			char esc[64];
			rc_log_escape(a, esc, sizeof(esc));
			usage(stderr);
			r = out_fail(HX_USAGE, "unknown option: %s", esc);
			goto out;
		}
	}

	if (want_check) {
		if (i < argc) {
			usage(stderr);
			r = out_fail(HX_USAGE, "--check-config takes no verb");
			goto out;
		}
		if (h.ruid != 0) {
			r = out_fail(HX_NOPERM, "only root may check the configuration");
			goto out;
		}
		r = check_config(&h, want_dump);
		goto out;
	}
	if (i >= argc) {
		usage(stderr);
		r = HX_USAGE;
		goto out;
	}
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		if (strcmp(argv[i], verbs[v].name) == 0) {
			r = verbs[v].fn(&h, argc - i, argv + i);
			/* What a reset left to deliver goes out now, and the store is pruned
			 * when that is due (never on the login path), after the verb's own
			 * output. */
			if (verbs[v].fn != cmd_check) {
				(void)fflush(stdout);
				hx_after_verb(&h);
			}
			goto out;
		}
	}
	{
		char esc[64];
		rc_log_escape(argv[i], esc, sizeof(esc));
		usage(stderr);
		r = out_fail(HX_USAGE, "unknown verb: %s", esc);
	}
out:
	if (out_finish() != 0 && r == HX_OK)
		r = HX_IOERR;
	closelog();
	free_args(argc, argv);
	return r;
}
