/* Per-syscall handlers, dispatched from handle() in ops.c. */
#ifndef WARDEN_OPS_H
#define WARDEN_OPS_H

#include "sup.h"

/* Argument accessors for the trapped syscall. */
#define ARG(c, i) ((c)->n->data.args[i])

/* Each handler answers C exactly once (respond/respond_fd/respond_continue). */
void op_open(struct call *c, int dirfd, uint64_t path, int flags, mode_t mode, int openat2);
void op_truncate(struct call *c);
void op_unlink(struct call *c, int dirfd, uint64_t path, int flags);
void op_rename(struct call *c, int od, uint64_t op, int nd, uint64_t np, unsigned flags);
void op_link(struct call *c, int od, uint64_t op, int nd, uint64_t np, int flags);
void op_symlink(struct call *c, uint64_t target, int nd, uint64_t np);
void op_mkdir(struct call *c, int dirfd, uint64_t path, mode_t mode);
void op_mknod(struct call *c, int dirfd, uint64_t path, mode_t mode, dev_t dev);

/* What a chmod-family call changes. */
enum meta_kind { META_MODE, META_OWNER, META_TIMES };
struct meta_req {
	enum meta_kind kind;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec ts[2];
	int ts_null; /* times NULL: set both to now */
};

/* PATH 0 (NULL) or FD >= 0 with no path means "operate on the fd". */
void op_meta(struct call *c, int dirfd, uint64_t path, int use_fd, int nofollow,
             struct meta_req *m);
void op_exec(struct call *c, int dirfd, uint64_t path, uint64_t argv, int flags);
void op_connect(struct call *c);

/* read_path - read a path argument; on failure answers C and returns -1. */
int read_path(struct call *c, uint64_t addr, char *buf);

/* fail_resolve - answer C with the resolution error R (no event: nothing happened). */
void fail_resolve(struct call *c, int r);

/* with_umask - set the process umask to the agent's for a create; returns the old one. */
mode_t with_umask(const struct call *c);

/* set_umask - umask(2) that skips the syscall when M is already in force; returns the old mask. */
mode_t set_umask(mode_t m);

/* AS_AGENT - evaluate EXPR (a long long result) with the agent's fs credentials
 * (creds.c); RES gets -errno if they could not be taken. */
#define AS_AGENT(c, res, expr)                                                                     \
	do {                                                                                       \
		int sw_, cr_ = creds_enter(&(c)->ts, &sw_);                                        \
		if (cr_)                                                                           \
			(res) = cr_;                                                               \
		else {                                                                             \
			(res) = (expr);                                                            \
			creds_leave(sw_);                                                          \
		}                                                                                  \
	} while (0)

/* finish - answer C with R (>= 0 value or -errno), then journal it. */
void finish(struct call *c, long long r);

/* deny - answer C with the deny errno and journal it. */
void deny(struct call *c);

#endif
