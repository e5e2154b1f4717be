/* Built-in checks, recursive-delete recognition and the table walk. */
#include "policy.h"
#include "glob.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int path_is_beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');
	return b ? b + 1 : s;
}

static int rm_is_recursive(char *const *argv)
{
	for (int i = 1; argv[i]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return 0;
		if (a[0] == '-' && a[1] == '-') {
			/* getopt_long accepts any unambiguous prefix: --rec, --recursive=... */
			size_t n = strcspn(a + 2, "=");
			if (n > 0 && strncmp(a + 2, "recursive", n) == 0 && n <= 9)
				return 1;
			continue;
		}
		if (a[0] == '-' && a[1] != '-' && a[1] && strpbrk(a + 1, "rR"))
			return 1;
	}
	return 0;
}

int policy_recursive_delete(char *const *argv, const char **targets, int max)
{
	if (!argv || !argv[0])
		return -1;
	const char *cmd = base_name(argv[0]);
	int n = 0;
	if (strcmp(cmd, "rm") == 0) {
		if (!rm_is_recursive(argv))
			return -1;
		int opts = 1;
		/* GNU rm permutes: options may follow operands until "--" */
		for (int i = 1; argv[i]; i++) {
			const char *a = argv[i];
			if (opts && strcmp(a, "--") == 0) {
				opts = 0;
				continue;
			}
			if (opts && a[0] == '-' && a[1])
				continue;
			if (n < max)
				targets[n++] = a;
		}
		return n;
	}
	if (strcmp(cmd, "find") != 0)
		return -1;
	int i = 1;
	/* leading options -H -L -P -D debugopts -Olevel */
	while (argv[i]) {
		const char *a = argv[i];
		if (strcmp(a, "-H") == 0 || strcmp(a, "-L") == 0 || strcmp(a, "-P") == 0 ||
		    strncmp(a, "-O", 2) == 0)
			i++;
		else if (strcmp(a, "-D") == 0 && argv[i + 1])
			i += 2;
		else
			break;
	}
	for (; argv[i]; i++) {
		const char *a = argv[i];
		if (a[0] == '-' || strcmp(a, "(") == 0 || strcmp(a, "!") == 0 ||
		    strcmp(a, ",") == 0)
			break;
		if (n < max)
			targets[n++] = a;
	}
	int deletes = 0;
	for (; argv[i]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-delete") == 0)
			deletes = 1;
		else if ((strcmp(a, "-exec") == 0 || strcmp(a, "-execdir") == 0 ||
		          strcmp(a, "-ok") == 0 || strcmp(a, "-okdir") == 0) &&
		         argv[i + 1] && strcmp(base_name(argv[i + 1]), "rm") == 0)
			deletes = 1;
	}
	if (!deletes)
		return -1;
	if (n == 0 && max > 0)
		targets[n++] = ".";
	return n;
}

/* Append component C (length L) to OUT lexically, handling "." and "..". */
static int push_comp(char *out, size_t *len, const char *c, size_t l)
{
	if (l == 0 || (l == 1 && c[0] == '.'))
		return 0;
	if (l == 2 && c[0] == '.' && c[1] == '.') {
		while (*len > 1 && out[*len - 1] != '/')
			(*len)--;
		if (*len > 1)
			(*len)--;
		out[*len] = 0;
		return 0;
	}
	if (*len + 1 + l + 1 > PATH_MAX)
		return -1;
	if (*len > 1)
		out[(*len)++] = '/';
	memcpy(out + *len, c, l);
	*len += l;
	out[*len] = 0;
	return 0;
}

int policy_resolve_target(const char *cwd, const char *arg, char *out)
{
	char joined[PATH_MAX * 2];
	size_t al = strlen(arg), cl = strlen(cwd);
	if (al + cl + 2 > sizeof joined) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (arg[0] == '/')
		memcpy(joined, arg, al + 1);
	else {
		memcpy(joined, cwd, cl);
		joined[cl] = '/';
		memcpy(joined + cl + 1, arg, al + 1);
	}
	/* Component by component, like core/policy/rmtree.ts resolveTarget: each
	 * existing prefix goes through realpath (so ".." after a symlink is
	 * physical); from the first missing one the rest is joined lexically. */
	char cur[PATH_MAX], next[PATH_MAX];
	strcpy(cur, "/");
	for (const char *p = joined; *p;) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - p);
		if (l == 0 || (l == 1 && p[0] == '.')) {
			p = e;
			continue;
		}
		size_t nl = strlen(cur);
		memcpy(next, cur, nl + 1);
		if (push_comp(next, &nl, p, l)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (realpath(next, cur)) {
			p = e;
			continue;
		}
		/* missing: append the rest lexically */
		for (p = e; *p;) {
			while (*p == '/')
				p++;
			e = p;
			while (*e && *e != '/')
				e++;
			if (push_comp(next, &nl, p, (size_t)(e - p))) {
				errno = ENAMETOOLONG;
				return -1;
			}
			p = e;
		}
		strcpy(out, next);
		return 0;
	}
	strcpy(out, cur);
	return 0;
}

static struct verdict builtin(const char *rule)
{
	return (struct verdict){DEC_DENY, rule, "builtin", NULL};
}

/* argv rule: glob list P against ARGV; element 0 is matched against the
 * basename of EXE (the resolved executable). FIRST: A[0] is argv[0]. */
static int argv_match(char *const *p, char *const *a, const char *exe, int first)
{
	for (; *p; p++) {
		if (strcmp(*p, "**") == 0) {
			for (;; a++, first = 0) {
				if (argv_match(p + 1, a, exe, first))
					return 1;
				if (!*a)
					return 0;
			}
		}
		if (!*a)
			return 0;
		const char *s = *a;
		if (first) {
			const char *sl = strrchr(exe, '/');
			s = sl ? sl + 1 : exe;
		}
		if (!glob_match_elem(*p, s))
			return 0;
		a++;
		first = 0;
	}
	return !*a;
}

/* Judge one path with one op. */
static struct verdict eval_one(const struct table *t, unsigned op, const char *path,
                               const struct policy_input *in, int primary)
{
	if (t->state &&
	    (path_is_beneath(path, t->state) || (t->socket && strcmp(path, t->socket) == 0)))
		return builtin("builtin-state-dir");
	if (primary && (op == OP_RENAME || op == OP_DELETE)) {
		if ((t->workspace && path_is_beneath(t->workspace, path)) ||
		    (t->state && path_is_beneath(t->state, path)))
			return builtin("builtin-protect-ancestor");
	}
	const char *targets[16];
	int nt = -1;
	char resolved[16][PATH_MAX];
	if (op == OP_EXEC && in->argv) {
		nt = policy_recursive_delete(in->argv, targets, 16);
		for (int i = 0; i < nt; i++)
			if (policy_resolve_target(in->cwd ? in->cwd : "/", targets[i], resolved[i]))
				strcpy(resolved[i], "/"); /* unresolvable: judge as the widest */
	}
	for (size_t r = 0; r < t->n_rules; r++) {
		const struct rule *ru = &t->rules[r];
		if (!(ru->ops & op))
			continue;
		int hit = 0;
		if (ru->kind == KIND_PATH)
			hit = path[0] &&
			      glob_match(ru->pattern, path); /* no path: path rules never match */
		else if (ru->kind == KIND_ARGV)
			hit = primary && in->argv && argv_match(ru->argv_pat, in->argv, path, 1);
		else
			for (int i = 0; i < nt && !hit; i++)
				hit = path_is_beneath(ru->pattern, resolved[i]);
		if (hit)
			return (struct verdict){ru->decision, ru->id, ru->band, ru};
	}
	return (struct verdict){DEC_DENY, "no-rule", "", NULL};
}

struct verdict policy_eval(const struct table *t, const struct policy_input *in)
{
	struct verdict v = eval_one(t, in->op, in->path, in, 1);
	if (in->path2) {
		unsigned op2 = in->link ? OP_WRITE : in->op;
		struct verdict v2 = eval_one(t, op2, in->path2, in, 0);
		if (v2.decision > v.decision)
			v = v2;
	}
	return v;
}
