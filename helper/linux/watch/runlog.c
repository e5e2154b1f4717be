/*
 * One agent tree's output: the WIRE.md §2 event log and staged pre-images, in the tree's spool dir
 * `<state>/watch/<key>/{events.ndjson,stage/<seq>}` inside its user's state dir (WIRE.md §4.3). The
 * helper runs as root and the state dir belongs to the user, so every step is relative to a
 * directory fd opened with O_NOFOLLOW and checked to be owned by that user; files are created
 * O_EXCL and handed to the user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ww.h"

int ino_has(struct ww_ino *v, size_t n, dev_t d, ino_t i)
{
	for (size_t k = n; k-- > 0;)
		if (v[k].ino == i && v[k].dev == d)
			return 1;
	return 0;
}

void ino_add(struct ww_ino **v, size_t *n, size_t *cap, dev_t d, ino_t i)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct ww_ino *nv = realloc(*v, c * sizeof **v);
		if (!nv)
			return;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = (struct ww_ino){d, i};
}

/* jb_pre_stat - "KEY":{"kind":KIND, type, mode, uid, gid, size, mtime, atime, dev, ino, nlink} from
 * ST (a struct stat *), or just {"kind":KIND} when ST is NULL. */
void jb_pre_stat(struct jbuf *j, const char *key, const char *kind, const void *stp)
{
	const struct stat *st = stp;
	jb_key(j, key);
	jb_obj_begin(j);
	jb_cstr(j, "kind", kind);
	if (st)
		jb_stat(j, st);
	jb_append(j, "}", 1);
}

/* owned_dir - opens NAME beneath DIRFD (creating it 0700 for UID) refusing symlinks and dirs not
 * owned by UID or writable by others. Returns the fd or -1. */
static int owned_dir(int dirfd, const char *name, uid_t uid)
{
	if (mkdirat(dirfd, name, 0700) == 0) {
		int fd = openat(dirfd, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fchown(fd, uid, (gid_t)-1) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (errno != EEXIST)
		return -1;
	int fd = openat(dirfd, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != uid || (st.st_mode & 0022))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

void runlog_open(struct ww_tree *t, const char *unused)
{
	(void)unused;
	const char *state = ipc_state_of(t->uid);
	if (!state) {
		logmsg("tree %s: no daemon or state dir known for uid %u: not journaled", t->key,
		       t->uid);
		return;
	}
	int sfd = open(state, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (sfd < 0 || fstat(sfd, &st) < 0 || st.st_uid != t->uid || (st.st_mode & 0022)) {
		logmsg(
		    "tree %s: state dir %s is missing, not owned by uid %u or writable by others",
		    t->key, state, t->uid);
		if (sfd >= 0)
			close(sfd);
		return;
	}
	int wfd = owned_dir(sfd, "watch", t->uid);
	close(sfd);
	if (wfd < 0) {
		logmsg("tree %s: cannot use %s/watch: %s", t->key, state, strerror(errno));
		return;
	}
	t->dirfd = owned_dir(wfd, t->key, t->uid);
	close(wfd);
	if (t->dirfd < 0)
		return;
	t->stagefd = owned_dir(t->dirfd, "stage", t->uid);
	t->logfd = openat(t->dirfd, "events.ndjson",
	                  O_CREAT | O_EXCL | O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->logfd < 0 || t->stagefd < 0 || fchown(t->logfd, t->uid, (gid_t)-1) < 0) {
		logmsg("tree %s: cannot create its event log: %s", t->key, strerror(errno));
		if (t->logfd >= 0)
			close(t->logfd);
		t->logfd = -1;
		return;
	}
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "start");
	jb_int(&j, "run", 0);
	jb_int(&j, "pid", t->root_pid);
	jb_int(&j, "helper_pid", getpid());
	jb_int(&j, "ts", now_ms());
	jb_cstr(&j, "mode", "watch");
	jb_cstr(&j, "tree", t->key);
	char p[64], cwd[4096];
	snprintf(p, sizeof p, "/proc/%d/cwd", t->root_pid);
	ssize_t n = readlink(p, cwd, sizeof cwd - 1);
	cwd[n > 0 ? n : 0] = 0;
	const char *root = cfg.roots[0];
	for (int i = 0; i < cfg.nroots; i++)
		if (cwd[0] && under(cwd, cfg.roots[i]))
			root = cfg.roots[i];
	jb_cstr(&j, "root",
	        root); /* the run's workspace (a daemon that recovers the log reads it here) */
	jb_obj_end(&j);
	runlog_line(t, &j);
	free(j.b);
}

void runlog_line(struct ww_tree *t, struct jbuf *j)
{
	if (t->logfd < 0 || j->oom)
		return;
	if (write(t->logfd, j->b, j->len) != (ssize_t)j->len)
		logmsg("tree %s: event log write failed: %s", t->key, strerror(errno));
	t->dirty = 1;
}

void runlog_fault(struct ww_tree *t, const char *what)
{
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "fault");
	jb_int(&j, "ts", now_ms());
	jb_cstr(&j, "what", what);
	jb_obj_end(&j);
	runlog_line(t, &j);
	free(j.b);
}

static int stage_file(struct ww_tree *t, long seq)
{
	char name[32];
	snprintf(name, sizeof name, "%ld", seq);
	int fd =
	    openat(t->stagefd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && fchown(fd, t->uid, (gid_t)-1) < 0) {
		close(fd);
		unlinkat(t->stagefd, name, 0);
		return -1;
	}
	return fd;
}

/* runlog_stage_copy - copies SIZE bytes of SRCFD (from offset 0) to stage/<SEQ>. 0 or -1 (errno).
 */
int runlog_stage_copy(struct ww_tree *t, long seq, int srcfd, long long size)
{
	if (t->stagefd < 0)
		return -1;
	int out = stage_file(t, seq);
	if (out < 0)
		return -1;
	loff_t off = 0;
	while (off < size) {
		ssize_t n = copy_file_range(srcfd, &off, out, 0, (size_t)(size - off), 0);
		if (n > 0)
			continue;
		if (n == 0)
			break;
		/* EXDEV / EINVAL on older kernels or odd filesystems: plain copy */
		char buf[65536];
		ssize_t r = pread(srcfd, buf, sizeof buf, off);
		if (r <= 0 || write(out, buf, (size_t)r) != r) {
			close(out);
			return -1;
		}
		off += r;
	}
	close(out);
	return 0;
}

/* runlog_stage_link - hardlinks SRC (a shadow file) as stage/<SEQ>, copying across filesystems. */
int runlog_stage_link(struct ww_tree *t, long seq, const char *src)
{
	if (t->stagefd < 0)
		return -1;
	char name[32];
	snprintf(name, sizeof name, "%ld", seq);
	if (linkat(AT_FDCWD, src, t->stagefd, name, 0) == 0)
		return 0;
	if (errno != EXDEV)
		return -1;
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0) {
		if (in >= 0)
			close(in);
		return -1;
	}
	int rc = runlog_stage_copy(t, seq, in, st.st_size);
	close(in);
	return rc;
}

void runlog_end(struct ww_tree *t)
{
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "end");
	jb_int(&j, "ts", now_ms());
	jb_int(&j, "status", t->exit_status);
	jb_int(&j, "signal", t->exit_signal);
	jb_int(&j, "events", t->events);
	jb_int(&j, "denied", t->denied);
	jb_int(&j, "preimages", t->preimages);
	jb_obj_end(&j);
	runlog_line(t, &j);
	free(j.b);
	logmsg("agent tree %s ended (%ld events, %ld pre-images)", t->key, t->events, t->preimages);
	struct jbuf m = {0};
	jb_obj_begin(&m);
	jb_cstr(&m, "t", "ended");
	jb_cstr(&m, "tree", t->key);
	jb_obj_end(&m);
	ipc_send_uid(t->uid, &m);
	free(m.b);
	if (t->frozen)
		gate_decide(t, t->hold_id, 1);
	if (t->logfd >= 0)
		close(t->logfd);
	if (t->stagefd >= 0)
		close(t->stagefd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->logfd = t->stagefd = t->dirfd = -1;
	free(t->created);
	free(t->written);
	t->created = t->written = 0;
	t->ncreated = t->nwritten = t->capcreated = t->capwritten = 0;
	t->used = 0;
}
