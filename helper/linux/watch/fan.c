/*
 * fanotify, two groups on a filesystem mark of each watched root's filesystem (PLATFORM.md: root
 * only):
 *
 * - permission group (FAN_CLASS_CONTENT, FAN_OPEN_PERM): an open by an agent-tree process of an
 * existing regular file beneath a watched root, with write or truncate intent, is held until its
 * content is copied to the run's stage dir (copy-before-write: at the permission event O_TRUNC has
 * not happened yet), then allowed; opens for write beneath the state dirs and deny prefixes are
 * refused. Every other open is answered at once. Write intent is read from /proc/TID/syscall (the
 * thread is blocked in its open call).
 * - name group (FAN_REPORT_DFID_NAME | FAN_REPORT_TID): create, delete, rename and attribute
 * changes, for every process (they keep the shadow current) and journaled for agent-tree processes.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/types.h>

#include "watch.h"
#include "ww.h"

int fan_perm_fd = -1, fan_name_fd = -1;
static int mount_fd[WW_MAX_ROOTS];
static fsid_t root_fsid[WW_MAX_ROOTS];
static pid_t self;
long perm_events, perm_agent, name_events;
static int perm_armed;
static long long perm_armed_ms; /* when the permission marks were last added */

void canary_seen(uid_t uid, pid_t pid);

static int in_roots(const char *p)
{
	for (int i = 0; i < cfg.nroots; i++)
		if (under(p, cfg.roots[i]))
			return 1;
	return 0;
}

/*
 * write_intent - the open flags of the open call thread TID is blocked in (from /proc/TID/syscall;
 * for openat2 the flags are read from its struct open_how). Sets *SYS to the syscall name. Returns
 * 1 for write or truncate intent, 0 for read-only, and 1 when the call is not an open we know
 * (io_uring, ...).
 */
static int write_intent(pid_t tid, const char **sys)
{
	char p[64], b[512];
	snprintf(p, sizeof p, "/proc/%d/syscall", tid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	*sys = "open";
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 1;
	b[n] = 0;
	long nr;
	unsigned long a[6] = {0};
	if (sscanf(b, "%ld %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2], &a[3]) < 4)
		return 1;
	unsigned long long flags;
	switch (nr) {
	case SYS_open:
		*sys = "open";
		flags = a[1];
		break;
	case SYS_openat:
		*sys = "openat";
		flags = a[2];
		break;
	case SYS_creat:
		*sys = "creat";
		return 1;
	case SYS_openat2: {
		*sys = "openat2";
		struct open_how how;
		struct iovec l = {&how, sizeof how}, r = {(void *)a[2], sizeof how};
		if (process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof how)
			return 1;
		flags = how.flags;
		break;
	}
	case SYS_execve:
	case SYS_execveat:
		*sys = "execve";
		return 0;
	default:
		*sys = "other";
		return 1;
	}
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static void respond(int fd, unsigned r)
{
	struct fanotify_response res = {.fd = fd, .response = r};
	if (write(fan_perm_fd, &res, sizeof res) < 0)
		logmsg("fanotify response failed: %s", strerror(errno));
}

/* ev_begin - the common fields of an `ev` line (WIRE.md §2) for TID of tree T. */
static void ev_begin(struct jbuf *j, struct ww_tree *t, long seq, pid_t tid, const char *op,
                     const char *sys, const char *path)
{
	struct ww_proc *pr = proc_find(tid);
	pid_t pid = pr ? pr->tgid : tid;
	jb_obj_begin(j);
	jb_cstr(j, "t", "ev");
	jb_int(j, "seq", seq);
	jb_int(j, "ts", now_ms());
	jb_int(j, "pid", pid);
	jb_int(j, "tid", tid);
	jb_cstr(j, "op", op);
	jb_cstr(j, "sys", sys);
	jb_cstr(j, "path", path);
	(void)t;
}

static void ev_end(struct jbuf *j, struct ww_tree *t, const char *decision, const char *rule,
                   int err)
{
	jb_cstr(j, "decision", decision);
	jb_cstr(j, "rule", rule);
	jb_cstr(j, "band", "watch");
	jb_int(j, "err", err);
	jb_obj_end(j);
	runlog_line(t, j);
	t->events++;
	free(j->b);
	memset(j, 0, sizeof *j);
}

/* One held open, handed from the permission thread to the main loop. */
struct fwd {
	int fd;
	pid_t tid;
};
static int qp[2] = {-1, -1};
static pid_t tid_main, tid_perm;

/* in_deny_prefix - 1 if P is beneath a deny prefix: opens for write there are refused. */
static int in_deny_prefix(const char *p)
{
	for (int i = 0; i < cfg.ndeny; i++)
		if (under(p, cfg.deny[i]))
			return 1;
	return 0;
}

/* refuse - FAN_DENY for an open by TID of tree T, journaled as a deny of OP under RULE. */
static void refuse(int fd, struct ww_tree *t, pid_t tid, const char *op, const char *sys,
                   const char *path, const char *rule)
{
	struct jbuf j = {0};
	respond(fd, FAN_DENY);
	ev_begin(&j, t, ++t->seq, tid, op, sys, path);
	jb_raw(&j, "pre", "null");
	t->denied++;
	ev_end(&j, t, "deny", rule, EPERM);
}

/*
 * perm_one - an open by an agent-tree thread (main loop): refused beneath the state dirs and the
 * shadow (any open, any file type), refused for write beneath the deny prefixes, otherwise
 * copy-before-write of an existing regular file, then allowed.
 */
static void perm_one(int fd, pid_t tid)
{
	struct stat st;
	struct ww_tree *t = tree_of_tid(tid);
	if (!t) {
		respond(fd, FAN_ALLOW);
		return;
	}
	__atomic_fetch_add(&perm_agent, 1, __ATOMIC_RELAXED);
	char lp[64], path[PATH_MAX];
	snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
	/* a longer path is cut, its beginning (all the prefix checks look at) stays */
	ssize_t n = readlink(lp, path, sizeof path - 1);
	if (n <= 0) {
		respond(fd, FAN_ALLOW);
		return;
	}
	path[n] = 0;
	const char *sys;
	if (ww_private(path)) {
		int w = write_intent(tid, &sys);
		const char *op = !strcmp(sys, "execve") ? "exec" : w ? "write" : "read";
		refuse(fd, t, tid, op, sys, path, "watch-state-dir");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		respond(fd, FAN_ALLOW);
		return;
	}
	int denied = in_deny_prefix(path);
	if (!denied && !in_roots(path)) {
		respond(fd, FAN_ALLOW);
		return;
	}
	if (!write_intent(tid, &sys)) {
		respond(fd, FAN_ALLOW);
		return;
	}
	if (denied) {
		refuse(fd, t, tid, "write", sys, path, "watch-deny");
		return;
	}
	struct jbuf j = {0};
	if (t->logfd < 0 || ino_has(t->created, t->ncreated, st.st_dev, st.st_ino) ||
	    ino_has(t->written, t->nwritten, st.st_dev, st.st_ino)) {
		respond(fd, FAN_ALLOW);
		return;
	}
	long seq = ++t->seq;
	const char *kind = "copy";
	if (st.st_size > cfg.preimage_max)
		kind = "toolarge";
	else if (runlog_stage_copy(t, seq, fd, st.st_size) < 0)
		kind = "fail";
	respond(fd, FAN_ALLOW);
	ino_add(&t->written, &t->nwritten, &t->capwritten, st.st_dev, st.st_ino);
	if (!strcmp(kind, "fail")) {
		char w[PATH_MAX + 64];
		snprintf(w, sizeof w, "pre-image copy of %s failed: %s", path, strerror(errno));
		runlog_fault(t, w);
		kind = "toolarge";
	} else if (!strcmp(kind, "copy")) {
		t->preimages++;
	}
	ev_begin(&j, t, seq, tid, "write", sys, path);
	jb_pre_stat(&j, "pre", kind, &st);
	ev_end(&j, t, "allow", "watch-preimage", 0);
}

/* fan_perm_poll - the main loop's share: held opens of (possible) agent-tree threads. */
void fan_perm_poll(void)
{
	fan_name_poll(); /* creates are queued before the open's permission event: see them first */
	struct fwd f[256];
	for (;;) {
		ssize_t n = read(qp[0], f, sizeof f);
		if (n <= 0)
			return;
		for (size_t i = 0; i < (size_t)n / sizeof *f; i++) {
			/* the create of this very open may have been queued after the last look */
			fan_name_poll();
			perm_one(f[i].fd, f[i].tid);
			close(f[i].fd);
		}
	}
}

/* tid_flags - the tid_bytes byte of TID (watch.h: WW_TID_AGENT, WW_TID_PERM), -1 when the map
 * has none (no eBPF, or TID beyond the pid_max it was sized for). A memory read, no syscall. */
static inline int tid_flags(pid_t tid)
{
	unsigned n = __atomic_load_n(&tid_bytes_n, __ATOMIC_ACQUIRE);
	if ((unsigned)tid >= n)
		return -1;
	return __atomic_load_n(&tid_bytes[tid], __ATOMIC_ACQUIRE);
}

/*
 * may_be_agent - 0 when TID is surely not an agent-tree thread. The BPF fork/exec programs mark a
 * thread before it runs (watch.h), so a thread blocked in an open is already marked; the agent_tids
 * lookup (a syscall) is the fallback for ids the byte map does not cover.
 */
static int may_be_agent(pid_t tid)
{
	int f = tid_flags(tid);
	if (f >= 0)
		return f & WW_TID_AGENT;
	if (agent_tids_fd < 0)
		return 1;
	__u32 k = (__u32)tid, v;
	return bpf_map_lookup_elem(agent_tids_fd, &k, &v) == 0;
}

/* perm_seen - marks that the permission thread answered an open of TID (read by canary_via_perm).
 * The fork program clears the mark for a new thread with the id. */
static inline void perm_seen(pid_t tid, int flags)
{
	if (flags >= 0 && !(flags & WW_TID_PERM))
		__atomic_fetch_or(&tid_bytes[tid], WW_TID_PERM, __ATOMIC_SEQ_CST);
}

/*
 * canary_via_perm - whether a canary write by TID may be reported: its open must have been
 * answered by the permission thread while the permission marks are armed (so the canary proves
 * the permission path, not only the name events); without the byte map, or while the marks were
 * armed or disarmed a moment ago (lazy), the name event alone counts.
 */
static int canary_via_perm(pid_t tid)
{
	int f = tid_flags(tid);
	if (f < 0 || !perm_armed || now_ms() - perm_armed_ms < 1000)
		return 1;
	return !!(f & WW_TID_PERM);
}

/* close_fds - closes the N fds in FD (reordered), a run of consecutive numbers with one
 * close_range. */
static void close_fds(int *fd, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fd[j - 1] > fd[j]; j--) {
			int x = fd[j];
			fd[j] = fd[j - 1];
			fd[j - 1] = x;
		}
	for (int i = 0; i < n;) {
		int j = i;
		while (j + 1 < n && fd[j + 1] == fd[j] + 1)
			j++;
		if (j == i || syscall(SYS_close_range, fd[i], fd[j], 0) < 0)
			for (int k = i; k <= j; k++)
				close(fd[k]);
		i = j + 1;
	}
}

/*
 * The permission thread. It never opens a file on a watched filesystem, so it can always answer —
 * also the opens the main loop itself makes there (stage files, the shadow, the spool dir), which
 * would otherwise wait for their own answer. Opens by threads outside agent trees are answered here
 * at once: per open one blocking read (a batch when several wait), a memory read of the tid byte
 * map, the answer, and the close (one close_range per run of consecutive fds). The rest go to the
 * main loop through a pipe (kept in a backlog while the pipe is full).
 */
static void *perm_thread(void *arg)
{
	(void)arg;
	tid_perm = gettid();
	struct fwd *backlog = 0;
	size_t nb = 0, cap = 0;
	char buf[8192] __attribute__((aligned(8)));
	int done[sizeof buf / FAN_EVENT_METADATA_LEN];
	for (;;) {
		if (nb) {
			/* the backlog waits for room in the pipe: no blocking read now */
			struct pollfd p[2] = {{.fd = fan_perm_fd, .events = POLLIN},
			                      {.fd = qp[1], .events = POLLOUT}};
			if (poll(p, 2, -1) < 0 || !(p[0].revents & POLLIN))
				goto flush;
		}
		ssize_t n = read(fan_perm_fd, buf, sizeof buf);
		if (n <= 0)
			goto flush;
		int nd = 0;
		struct fanotify_event_metadata *m = (void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->fd < 0)
				continue;
			__atomic_fetch_add(&perm_events, 1, __ATOMIC_RELAXED);
			pid_t tid = m->pid;
			int fd = m->fd;
			if (tid == tid_main || tid == tid_perm || tid == self) {
				respond(fd, FAN_ALLOW);
				done[nd++] = fd;
				continue;
			}
			perm_seen(tid, tid_flags(tid));
			if (!(m->mask & FAN_OPEN_PERM) || !may_be_agent(tid)) {
				respond(fd, FAN_ALLOW);
				done[nd++] = fd;
				continue;
			}
			if (nb == cap) {
				size_t c = cap ? cap * 2 : 256;
				struct fwd *b = realloc(backlog, c * sizeof *b);
				if (!b) {
					respond(fd, FAN_ALLOW);
					done[nd++] = fd;
					continue;
				}
				backlog = b;
				cap = c;
			}
			backlog[nb++] = (struct fwd){fd, tid};
		}
		close_fds(done, nd);
	flush:;
		/* whole records, at most PIPE_BUF bytes per write: all or nothing */
		size_t sent = 0;
		while (sent < nb) {
			size_t k = nb - sent;
			if (k > PIPE_BUF / sizeof *backlog)
				k = PIPE_BUF / sizeof *backlog;
			ssize_t w = write(qp[1], &backlog[sent], k * sizeof *backlog);
			if (w != (ssize_t)(k * sizeof *backlog))
				break;
			sent += k;
		}
		memmove(backlog, backlog + sent, (nb - sent) * sizeof *backlog);
		nb -= sent;
	}
	return 0;
}

int fan_start_thread(void)
{
	tid_main = gettid();
	if (pipe2(qp, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	pthread_t th;
	if (pthread_create(&th, 0, perm_thread, 0) != 0)
		return -1;
	return qp[0];
}

/* ---- name events ---- */

/* dir_path - the path of the directory in a DFID info record (cache first, then open_by_handle_at).
 */
static int dir_path(struct fanotify_event_info_fid *fid, char *out, size_t len, const char **name)
{
	struct file_handle *fh = (struct file_handle *)fid->handle;
	*name = (const char *)fh->f_handle + fh->handle_bytes;
	unsigned char key[4 + 128];
	if (fh->handle_bytes > 128)
		return -1;
	memcpy(key, &fh->handle_type, 4);
	memcpy(key + 4, fh->f_handle, fh->handle_bytes);
	const char *c = dircache_get(key, 4 + fh->handle_bytes);
	if (c) {
		snprintf(out, len, "%s", c);
		return 0;
	}
	for (int i = 0; i < cfg.nroots; i++) {
		if (memcmp(&root_fsid[i], &fid->fsid, sizeof(fsid_t)))
			continue;
		int fd = open_by_handle_at(mount_fd[i], fh, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue;
		char lp[64];
		snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(lp, out, len - 1);
		close(fd);
		if (n <= 0)
			return -1;
		out[n] = 0;
		dircache_put(key, 4 + fh->handle_bytes, out);
		return 0;
	}
	return -1;
}

static int join_path(char *out, size_t len, const char *dir, const char *name)
{
	if (!strcmp(name, "."))
		return snprintf(out, len, "%s", dir) < (int)len ? 0 : -1;
	return snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", name) < (int)len ? 0 : -1;
}

static void ev_create(struct ww_tree *t, pid_t tid, const char *path, int isdir)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		ino_add(&t->created, &t->ncreated, &t->capcreated, st.st_dev, st.st_ino);
	struct jbuf j = {0};
	ev_begin(&j, t, ++t->seq, tid, isdir ? "mkdir" : "create", isdir ? "mkdir" : "create",
	         path);
	jb_raw(&j, "path2", "null");
	jb_pre_stat(&j, "pre", "none", 0);
	ev_end(&j, t, "allow", "watch", 0);
}

/* pre_from_shadow - stages the shadow link of PATH as the pre-image of event SEQ and writes "pre".
 */
static int pre_from_shadow(struct jbuf *j, struct ww_tree *t, long seq, const char *key,
                           const char *path, struct stat *out)
{
	char sp[PATH_MAX + 64];
	struct stat st;
	if (shadow_path(path, sp, sizeof sp) < 0 || lstat(sp, &st) < 0)
		return -1;
	if (out)
		*out = st;
	if (S_ISDIR(st.st_mode)) {
		jb_pre_stat(j, key, "meta", &st);
		return 0;
	}
	if (st.st_size > cfg.preimage_max) {
		jb_pre_stat(j, key, "toolarge", &st);
		return 0;
	}
	if (runlog_stage_link(t, seq, sp) < 0)
		return -1;
	t->preimages++;
	st.st_nlink =
	    st.st_nlink > 1 ? st.st_nlink - 1 : st.st_nlink; /* without the shadow's own link */
	jb_pre_stat(j, key, "link", &st);
	return 0;
}

static void ev_delete(struct ww_tree *t, pid_t tid, const char *path, int isdir)
{
	struct jbuf j = {0};
	long seq = ++t->seq;
	ev_begin(&j, t, seq, tid, "delete", isdir ? "rmdir" : "unlink", path);
	jb_raw(&j, "path2", "null");
	struct stat st;
	int pre = pre_from_shadow(&j, t, seq, "pre", path, &st);
	if (pre < 0) {
		jb_raw(&j, "pre", "null");
		char w[PATH_MAX + 64];
		snprintf(w, sizeof w, "no shadow link for deleted %s: not restorable", path);
		runlog_fault(t, w);
	}
	ev_end(&j, t, "allow", "watch", 0);
	if (pre < 0 || !ino_has(t->created, t->ncreated, st.st_dev, st.st_ino))
		gate_delete(t, tid, path);
}

static void ev_rename(struct ww_tree *t, pid_t tid, const char *from, const char *to)
{
	struct jbuf j = {0};
	long seq = ++t->seq;
	ev_begin(&j, t, seq, tid, "rename", "rename", from);
	jb_cstr(&j, "path2", to);
	if (pre_from_shadow(&j, t, seq, "pre", to, 0) < 0)
		jb_pre_stat(&j, "pre", "none", 0);
	struct stat st;
	if (lstat(to, &st) == 0)
		jb_pre_stat(&j, "pre2", "meta", &st);
	ev_end(&j, t, "allow", "watch", 0);
}

static void name_one(const struct fanotify_event_metadata *m)
{
	name_events++;
	pid_t tid = m->pid;
	if (tid == self)
		return;
	char p1[PATH_MAX], p2[PATH_MAX], d[PATH_MAX];
	int have1 = 0, have2 = 0;
	const char *name;
	for (const char *q = (const char *)(m + 1); q < (const char *)m + m->event_len;) {
		struct fanotify_event_info_header *h = (void *)q;
		if (h->len == 0)
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
		    h->info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME) {
			if (dir_path((void *)h, d, sizeof d, &name) == 0 &&
			    join_path(p1, sizeof p1, d, name) == 0)
				have1 = 1;
		} else if (h->info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME) {
			if (dir_path((void *)h, d, sizeof d, &name) == 0 &&
			    join_path(p2, sizeof p2, d, name) == 0)
				have2 = 1;
		}
		q += h->len;
	}
	int isdir = !!(m->mask & FAN_ONDIR);
	if (have1 && (m->mask & (FAN_ATTRIB | FAN_CREATE))) {
		long cu = ipc_canary_uid(p1);
		if (cu >= 0) {
			if (canary_via_perm(tid))
				canary_seen((uid_t)cu, tid);
			else
				logmsg("canary write by %d was not seen by the permission thread",
				       tid);
			return;
		}
	}
	int r1 = have1 && in_roots(p1) && !ww_private(p1);
	int r2 = have2 && in_roots(p2) && !ww_private(p2);
	if (!r1 && !r2)
		return;
	struct ww_tree *t = tree_of_tid(tid);
	if (t && t->logfd < 0)
		t = 0;
	if (m->mask & FAN_CREATE && r1) {
		shadow_created(p1, isdir);
		if (t)
			ev_create(t, tid, p1, isdir);
	}
	if (m->mask & FAN_RENAME) {
		if (t && r1 && r2)
			ev_rename(t, tid, p1, p2);
		else if (t && r1)
			ev_delete(t, tid, p1, isdir);
		if (have1 && have2)
			shadow_renamed(p1, p2);
		if (t && r2 && !r1)
			ev_create(t, tid, p2, isdir);
	}
	if (m->mask & FAN_ATTRIB && r1 && t) {
		struct jbuf j = {0};
		ev_begin(&j, t, ++t->seq, tid, "chmod", "setattr", p1);
		jb_raw(&j, "path2", "null");
		jb_raw(&j, "pre", "null");
		ev_end(&j, t, "allow", "watch", 0);
	}
	if (m->mask & FAN_DELETE && r1) {
		if (t)
			ev_delete(t, tid, p1, isdir);
		shadow_deleted(p1);
	}
}

void fan_name_poll(void)
{
	char buf[65536] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = read(fan_name_fd, buf, sizeof buf);
		if (n <= 0)
			return;
		struct fanotify_event_metadata *m = (void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->mask & FAN_Q_OVERFLOW) {
				logmsg("fanotify name queue overflowed: events were lost");
				continue;
			}
			name_one(m);
		}
	}
}

/* fan_perm_arm - adds (ON) or removes the FAN_OPEN_PERM marks. Events already queued are still
 * answered by the permission thread. */
void fan_perm_arm(int on)
{
	if (on == perm_armed)
		return;
	for (int i = 0; i < cfg.nroots; i++)
		if (fanotify_mark(fan_perm_fd,
		                  (on ? FAN_MARK_ADD : FAN_MARK_REMOVE) | FAN_MARK_FILESYSTEM,
		                  FAN_OPEN_PERM, AT_FDCWD, cfg.roots[i]) < 0 &&
		    on)
			logmsg("fanotify permission mark on %s: %s", cfg.roots[i], strerror(errno));
	perm_armed = on;
	perm_armed_ms = now_ms();
	logmsg("permission events %s",
	       on ? "armed (an agent tree is running)" : "disarmed (no agent tree)");
}

/* fan_init - both groups and their marks. Writes what is active into MECH. 0 or -1. */
int fan_init(char *mech, size_t len)
{
	self = getpid();
	unsigned base = FAN_CLOEXEC | FAN_NONBLOCK;
	/* blocking: the permission thread sleeps in read(2), no poll(2) per event */
	fan_perm_fd = fanotify_init(FAN_CLOEXEC | FAN_CLASS_CONTENT | FAN_REPORT_TID,
	                            O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan_perm_fd < 0) {
		snprintf(mech, len, "fanotify permission events refused: %s", strerror(errno));
		return -1;
	}
	fan_name_fd = fanotify_init(base | FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_REPORT_TID |
	                                FAN_UNLIMITED_QUEUE,
	                            O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan_name_fd < 0) {
		snprintf(mech, len, "fanotify name events refused: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < cfg.nroots; i++) {
		unsigned fl = FAN_MARK_ADD | FAN_MARK_FILESYSTEM;
		if (fanotify_mark(fan_perm_fd, fl, FAN_OPEN_PERM, AT_FDCWD, cfg.roots[i]) < 0 ||
		    fanotify_mark(fan_name_fd, fl,
		                  FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_ATTRIB | FAN_ONDIR,
		                  AT_FDCWD, cfg.roots[i]) < 0) {
			snprintf(mech, len, "fanotify mark on %s refused: %s", cfg.roots[i],
			         strerror(errno));
			return -1;
		}
		/* `lazy_perm`: armed only while an agent tree lives (fan_perm_arm), so nobody pays
		 * for permission events while no agent runs, at the price of an agent's first
		 * milliseconds */
		if (cfg.lazy_perm)
			fanotify_mark(fan_perm_fd, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM,
			              FAN_OPEN_PERM, AT_FDCWD, cfg.roots[i]);
		mount_fd[i] = open(cfg.roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct statfs sf;
		if (mount_fd[i] < 0 || fstatfs(mount_fd[i], &sf) < 0) {
			snprintf(mech, len, "cannot open root %s: %s", cfg.roots[i],
			         strerror(errno));
			return -1;
		}
		root_fsid[i] = sf.f_fsid;
	}
	perm_armed = !cfg.lazy_perm;
	perm_armed_ms = now_ms();
	snprintf(mech, len, "ok");
	return 0;
}
