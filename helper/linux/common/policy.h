/*
 * Rule evaluation shared by warden-supervise and warden-match: built-in
 * checks, then the table's rules in order, first match wins (WIRE.md §1).
 */
#ifndef WARDEN_POLICY_H
#define WARDEN_POLICY_H

#include "table.h"

#include <limits.h>

/* What one evaluation decided and why. */
struct verdict {
	enum decision decision;
	const char *rule;     /* rule id, "no-rule" or a "builtin-..." id */
	const char *band;     /* band of the rule, "builtin" or "" */
	const struct rule *r; /* the matching rule (params), NULL for built-ins */
};

/* One event as the policy sees it. Paths are canonical and absolute. */
struct policy_input {
	unsigned op;       /* one OP_* bit */
	const char *path;  /* primary path (exec: resolved executable) */
	const char *path2; /* second path for rename/link, else NULL */
	const char *cwd;   /* exec: the process cwd, for recursive-delete targets */
	char *const *argv; /* exec: NULL-terminated argv, else NULL */
	int link;          /* 1 for link: path2 (source) is judged as op write */
};

/*
 * policy_eval - decide IN against table T. For two-path events each path is
 * judged separately and the stricter decision (deny > ask > delay > steer >
 * allow) is returned with its rule. Never touches the filesystem except the
 * realpath-style resolution of recursive-delete targets (policy_resolve_target).
 */
struct verdict policy_eval(const struct table *t, const struct policy_input *in);

/*
 * policy_recursive_delete - if ARGV is a recursive delete (rm -r/-R/--recursive,
 * find with -delete or -exec/-execdir/-ok/-okdir rm), store pointers to its
 * target operands in TARGETS (at most MAX, NULL-free) and return their count
 * (find without start paths yields "."). Returns -1 if ARGV is not one.
 */
int policy_recursive_delete(char *const *argv, const char **targets, int max);

/*
 * policy_resolve_target - resolve ARG against CWD with realpath(3) semantics,
 * except that a missing tail is kept lexically (the longest existing prefix
 * is resolved, the rest normalised for "." and ".."). OUT holds PATH_MAX
 * bytes. Returns 0, or -1 (ENAMETOOLONG) if the result does not fit.
 */
int policy_resolve_target(const char *cwd, const char *arg, char *out);

/* path_is_beneath - 1 if PATH equals DIR or lies beneath it (string-wise). */
int path_is_beneath(const char *path, const char *dir);

#endif
