/*
 * Run a program with an argument vector that no shell can make (CVE-2021-4034 style):
 *
 *   exec_argc0 PROGRAM                 argc == 0: argv = { NULL }
 *   exec_argc0 --argv0 STR PROGRAM ARG...   argv[0] = STR (may be ""), then ARG...
 *
 * The environment is passed on unchanged. Used by tests/helper/test_hardening.py.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc == 2) {
		char *none[] = {NULL};
		execve(argv[1], none, environ);
		perror("execve");
		return 127;
	}
	if (argc >= 4 && strcmp(argv[1], "--argv0") == 0) {
		const char *path = argv[3];
		argv[3] = argv[2]; /* argv[3..] becomes STR ARG... */
		execve(path, argv + 3, environ);
		perror("execve");
		return 127;
	}
	fputs("usage: exec_argc0 PROGRAM | exec_argc0 --argv0 STR PROGRAM [ARG...]\n", stderr);
	return 64;
}
