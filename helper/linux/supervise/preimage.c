/*
 * Pre-images: the bytes and metadata of a path before the op changes it.
 * Deletes and rename-over of a single-link file keep a hardlink (cheap, and
 * the inode's bytes stay exactly as they were); overwrites keep a reflink or
 * a byte copy. Stage files are named by the event's seq (WIRE.md §2).
 * The caller performs the op only if pre_capture returned 0.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void stage_name(struct call *c, char *name, size_t n)
{
	if (!c->seq)
		c->seq = ev_next_seq();
	snprintf(name, n, "%lld", c->seq);
}

void pre_meta(struct target *t, struct pre *p)
{
	memset(p, 0, sizeof *p);
	if (!t->exists) {
		p->kind = PRE_NONE;
		return;
	}
	p->kind = PRE_META;
	p->st = t->st;
	p->have_st = 1;
	if (S_ISLNK(t->st.st_mode) && t->parent >= 0) {
		ssize_t n = readlinkat(t->parent, t->last, p->target, sizeof p->target - 1);
		p->target[n > 0 ? n : 0] = 0;
	}
}

/* Byte copy SRC -> DST: reflink first (FICLONE, man 2 ioctl_ficlone), then
 * copy_file_range, then read/write for filesystems that support neither. */
static int copy_bytes(int src, int dst)
{
	if (ioctl(dst, FICLONE, src) == 0)
		return 0;
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	/* copy_file_range may have written a prefix before failing: restart */
	if (lseek(src, 0, SEEK_SET) < 0 || ftruncate(dst, 0) || lseek(dst, 0, SEEK_SET) < 0)
		return -errno;
	char buf[65536];
	for (;;) {
		ssize_t n = read(src, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));
			if (w < 0)
				return errno == EINTR ? 0 : -errno;
			off += w;
		}
	}
}

/* Returns 0, 1 if the source vanished (nothing to keep), or -errno. */
static int stage_copy(struct target *t, const char *name, struct stat *st)
{
	int src = openat(t->parent, t->last, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (src < 0)
		return errno == ENOENT ? 1 : -errno;
	if (fstat(src, st) || !S_ISREG(st->st_mode)) {
		close(src);
		return -EAGAIN; /* swapped under us for a non-file: caller keeps meta */
	}
	int dst = openat(S.stage_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dst < 0) {
		int e = errno;
		close(src);
		return -e;
	}
	int r = copy_bytes(src, dst);
	close(src);
	if (close(dst) && !r)
		r = -errno;
	if (r)
		unlinkat(S.stage_fd, name, 0);
	return r;
}

int pre_capture(struct call *c, struct target *t, struct pre *p, int want_bytes, int may_link)
{
	pre_meta(t, p);
	if (p->kind != PRE_META || !S_ISREG(t->st.st_mode) || !want_bytes)
		return 0;
	if (t->st.st_size > S.t.preimage_max) {
		p->kind = PRE_TOOLARGE;
		return 0;
	}
	char name[32];
	stage_name(c, name, sizeof name);
	if (may_link && t->st.st_nlink == 1) {
		if (linkat(t->parent, t->last, S.stage_fd, name, 0) == 0) {
			/* describe what was actually linked, in case the name moved */
			if (fstatat(S.stage_fd, name, &p->st, AT_SYMLINK_NOFOLLOW) == 0)
				p->st.st_nlink--; /* report the count before our link */
			p->kind = PRE_LINK;
			p->staged = 1;
			return 0;
		}
		/* ENOENT may mean the stage dir is gone: the copy below tells which.
		 * EXDEV, EPERM (protected_hardlinks), EMLINK...: copy instead */
	}
	struct stat st;
	int r = stage_copy(t, name, &st);
	if (r == 1) {
		p->kind = PRE_NONE;
		p->have_st = 0;
		return 0;
	}
	if (r == -EAGAIN)
		return 0;
	if (r)
		return r;
	p->st = st;
	p->kind = PRE_COPY;
	p->staged = 1;
	return 0;
}

void pre_failed(struct call *c, struct pre *p)
{
	if (p->staged) {
		char name[32];
		stage_name(c, name, sizeof name);
		unlinkat(S.stage_fd, name, 0);
		p->staged = 0;
	}
	if (p->kind != PRE_NONE_ABSENT)
		p->kind = PRE_NONE;
}
