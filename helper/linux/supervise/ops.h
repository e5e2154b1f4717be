/* Per-syscall handlers, dispatched from handle() in ops.c. */
#ifndef WARDEN_OPS_H
#define WARDEN_OPS_H

#include "sup.h"

/* Argument accessors for the trapped syscall. */
#define ARG(c, i) ((c)->n->data.args[i])

/*
 * Handlers. Each answers C exactly once (respond, respond_fd or
 * respond_continue) and journals what it performed or denied. Arguments are
 * the raw syscall arguments: DIRFD/OD/ND are the target's fds (AT_FDCWD for
 * its cwd), PATH/OP/NP/TARGET are addresses in the target's memory.
 */

/* op_open - open/openat/creat with write intent, and every openat2 (IS_OPENAT2:
 * flags and mode come from the open_how at ARG 2). Performs the open and injects
 * the fd; a write to an existing file keeps a copy pre-image first. */
void op_open(struct call *c, int dirfd, uint64_t path, int flags, mode_t mode, int is_openat2);

/* op_truncate - truncate(path, length): copy pre-image, then open+ftruncate. */
void op_truncate(struct call *c);

/* op_unlink - unlink/unlinkat/rmdir (FLAGS: AT_REMOVEDIR): link pre-image for a
 * single-link file, copy for a multi-link one, meta for anything else. */
void op_unlink(struct call *c, int dirfd, uint64_t path, int flags);

/* op_rename - rename/renameat/renameat2 (FLAGS: RENAME_*): pre describes the
 * replaced destination, pre2 the source's metadata. */
void op_rename(struct call *c, int od, uint64_t op, int nd, uint64_t np, unsigned flags);

/* op_link - link/linkat (FLAGS: AT_SYMLINK_FOLLOW, AT_EMPTY_PATH): path is the
 * new name (create), path2 the source (judged as write). */
void op_link(struct call *c, int od, uint64_t op, int nd, uint64_t np, int flags);

/* op_symlink - symlink/symlinkat: path is the new name, path2 the link text. */
void op_symlink(struct call *c, uint64_t target, int nd, uint64_t np);

/* op_mkdir - mkdir/mkdirat with the agent's umask. */
void op_mkdir(struct call *c, int dirfd, uint64_t path, mode_t mode);

/* op_mknod - mknod/mknodat for regular files, FIFOs and sockets; device nodes get EPERM. */
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

/* op_meta - chmod/chown/utime family. USE_FD: 0 = PATH relative to DIRFD,
 * 1 = the fd DIRFD itself (fchmod, futimens), 2 = AT_EMPTY_PATH (the fd if PATH
 * is ""). NOFOLLOW: AT_SYMLINK_NOFOLLOW/lchown. Pre-image: meta (before-values). */
void op_meta(struct call *c, int dirfd, uint64_t path, int use_fd, int nofollow,
             struct meta_req *m);

/* op_exec - execve/execveat (FLAGS: AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW): judge
 * the resolved file and argv (recursive deletes), then CONTINUE. */
void op_exec(struct call *c, int dirfd, uint64_t path, uint64_t argv, int flags);

/* op_connect - unix sockets: performed here on a pidfd_getfd duplicate;
 * other families: CONTINUE. The state dir and daemon socket are refused. */
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
