/* The run table (WIRE.md §1): parsed once at start, read-only afterwards. */
#ifndef WARDEN_TABLE_H
#define WARDEN_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Op bits, in the DESIGN.md vocabulary. */
enum {
	OP_READ = 1 << 0,
	OP_WRITE = 1 << 1,
	OP_CREATE = 1 << 2,
	OP_DELETE = 1 << 3,
	OP_RENAME = 1 << 4,
	OP_MKDIR = 1 << 5,
	OP_CHMOD = 1 << 6,
	OP_EXEC = 1 << 7,
	OP_CONNECT = 1 << 8,
	OP_ALL = (1 << 9) - 1,
};

enum decision { DEC_ALLOW = 0, DEC_STEER, DEC_DELAY, DEC_ASK, DEC_DENY };
enum rule_kind { KIND_PATH, KIND_TREE, KIND_ARGV };

struct rule {
	char *id;
	char *band;
	enum decision decision;
	unsigned ops;
	enum rule_kind kind;
	char *pattern;
	char **argv_pat;                /* KIND_ARGV: the \x1f-separated globs, NULL-terminated */
	long long delay_ms, timeout_ms; /* 8th field; -1 = the table default */
	int fallback;                   /* DEC_ALLOW / DEC_DENY; -1 = default */
};

struct table {
	long long run;
	char *state, *socket, *events, *stage, *home, *workspace;
	long long preimage_max;
	char **wall_write;
	size_t n_wall_write;
	char **wall_deny_read;
	size_t n_wall_deny_read;
	struct rule *rules;
	size_t n_rules;
	int landlock; /* 1 = on (default), 0 = off */
	/* WIRE.md §3 (holds) */
	long long delete_delay_ms, ask_timeout_ms, bulk_n, bulk_ms, idle_ms, repeat;
	char *trash;
};

/*
 * table_load - parse the run table at PATH into T. With STRICT, the records a
 * run needs (state, socket, events, stage, home, workspace) must be present;
 * warden-match passes 0 because policy-case tables carry only rules. On error writes "PATH:LINE:
 * what is wrong" into ERR (ERRLEN bytes) and returns -1; T is then partially filled and must not be
 * used.
 */
int table_load(const char *path, struct table *t, int strict, char *err, size_t errlen);

/*
 * table_unescape - undo the table escaping (\\ \t \n \xHH) of S in place.
 * Returns the new length, or -1 for a malformed escape.
 */
long table_unescape(char *s);

/* op_name - the vocabulary word for a single OP_* bit ("write", ...). */
const char *op_name(unsigned op);

/* op_parse - one vocabulary word to its OP_* bit; 0 if unknown. */
unsigned op_parse(const char *s);

/* decision_name - "allow", "deny", ... for D. */
const char *decision_name(enum decision d);

#endif
