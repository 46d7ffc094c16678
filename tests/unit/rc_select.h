/*
 * RC_TEST_ONLY for the cmocka programs, as in every other layer: a regular expression (POSIX
 * extended) that selects the tests whose "GROUP/NAME" it matches; unset or empty: every test.
 * Include after <cmocka.h>; call rc_run_group_tests(GROUP, tests, setup, teardown) in place of
 * cmocka_run_group_tests. Nothing selected: a line that says so, and success.
 */
#ifndef RC_TESTS_SELECT_H
#define RC_TESTS_SELECT_H

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

static int rc_run_selected(const char *group, const struct CMUnitTest *tests, size_t n,
			   CMFixtureFunction setup, CMFixtureFunction teardown)
{
	const char *only = getenv("RC_TEST_ONLY");
	struct CMUnitTest *sel = NULL;
	char name[512];
	regex_t re;
	size_t k = 0;
	int r = 1;

	if (only == NULL || only[0] == '\0')
		return _cmocka_run_group_tests(group, tests, n, setup, teardown);
	if (regcomp(&re, only, REG_EXTENDED | REG_NOSUB) != 0) {
		fprintf(stderr, "RC_TEST_ONLY=%s is not a regular expression\n", only);
		return 1;
	}
	sel = calloc(n > 0 ? n : 1, sizeof(*sel));
	if (sel == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/%s", group, tests[i].name);
		if (regexec(&re, name, 0, NULL, 0) == 0)
			sel[k++] = tests[i];
	}
	if (k == 0) {
		printf("%s: no test matches RC_TEST_ONLY=%s\n", group, only);
		r = 0;
		goto out;
	}
	r = _cmocka_run_group_tests(group, sel, k, setup, teardown);
out:
	free(sel);
	regfree(&re);
	return r;
}

#define rc_run_group_tests(group, tests, setup, teardown)                                          \
	rc_run_selected((group), (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))

#endif
