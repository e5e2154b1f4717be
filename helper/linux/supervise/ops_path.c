/*
 * Namespace ops performed by the supervisor on a trusted parent dirfd:
 * truncate, unlink/rmdir, rename, link, symlink, mkdir, mknod.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Resolve one path argument; answers C and returns -1 on failure. */
static int get(struct call *c, int dirfd, uint64_t addr, int follow, struct target *t)
{
	char p[PATH_MAX];
	if (read_path(c, addr, p))
		return -1;
	if (!notif_valid(c)) {
		respond(c, 0, ESRCH);
		return -1;
	}
	int r = resolve_path(c->tid, c->tgid, dirfd, p, follow, t);
	if (r) {
		fail_resolve(c, r);
		return -1;
	}
	if (t->magic && !t->pathlike) {
		/* an fd link to a pipe/socket/deleted file has no name to change */
		respond(c, 0, ENOENT);
		return -1;
	}
	return 0;
}

/* Decide; on deny answer + journal and return -1. */
static int allowed(struct call *c, struct target *t, struct target *t2)
{
	decide(c, NULL);
	if (!c->parked && (c->v.decision == DEC_ALLOW ||
	                   (c->v.decision == DEC_STEER && c->op == OP_DELETE && S.trash_fd >= 0)))
		return 0;
	target_close(t);
	if (t2)
		target_close(t2);
	if (c->parked)
		return -1; /* held: answered when the hold is resolved */
	deny(c);
	return -1;
}

/* The run created T's new name: remember its inode (deletes of it need no delay or gate). */
static void created(struct target *t)
{
	struct stat st;
	if (fstatat(t->parent, t->last, &st, AT_SYMLINK_NOFOLLOW) == 0)
		hold_created(st.st_dev, st.st_ino);
}

/*
 * The new name already exists (or is "." / ".."): the kernel answers EEXIST
 * for mkdir/mknod/link/symlink before any permission check (filename_create
 * in fs/namei.c), so we must too, even where the policy would deny: agents
 * probe with `mkdir -p ~` and treat EACCES as fatal (Claude Code does).
 */
static int name_taken(const struct target *t)
{
	struct stat st;
	return t->dot || fstatat(t->parent, t->last, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A pre-image could not be stored: refuse the op (fail closed). */
static void refuse(struct call *c, int r)
{
	ev_fault("pre-image of %s not stored (%s): %s refused", c->path, strerror(-r), c->sys);
	pre_failed(c, &c->pre);
	finish(c, -EIO);
}

/* Open T for writing (the permission check) and cut it to LEN bytes. */
static long long do_truncate(struct target *t, off_t len)
{
	int fd =
	    openat(t->parent, t->last, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	long long r = ftruncate(fd, len) ? -errno : 0;
	close(fd);
	return r;
}

void op_truncate(struct call *c)
{
	struct target t;
	if (get(c, AT_FDCWD, ARG(c, 0), 1, &t))
		return;
	c->op = OP_WRITE;
	c->flags = (long long)ARG(c, 1);
	strcpy(c->path, t.canon);
	if (allowed(c, &t, NULL))
		return;
	c->seq = ev_next_seq();
	int r = pre_capture(c, &t, &c->pre, 1, 0);
	if (r) {
		target_close(&t);
		return refuse(c, r);
	}
	long long res;
	AS_AGENT(c, res, do_truncate(&t, (off_t)ARG(c, 1)));
	target_close(&t);
	if (res)
		pre_failed(c, &c->pre);
	finish(c, res);
}

void op_unlink(struct call *c, int dirfd, uint64_t path, int flags)
{
	struct target t;
	if (get(c, dirfd, path, 0, &t))
		return;
	int rmdir = flags & AT_REMOVEDIR;
	if (t.dot) {
		target_close(&t);
		return respond(c, 0, rmdir ? EINVAL : EISDIR);
	}
	c->op = OP_DELETE;
	c->flags = flags;
	strcpy(c->path, t.canon);
	if (t.exists) {
		c->have_ino = 1;
		c->dev = t.st.st_dev;
		c->ino = t.st.st_ino;
	}
	if (allowed(c, &t, NULL))
		return;
	c->seq = ev_next_seq();
	if (c->v.decision == DEC_STEER) {
		if (t.exists && !rmdir && !S_ISDIR(t.st.st_mode)) {
			/* steer: move the file into trash/<seq> instead of unlinking it */
			char name[32];
			snprintf(name, sizeof name, "%lld", c->seq);
			pre_meta(&t, &c->pre);
			long long res;
			AS_AGENT(c, res, renameat(t.parent, t.last, S.trash_fd, name) ? -errno : 0);
			if (res != -EXDEV) {
				target_close(&t);
				if (res == 0) {
					c->pre.kind = PRE_LINK;
					c->pre.trash = 1;
					c->steer_trash = 1;
				}
				return finish(c, res);
			}
		}
		c->steer_trash = 2; /* a dir, or another filesystem: the normal delete */
	}
	int r = 0;
	if (t.exists && S_ISREG(t.st.st_mode) && !rmdir)
		r = pre_capture(c, &t, &c->pre, 1, 1);
	else
		pre_meta(&t, &c->pre);
	if (r) {
		target_close(&t);
		return refuse(c, r);
	}
	long long res;
	AS_AGENT(c, res, unlinkat(t.parent, t.last, rmdir) ? -errno : 0);
	target_close(&t);
	if (res)
		pre_failed(c, &c->pre);
	finish(c, res);
}

void op_rename(struct call *c, int od, uint64_t op, int nd, uint64_t np, unsigned flags)
{
	struct target s, d;
	if (get(c, od, op, 0, &s))
		return;
	if (get(c, nd, np, 0, &d)) {
		target_close(&s);
		return;
	}
	if (s.dot || d.dot) {
		target_close(&s);
		target_close(&d);
		return respond(c, 0, EBUSY);
	}
	c->op = OP_RENAME;
	c->flags = flags;
	strcpy(c->path, s.canon);
	strcpy(c->path2, d.canon);
	c->has_path2 = 1;
	if (allowed(c, &s, &d))
		return;
	c->seq = ev_next_seq();
	pre_meta(&s, &c->pre2);
	int r = 0;
	if (!d.exists || (flags & RENAME_NOREPLACE))
		c->pre.kind = PRE_NONE;
	else if (!(flags & RENAME_EXCHANGE) && S_ISREG(d.st.st_mode))
		r = pre_capture(c, &d, &c->pre, 1, 1);
	else
		pre_meta(&d, &c->pre);
	if (r) {
		target_close(&s);
		target_close(&d);
		return refuse(c, r);
	}
	long long res;
	AS_AGENT(c, res, renameat2(s.parent, s.last, d.parent, d.last, flags) ? -errno : 0);
	target_close(&s);
	target_close(&d);
	if (res)
		pre_failed(c, &c->pre);
	finish(c, res);
}

void op_link(struct call *c, int od, uint64_t op, int nd, uint64_t np, int flags)
{
	struct target s, d;
	char p[PATH_MAX];
	if (read_path(c, op, p))
		return;
	int r;
	/* the source may be an fd link to an unnamed (O_TMPFILE) file: that is
	 * how such a file gets a name, so magic sources are allowed here */
	if ((flags & AT_EMPTY_PATH) && !p[0])
		r = resolve_fd(c->tid, od, &s);
	else
		r = resolve_path(c->tid, c->tgid, od, p, !!(flags & AT_SYMLINK_FOLLOW), &s);
	if (r)
		return fail_resolve(c, r);
	if (!notif_valid(c)) {
		target_close(&s);
		return respond(c, 0, ESRCH);
	}
	if (get(c, nd, np, 0, &d)) {
		target_close(&s);
		return;
	}
	if (name_taken(&d)) {
		target_close(&s);
		target_close(&d);
		return respond(c, 0, EEXIST);
	}
	c->op = OP_CREATE;
	c->flags = flags;
	strcpy(c->path, d.canon);
	strcpy(c->path2, s.canon);
	c->has_path2 = 1;
	if (allowed(c, &s, &d))
		return;
	c->seq = ev_next_seq();
	c->pre.kind = PRE_NONE;
	long long res;
	if (s.magic)
		AS_AGENT(c, res,
		         linkat(AT_FDCWD, s.magic_path, d.parent, d.last, AT_SYMLINK_FOLLOW)
		             ? -errno
		             : 0);
	else
		AS_AGENT(c, res, linkat(s.parent, s.last, d.parent, d.last, 0) ? -errno : 0);
	if (res == 0)
		created(&d);
	target_close(&s);
	target_close(&d);
	finish(c, res);
}

void op_symlink(struct call *c, uint64_t target, int nd, uint64_t np)
{
	char tgt[PATH_MAX];
	struct target d;
	if (read_path(c, target, tgt))
		return;
	if (get(c, nd, np, 0, &d))
		return;
	if (name_taken(&d)) {
		target_close(&d);
		return respond(c, 0, EEXIST);
	}
	c->op = OP_CREATE;
	strcpy(c->path, d.canon);
	if (allowed(c, &d, NULL))
		return;
	/* path2 is the link's text, not a path the policy judges */
	strcpy(c->path2, tgt);
	c->has_path2 = 1;
	c->seq = ev_next_seq();
	c->pre.kind = PRE_NONE;
	long long res;
	AS_AGENT(c, res, symlinkat(tgt, d.parent, d.last) ? -errno : 0);
	if (res == 0)
		created(&d);
	target_close(&d);
	finish(c, res);
}

void op_mkdir(struct call *c, int dirfd, uint64_t path, mode_t mode)
{
	struct target t;
	if (get(c, dirfd, path, 0, &t))
		return;
	if (name_taken(&t)) {
		target_close(&t);
		return respond(c, 0, EEXIST);
	}
	c->op = OP_MKDIR;
	c->flags = mode;
	strcpy(c->path, t.canon);
	if (allowed(c, &t, NULL))
		return;
	c->seq = ev_next_seq();
	c->pre.kind = PRE_NONE;
	mode_t old = with_umask(c);
	long long res;
	AS_AGENT(c, res, mkdirat(t.parent, t.last, mode) ? -errno : 0);
	set_umask(old);
	if (res == 0)
		created(&t);
	target_close(&t);
	finish(c, res);
}

void op_mknod(struct call *c, int dirfd, uint64_t path, mode_t mode, dev_t dev)
{
	/* the supervisor may hold privileges the agent lacks: no device nodes */
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return respond(c, 0, EPERM);
	struct target t;
	if (get(c, dirfd, path, 0, &t))
		return;
	if (name_taken(&t)) {
		target_close(&t);
		return respond(c, 0, EEXIST);
	}
	c->op = OP_CREATE;
	c->flags = mode;
	strcpy(c->path, t.canon);
	if (allowed(c, &t, NULL))
		return;
	c->seq = ev_next_seq();
	c->pre.kind = PRE_NONE;
	mode_t old = with_umask(c);
	long long res;
	AS_AGENT(c, res, mknodat(t.parent, t.last, mode, dev) ? -errno : 0);
	set_umask(old);
	if (res == 0)
		created(&t);
	target_close(&t);
	finish(c, res);
}
