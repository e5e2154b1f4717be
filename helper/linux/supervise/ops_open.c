/*
 * Opens with write intent (and every openat2): resolved and performed by the
 * supervisor, the fd injected with SECCOMP_IOCTL_NOTIF_ADDFD + SEND
 * (man 2 seccomp_unotify). Overwrites of an existing file keep a copy first.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's __O_TMPFILE includes O_DIRECTORY; the kernel flag alone is 020000000 */
#define WRITE_INTENT (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | 020000000)

struct fifo_job {
	struct call c; /* copied; c.n points at job->n */
	struct seccomp_notif n;
	int parent;
	char last[NAME_MAX + 1];
	int flags;
};

static long long fifo_open_at(struct fifo_job *j)
{
	int fd = openat(j->parent, j->last, (j->flags | O_NOFOLLOW | O_CLOEXEC) & ~O_CREAT);
	return fd < 0 ? -errno : fd;
}

/* A FIFO open blocks until the other end arrives: do it off the loop. */
static void *fifo_open(void *arg)
{
	struct fifo_job *j = arg;
	j->c.n = &j->n;
	long long r0;
	AS_AGENT(&j->c, r0, fifo_open_at(j));
	int fd = r0 < 0 ? -1 : (int)r0;
	if (fd < 0)
		respond(&j->c, 0, (int)-r0);
	else {
		int r = respond_fd(&j->c, fd, j->flags & O_CLOEXEC);
		if (r && r != -ENOENT)
			respond(&j->c, 0, -r);
		close(fd);
	}
	close(j->parent);
	free(j);
	return NULL;
}

static void open_fifo(struct call *c, struct target *t, int flags)
{
	struct fifo_job *j = calloc(1, sizeof *j);
	pthread_t th;
	pthread_attr_t at;
	if (!j) {
		respond(c, 0, ENOMEM);
		return;
	}
	j->c = *c;
	j->n = *c->n;
	j->parent = dup(t->parent);
	strcpy(j->last, t->last);
	j->flags = flags;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (j->parent < 0 || pthread_create(&th, &at, fifo_open, j)) {
		if (j->parent >= 0)
			close(j->parent);
		free(j);
		ev_fault("cannot start a FIFO open thread");
		respond(c, 0, EIO);
	} else
		c->responded = 1; /* the thread owns the answer now */
	pthread_attr_destroy(&at);
}

/* The open itself, on the trusted parent, never following the final name. */
static long long open_at(struct target *t, int flags, mode_t mode)
{
	int fd = openat(t->parent, t->last, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	return fd < 0 ? -errno : fd;
}

/* Reopen through an fd link (pipe, socket, deleted file): nothing to journal. */
static long long open_magic(struct target *t, int flags, mode_t mode)
{
	int fd = open(t->magic_path, (flags | O_CLOEXEC | O_NOCTTY) & ~(O_CREAT | O_EXCL), mode);
	return fd < 0 ? -errno : fd;
}

/* Open without journaling (devices, pipes, read-only openat2). */
static void open_plain(struct call *c, struct target *t, int flags, mode_t mode)
{
	long long r0;
	if (t->magic)
		AS_AGENT(c, r0, open_magic(t, flags, mode));
	else
		AS_AGENT(c, r0, open_at(t, flags, mode));
	if (r0 < 0) {
		respond(c, 0, (int)-r0);
		return;
	}
	int fd = (int)r0;
	int r = respond_fd(c, fd, flags & O_CLOEXEC);
	if (r && r != -ENOENT)
		respond(c, 0, -r);
	close(fd);
}

void op_open(struct call *c, int dirfd, uint64_t path, int flags, mode_t mode, int is_openat2)
{
	char p[PATH_MAX];
	if (is_openat2) {
		struct open_how how;
		uint64_t size = ARG(c, 3);
		if (size < sizeof how) {
			respond(c, 0, EINVAL);
			return;
		}
		int r = mem_read(c->tid, ARG(c, 2), &how, sizeof how);
		if (r) {
			respond(c, 0, -r);
			return;
		}
		/* how.resolve is not honoured: our own resolution is at least as strict
		 * about magic links, and the wall and policy judge the real target */
		flags = (int)how.flags;
		mode = (mode_t)how.mode;
	}
	if (read_path(c, path, p))
		return;
	if (!notif_valid(c))
		return respond(c, 0, ESRCH);
	int tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
	int excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	int follow = tmpfile || (!(flags & O_NOFOLLOW) && !excl);
	struct target t;
	int r = resolve_path(c->tid, c->tgid, dirfd, p, follow, &t);
	if (r)
		return fail_resolve(c, r);
	int unreadable = 0;
	for (size_t i = 0; i < S.t.n_wall_deny_read && S.t.landlock; i++)
		unreadable |= path_is_beneath(t.canon, S.t.wall_deny_read[i]);
	if (path_is_beneath(t.canon, S.t.state) || !strcmp(t.canon, S.t.socket) ||
	    (unreadable && !(flags & WRITE_INTENT))) {
		c->op = OP_WRITE;
		strcpy(c->path, t.canon);
		c->v = (struct verdict){DEC_DENY, unreadable ? "builtin-wall" : "builtin-state-dir",
		                        "builtin", NULL};
		target_close(&t);
		return deny(c);
	}
	if (!(flags & WRITE_INTENT) || (t.magic && !t.pathlike) ||
	    (t.exists && S_ISCHR(t.st.st_mode))) {
		/* no filesystem side effect to journal: pipes, sockets, ttys, /dev/null */
		open_plain(c, &t, flags, mode);
		return target_close(&t);
	}
	if (t.exists && S_ISFIFO(t.st.st_mode) && !tmpfile) {
		open_fifo(c, &t, flags);
		return target_close(&t);
	}
	if (excl && t.exists && !tmpfile) {
		/* the kernel answers EEXIST before any permission check (lookup_open
		 * in fs/namei.c): nothing would change, so no decision is needed */
		target_close(&t);
		return respond(c, 0, EEXIST);
	}
	c->op = t.exists && !tmpfile ? OP_WRITE : OP_CREATE;
	c->flags = flags;
	strcpy(c->path, t.canon);
	decide(c, NULL);
	if (c->parked)
		return target_close(&t);
	if (c->v.decision != DEC_ALLOW) {
		target_close(&t);
		return deny(c);
	}
	c->seq = ev_next_seq();
	if (!t.exists || tmpfile)
		c->pre.kind = PRE_NONE;
	else if (!excl && (r = pre_capture(c, &t, &c->pre, 1, 0))) {
		ev_fault("pre-image of %s not stored (%s): write refused", c->path, strerror(-r));
		pre_failed(c, &c->pre);
		target_close(&t);
		return finish(c, -EIO);
	}
	mode_t old = 0;
	if (flags & (O_CREAT | __O_TMPFILE))
		old = with_umask(c);
	long long fdr;
	AS_AGENT(c, fdr, open_at(&t, flags, mode));
	int fd = fdr < 0 ? -1 : (int)fdr, e = fdr < 0 ? (int)-fdr : 0;
	if (flags & (O_CREAT | __O_TMPFILE))
		set_umask(old);
	target_close(&t);
	if (fd < 0) {
		pre_failed(c, &c->pre);
		return finish(c, -e);
	}
	struct stat cst;
	if (c->op == OP_CREATE && fstat(fd, &cst) == 0)
		hold_created(cst.st_dev, cst.st_ino);
	r = respond_fd(c, fd, flags & O_CLOEXEC);
	close(fd);
	if (r && r != -ENOENT) {
		respond(c, 0, -r);
		ev_emit(c, -r);
		return;
	}
	ev_emit(c, 0);
}
