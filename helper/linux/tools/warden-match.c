/*
 * warden-match TABLE: evaluate policy cases from stdin with the helper's own
 * matcher, so the test/policy-cases YAML files can be checked against the C side.
 *
 * Input, one case per line, TAB-separated, fields escaped like the table:
 *   op  path  path2  cwd  argv0  argv1 ...     (empty field = none)
 * op is a vocabulary word; "link" means op create with path2 as the link
 * source (judged as write). Output per case: decision<TAB>rule-id.
 * Exit 0, or 2 for a usage/table error, 1 if a case line is malformed.
 */
#include "../common/policy.h"
#include "../common/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: warden-match TABLE < cases\n");
		return 2;
	}
	struct table t;
	char err[512];
	if (table_load(argv[1], &t, 0, err, sizeof err)) {
		fprintf(stderr, "warden-match: %s\n", err);
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (len == 0)
			continue;
		char *f[260];
		int nf = 0;
		for (char *p = line; nf < 259;) {
			f[nf++] = p;
			char *tab = strchr(p, '\t');
			if (!tab)
				break;
			*tab = 0;
			p = tab + 1;
		}
		int bad = nf < 2;
		for (int i = 0; i < nf && !bad; i++)
			bad = table_unescape(f[i]) < 0;
		struct policy_input in = {0};
		if (!bad) {
			if (strcmp(f[0], "link") == 0) {
				in.op = OP_CREATE;
				in.link = 1;
			} else
				in.op = op_parse(f[0]);
			bad = in.op == 0;
		}
		if (bad) {
			fprintf(stderr, "warden-match: stdin:%d: malformed case\n", lineno);
			printf("error\tmalformed\n");
			rc = 1;
			continue;
		}
		in.path = f[1];
		in.path2 = nf > 2 && f[2][0] ? f[2] : NULL;
		in.cwd = nf > 3 && f[3][0] ? f[3] : "/";
		char *av[260];
		int na = 0;
		for (int i = 4; i < nf; i++)
			av[na++] = f[i];
		av[na] = NULL;
		in.argv = na ? av : NULL;
		struct verdict v = policy_eval(&t, &in);
		printf("%s\t%s\n", decision_name(v.decision), v.rule);
		fflush(stdout);
	}
	free(line);
	return rc;
}
