/* Run table parser (WIRE.md §1). Strict: an unknown record is an error. */
#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {"read",  "write", "create", "delete", "rename",
                                       "mkdir", "chmod", "exec",   "connect"};

const char *op_name(unsigned op)
{
	for (unsigned i = 0; i < 9; i++)
		if (op == (1u << i))
			return op_names[i];
	return "?";
}

unsigned op_parse(const char *s)
{
	for (unsigned i = 0; i < 9; i++)
		if (strcmp(s, op_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *decision_name(enum decision d)
{
	switch (d) {
	case DEC_ALLOW:
		return "allow";
	case DEC_STEER:
		return "steer";
	case DEC_DELAY:
		return "delay";
	case DEC_ASK:
		return "ask";
	case DEC_DENY:
		return "deny";
	}
	return "deny";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long table_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case '\\':
			*w++ = '\\';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'x': {
			int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi * 16 + lo);
			r += 2;
			break;
		}
		default:
			return -1;
		}
	}
	*w = 0;
	return w - s;
}

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s:%d: ", path, line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return -1;
	*v = nv;
	nv[*n] = strdup(s);
	return nv[(*n)++] ? 0 : -1;
}

static int parse_num(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_ops(char *s, unsigned *out)
{
	if (strcmp(s, "*") == 0) {
		*out = OP_ALL;
		return 0;
	}
	*out = 0;
	for (char *save, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned b = op_parse(tok);
		if (!b)
			return -1;
		*out |= b;
	}
	return *out ? 0 : -1;
}

/* The optional 8th rule field: delay=MS,timeout=MS,fallback=allow|deny (any subset, any order). */
static int parse_params(char *s, struct rule *r)
{
	if (!*s)
		return 0;
	for (char *save, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return -1;
		*eq++ = 0;
		if (strcmp(tok, "delay") == 0) {
			if (parse_num(eq, &r->delay_ms))
				return -1;
		} else if (strcmp(tok, "timeout") == 0) {
			if (parse_num(eq, &r->timeout_ms))
				return -1;
		} else if (strcmp(tok, "fallback") == 0) {
			if (strcmp(eq, "allow") == 0)
				r->fallback = DEC_ALLOW;
			else if (strcmp(eq, "deny") == 0)
				r->fallback = DEC_DENY;
			else
				return -1;
		} else
			return -1;
	}
	return 0;
}

static int parse_decision(const char *s, enum decision *d)
{
	static const char *const names[] = {"allow", "steer", "delay", "ask", "deny"};
	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0) {
			*d = (enum decision)i;
			return 0;
		}
	return -1;
}

/* Parse one record (fields already split and unescaped). */
static int record(struct table *t, char **f, int nf, const char *path, int ln, char *err, size_t el)
{
	const char *k = f[0];
	char **single = NULL;
	static const char *const nums[] = {"delete_delay_ms", "ask_timeout_ms", "idle_ms",
	                                   "repeat"};
	long long *const numv[] = {&t->delete_delay_ms, &t->ask_timeout_ms, &t->idle_ms,
	                           &t->repeat};
	for (int i = 0; i < 4; i++)
		if (strcmp(k, nums[i]) == 0) {
			if (nf != 2 || parse_num(f[1], numv[i]))
				return fail(err, el, path, ln, "%s wants one non-negative integer",
				            k);
			return 0;
		}
	if (strcmp(k, "bulk") == 0) {
		if (nf != 3 || parse_num(f[1], &t->bulk_n) || parse_num(f[2], &t->bulk_ms))
			return fail(err, el, path, ln, "bulk wants N MS (non-negative integers)");
		return 0;
	}
	if (strcmp(k, "run") == 0 || strcmp(k, "preimage_max") == 0) {
		long long v;
		if (nf != 2 || parse_num(f[1], &v))
			return fail(err, el, path, ln, "%s wants one non-negative integer", k);
		*(k[0] == 'r' ? &t->run : &t->preimage_max) = v;
		return 0;
	}
	if (strcmp(k, "state") == 0)
		single = &t->state;
	else if (strcmp(k, "socket") == 0)
		single = &t->socket;
	else if (strcmp(k, "events") == 0)
		single = &t->events;
	else if (strcmp(k, "stage") == 0)
		single = &t->stage;
	else if (strcmp(k, "home") == 0)
		single = &t->home;
	else if (strcmp(k, "workspace") == 0)
		single = &t->workspace;
	else if (strcmp(k, "trash") == 0)
		single = &t->trash;
	if (single || strcmp(k, "wall_write") == 0 || strcmp(k, "wall_deny_read") == 0) {
		if (nf != 2 || f[1][0] != '/')
			return fail(err, el, path, ln, "%s wants one absolute path", k);
		if (single) {
			free(*single);
			*single = strdup(f[1]);
			return *single ? 0 : fail(err, el, path, ln, "out of memory");
		}
		if (k[5] == 'w' ? push(&t->wall_write, &t->n_wall_write, f[1])
		                : push(&t->wall_deny_read, &t->n_wall_deny_read, f[1]))
			return fail(err, el, path, ln, "out of memory");
		return 0;
	}
	if (strcmp(k, "landlock") == 0) {
		if (nf != 2 || (strcmp(f[1], "on") && strcmp(f[1], "off")))
			return fail(err, el, path, ln, "landlock wants on or off");
		t->landlock = strcmp(f[1], "on") == 0;
		return 0;
	}
	if (strcmp(k, "rule") == 0) {
		struct rule r;
		if (nf != 7 && nf != 8)
			return fail(err, el, path, ln,
			            "rule wants 6 or 7 fields: ID BAND DECISION OPS KIND PATTERN "
			            "[PARAMS] (got %d)",
			            nf - 1);
		r.delay_ms = r.timeout_ms = -1;
		r.fallback = -1;
		r.argv_pat = NULL;
		if (nf == 8 && parse_params(f[7], &r))
			return fail(
			    err, el, path, ln,
			    "bad rule params '%s' (delay=MS,timeout=MS,fallback=allow|deny)", f[7]);
		if (!f[1][0])
			return fail(err, el, path, ln, "rule id is empty");
		if (parse_decision(f[3], &r.decision))
			return fail(err, el, path, ln, "unknown decision '%s'", f[3]);
		if (parse_ops(f[4], &r.ops))
			return fail(err, el, path, ln, "bad ops list '%s'", f[4]);
		if (strcmp(f[5], "path") == 0)
			r.kind = KIND_PATH;
		else if (strcmp(f[5], "tree") == 0)
			r.kind = KIND_TREE;
		else if (strcmp(f[5], "argv") == 0)
			r.kind = KIND_ARGV;
		else
			return fail(err, el, path, ln,
			            "unknown rule kind '%s' (path, tree or argv)", f[5]);
		if (r.kind == KIND_ARGV) {
			if (r.ops != OP_EXEC)
				return fail(err, el, path, ln, "argv rules apply to op exec only");
			if (!f[6][0])
				return fail(err, el, path, ln, "argv pattern is empty");
			size_t n = 1;
			for (const char *q = f[6]; *q; q++)
				n += *q == '\x1f';
			r.argv_pat = calloc(n + 1, sizeof *r.argv_pat);
			char *dup = strdup(f[6]);
			if (!r.argv_pat || !dup)
				return fail(err, el, path, ln, "out of memory");
			size_t i = 0;
			for (char *q = dup;; i++) {
				r.argv_pat[i] = q;
				char *us = strchr(q, '\x1f');
				if (!us)
					break;
				*us = 0;
				q = us + 1;
			}
		} else if (f[6][0] != '/')
			return fail(err, el, path, ln, "pattern '%s' is not absolute", f[6]);
		if (r.kind == KIND_TREE && r.ops != OP_EXEC)
			return fail(err, el, path, ln, "tree rules apply to op exec only");
		r.id = strdup(f[1]);
		r.band = strdup(f[2]);
		r.pattern = strdup(f[6]);
		struct rule *nr = realloc(t->rules, (t->n_rules + 1) * sizeof *nr);
		if (!r.id || !r.band || !r.pattern || !nr)
			return fail(err, el, path, ln, "out of memory");
		t->rules = nr;
		nr[t->n_rules++] = r;
		return 0;
	}
	return fail(err, el, path, ln, "unknown record kind '%s'", k);
}

int table_load(const char *path, struct table *t, int strict, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->landlock = 1;
	t->preimage_max = 64LL << 20;
	t->delete_delay_ms = 2000;
	t->ask_timeout_ms = 300000;
	t->bulk_n = 50;
	t->bulk_ms = 10000;
	t->idle_ms = 5000;
	t->repeat = 5;
	FILE *fp = fopen(path, "re");
	if (!fp)
		return fail(err, errlen, path, 0, "cannot open: %s", strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ln = 0, rc = 0, seen_header = 0;
	while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		ln++;
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (!seen_header) {
			if (strcmp(line, "warden-table\t1") != 0) {
				rc = fail(
				    err, errlen, path, ln,
				    "first line must be 'warden-table<TAB>1' (format version)");
				break;
			}
			seen_header = 1;
			continue;
		}
		if (len == 0 || line[0] == '#')
			continue;
		char *f[16];
		int nf = 0;
		for (char *p = line;; nf++) {
			if (nf == 16) {
				rc = fail(err, errlen, path, ln, "too many fields");
				break;
			}
			f[nf] = p;
			char *tab = strchr(p, '\t');
			if (!tab) {
				nf++;
				break;
			}
			*tab = 0;
			p = tab + 1;
		}
		for (int i = 0; rc == 0 && i < nf; i++)
			if (table_unescape(f[i]) < 0)
				rc = fail(err, errlen, path, ln, "bad escape in field %d", i + 1);
		if (rc == 0)
			rc = record(t, f, nf, path, ln, err, errlen);
	}
	if (rc == 0 && !seen_header)
		rc = fail(err, errlen, path, ln, "empty table (missing 'warden-table<TAB>1')");
	if (rc == 0 && strict) {
		static const char *const need[] = {"state", "socket", "events",
		                                   "stage", "home",   "workspace"};
		char *have[] = {t->state, t->socket, t->events, t->stage, t->home, t->workspace};
		for (int i = 0; i < 6 && rc == 0; i++)
			if (!have[i])
				rc = fail(err, errlen, path, ln, "missing '%s' record", need[i]);
	}
	free(line);
	fclose(fp);
	return rc;
}
