/*
 * chmod / chown / utimes family. The object is pinned with an O_PATH fd and
 * changed through /proc/self/fd/N (which names the inode, not a path), so a
 * name swapped to a symlink after the check cannot redirect the change.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static long long apply(int fd, struct target *t, struct meta_req *m)
{
	struct stat st;
	if (fstat(fd, &st))
		return -errno;
	char pp[64];
	snprintf(pp, sizeof pp, "/proc/self/fd/%d", fd);
	int lnk = S_ISLNK(st.st_mode);
	int r;
	switch (m->kind) {
	case META_MODE:
		/* Linux cannot chmod a symlink (fchmodat2 returns EOPNOTSUPP) */
		r = lnk ? (errno = EOPNOTSUPP, -1) : chmod(pp, m->mode);
		break;
	case META_OWNER:
		r = fchownat(fd, "", m->uid, m->gid, AT_EMPTY_PATH);
		break;
	default:
		if (lnk && t->parent >= 0)
			r = utimensat(t->parent, t->last, m->ts_null ? NULL : m->ts,
			              AT_SYMLINK_NOFOLLOW);
		else
			r = utimensat(AT_FDCWD, pp, m->ts_null ? NULL : m->ts, 0);
	}
	return r ? -errno : 0;
}

void op_meta(struct call *c, int dirfd, uint64_t path, int use_fd, int nofollow, struct meta_req *m)
{
	struct target t;
	int r;
	char p[PATH_MAX];
	if (use_fd != 1 && read_path(c, path, p))
		return;
	if (!notif_valid(c))
		return respond(c, 0, ESRCH);
	if (use_fd == 1 || (use_fd == 2 && !p[0]))
		r = resolve_fd(c->tid, dirfd, &t);
	else
		r = resolve_path(c->tid, c->tgid, dirfd, p, !nofollow, &t);
	if (r)
		return fail_resolve(c, r);
	int fd = t.magic ? open(t.magic_path, O_PATH | O_CLOEXEC)
	                 : openat(t.parent, t.last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		target_close(&t);
		return respond(c, 0, r);
	}
	if (t.magic && !t.pathlike) {
		/* a pipe or socket: no path, nothing to journal */
		long long res;
		AS_AGENT(c, res, apply(fd, &t, m));
		close(fd);
		return respond(c, 0, res < 0 ? (int)-res : 0);
	}
	c->op = OP_CHMOD;
	c->flags = m->kind == META_MODE ? (long long)m->mode : 0;
	strcpy(c->path, t.canon);
	decide(c, NULL);
	if (c->parked) {
		close(fd);
		return target_close(&t);
	}
	if (c->v.decision != DEC_ALLOW) {
		close(fd);
		target_close(&t);
		return deny(c);
	}
	c->seq = ev_next_seq();
	pre_meta(&t, &c->pre);
	long long res;
	AS_AGENT(c, res, apply(fd, &t, m));
	close(fd);
	target_close(&t);
	if (res)
		pre_failed(c, &c->pre);
	finish(c, res);
}
