/*
 * Event log writer (WIRE.md §2). Lines are built in S.out and written with
 * one write() per batch (when the notify loop would block, or past 64 KiB),
 * then one "\n" goes to the daemon socket as a wake-up.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CACHE 4096 /* open-addressed tid/pid caches; collisions just evict */

static struct {
	pid_t pid, ppid;
} proc_seen[CACHE];

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read /proc/TID/status into BUF; returns bytes or -1. */
/*
 * Open /proc/TID/status fds are kept in a small cache and re-read with
 * pread (one syscall instead of three). Such an fd pins the task's struct
 * pid, not its number: once that task is gone it reads ESRCH, also when the
 * number is reused, so a stale entry is detected and reopened.
 */
#define STATUS_FDS 64
static struct {
	pid_t tid;
	int fd; /* 0 = empty (fd 0 is stdin, never ours) */
} status_fd[STATUS_FDS];

static ssize_t read_status(pid_t tid, char *buf, size_t cap)
{
	unsigned h = (unsigned)tid % STATUS_FDS;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (status_fd[h].fd <= 0 || status_fd[h].tid != tid) {
			if (status_fd[h].fd > 0)
				close(status_fd[h].fd);
			char p[64];
			snprintf(p, sizeof p, "/proc/%d/status", tid);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			status_fd[h].fd = fd > 0 ? fd : 0;
			status_fd[h].tid = tid;
			if (fd < 0)
				return -1;
		}
		ssize_t n = pread(status_fd[h].fd, buf, cap - 1, 0);
		if (n > 0) {
			buf[n] = 0;
			return n;
		}
		close(status_fd[h].fd); /* the task behind this fd is gone: reopen by number */
		status_fd[h].fd = 0;
	}
	return -1;
}

static long status_field(const char *buf, const char *key, int base)
{
	const char *p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, base) : -1;
}

int task_status(pid_t tid, struct tstatus *ts)
{
	char buf[4096];
	memset(ts, 0, sizeof *ts);
	ts->tgid = tid;
	ts->ppid = -1;
	ts->umask = 022;
	if (read_status(tid, buf, sizeof buf) < 0)
		return -ESRCH;
	long tg = status_field(buf, "\nTgid:", 10), pp = status_field(buf, "\nPPid:", 10);
	long um = status_field(buf, "\nUmask:", 8);
	if (tg > 0)
		ts->tgid = (pid_t)tg;
	if (pp >= 0)
		ts->ppid = (pid_t)pp;
	if (um >= 0)
		ts->umask = (mode_t)um;
	for (int k = 0; k < 2; k++) {
		const char *q = strstr(buf, k ? "\nGid:" : "\nUid:");
		long v = -1;
		if (q) {
			q += 5;
			for (int f = 0; f < 4; f++)
				v = strtol(q, (char **)&q, 10);
		}
		*(k ? &ts->fsgid : &ts->fsuid) = v;
	}
	const char *g = strstr(buf, "\nGroups:");
	if (g) {
		g += 8;
		char *end;
		while (ts->ngroups < TS_MAXGROUPS) {
			long v = strtol(g, &end, 10);
			if (end == g)
				break;
			ts->groups[ts->ngroups++] = (gid_t)v;
			g = end;
		}
	}
	ts->ok = ts->fsuid >= 0 && ts->fsgid >= 0;
	return ts->ok ? 0 : -ESRCH;
}

void ev_proc_forget(pid_t tgid)
{
	unsigned h = (unsigned)tgid % CACHE;
	if (proc_seen[h].pid == tgid)
		proc_seen[h].pid = 0;
}

/* Read /proc/PID/cmdline into a NULL-terminated vector in BUF. */
char **read_cmdline(pid_t pid, char *buf, size_t cap, char **v, int maxv)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/cmdline", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);
	if (fd >= 0)
		close(fd);
	int k = 0;
	if (n > 0) {
		buf[n] = 0;
		for (char *s = buf; s < buf + n && k < maxv - 1; s += strlen(s) + 1)
			v[k++] = s;
	}
	v[k] = NULL;
	return v;
}

void ev_proc(pid_t tgid, pid_t ppid_hint, int force, char *const *argv, const char *exe)
{
	unsigned h = (unsigned)tgid % CACHE;
	if (!force && proc_seen[h].pid == tgid && (ppid_hint < 0 || proc_seen[h].ppid == ppid_hint))
		return;
	proc_seen[h].pid = tgid;
	proc_seen[h].ppid = ppid_hint;
	char p[64], buf[2048], exebuf[PATH_MAX], cwd[PATH_MAX];
	long ppid = -1;
	snprintf(p, sizeof p, "/proc/%d/stat", tgid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			char *rp = strrchr(buf, ')'); /* comm may contain anything */
			if (rp)
				sscanf(rp + 1, " %*c %ld", &ppid);
		}
	}
	static char cmd[65536];
	char *v[1024];
	if (!argv)
		argv = read_cmdline(tgid, cmd, sizeof cmd, v, 1024);
	if (!exe) {
		snprintf(p, sizeof p, "/proc/%d/exe", tgid);
		ssize_t n = readlink(p, exebuf, sizeof exebuf - 1);
		exebuf[n > 0 ? n : 0] = 0;
		exe = exebuf;
	}
	if (proc_cwd(tgid, cwd))
		cwd[0] = 0;
	struct jbuf *j = &S.out;
	jb_obj_begin(j);
	jb_cstr(j, "t", "proc");
	jb_int(j, "pid", tgid);
	jb_int(j, "ppid", ppid);
	jb_argv(j, "argv", argv);
	jb_cstr(j, "exe", exe);
	jb_cstr(j, "cwd", cwd);
	jb_int(j, "ts", now_ms());
	jb_obj_end(j);
}

long long ev_next_seq(void)
{
	if (S.redo_seq) {
		/* a held call performed now journals under the seq its hold line named */
		long long s = S.redo_seq;
		S.redo_seq = 0;
		return s;
	}
	return ++S.seq;
}

static char trash_name[32]; /* seq of the ev being written, for pre.trash */

static void pre_json(struct jbuf *j, const char *key, const struct pre *p)
{
	static const char *const kinds[] = {"none", "link", "copy", "meta", "toolarge", "none"};
	if (p->kind == PRE_NONE_ABSENT) {
		jb_raw(j, key, "null");
		return;
	}
	jb_key(j, key);
	jb_obj_begin(j);
	jb_cstr(j, "kind", kinds[p->kind]);
	if (p->have_st) {
		const struct stat *st = &p->st;
		jb_stat(j, st);
		if (S_ISLNK(st->st_mode))
			jb_cstr(j, "target", p->target);
	}
	if (p->trash && S.t.trash) {
		char tp[PATH_MAX + 32];
		snprintf(tp, sizeof tp, "%s/%s", S.t.trash, trash_name);
		jb_cstr(j, "trash", tp);
	}
	jb_append(j, "}", 1);
}

void ev_emit(struct call *c, int err)
{
	struct jbuf *j = &S.out;
	if (!c->seq)
		c->seq = ev_next_seq();
	S.n_events++;
	if (c->v.decision != DEC_ALLOW && !c->steer_trash)
		S.n_denied++;
	if (c->pre.kind == PRE_LINK || c->pre.kind == PRE_COPY)
		S.n_pre++;
	snprintf(trash_name, sizeof trash_name, "%lld", c->seq);
	jb_obj_begin(j);
	jb_cstr(j, "t", "ev");
	jb_int(j, "seq", c->seq);
	jb_int(j, "ts", now_ms());
	jb_int(j, "pid", c->tgid);
	jb_int(j, "tid", c->tid);
	jb_cstr(j, "op", op_name(c->op));
	jb_cstr(j, "sys", c->sys);
	jb_cstr(j, "path", c->path);
	jb_cstr(j, "path2", c->has_path2 ? c->path2 : NULL);
	jb_int(j, "flags", c->flags);
	jb_cstr(j, "decision", decision_name(c->v.decision));
	jb_cstr(j, "rule", c->v.rule);
	jb_cstr(j, "band", c->v.band);
	if (c->v.decision == DEC_ASK || c->v.decision == DEC_DELAY ||
	    (c->v.decision == DEC_STEER && !c->steer_trash && c->op != OP_DELETE))
		jb_cstr(j, "hold", "unsupported");
	if (c->hold_id) {
		jb_int(j, "hold", c->hold_id);
		jb_cstr(j, "by", c->by);
		jb_int(j, "held_ms", c->held_ms);
	}
	if (c->held == DEC_ASK + 1 || c->held == DEC_DELAY + 1)
		jb_cstr(j, "held", decision_name((enum decision)(c->held - 1)));
	if (c->steer_trash)
		jb_cstr(j, "steer", c->steer_trash == 1 ? "trash" : "delete");
	jb_int(j, "err", err);
	pre_json(j, "pre", &c->pre);
	if (c->op == OP_RENAME)
		pre_json(j, "pre2", &c->pre2);
	if (c->argv)
		jb_argv(j, "argv", c->argv);
	jb_obj_end(j);
	if (S.out.len > 64 * 1024)
		ev_flush();
}

void ev_fault(const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	struct jbuf *j = &S.out;
	jb_obj_begin(j);
	jb_cstr(j, "t", "fault");
	jb_int(j, "ts", now_ms());
	jb_cstr(j, "what", what);
	jb_obj_end(j);
}

void ev_start(int landlock_abi)
{
	struct jbuf *j = &S.out;
	jb_obj_begin(j);
	jb_cstr(j, "t", "start");
	jb_int(j, "run", S.t.run);
	jb_int(j, "pid", S.child);
	jb_int(j, "helper_pid", getpid());
	jb_int(j, "ts", now_ms());
	jb_int(j, "landlock", landlock_abi);
	jb_raw(j, "seccomp", "true");
	jb_obj_end(j);
}

void ev_end(int status, int sig)
{
	struct jbuf *j = &S.out;
	jb_obj_begin(j);
	jb_cstr(j, "t", "end");
	jb_int(j, "ts", now_ms());
	jb_int(j, "status", status);
	jb_int(j, "signal", sig);
	jb_int(j, "events", S.n_events);
	jb_int(j, "denied", S.n_denied);
	jb_int(j, "preimages", S.n_pre);
	jb_obj_end(j);
}

void ev_flush(void)
{
	if (S.out.oom) {
		/* keep whole lines only: cut back to the last complete one */
		while (S.out.len && S.out.b[S.out.len - 1] != '\n')
			S.out.len--;
		S.out.oom = 0;
	}
	if (!S.out.len)
		return;
	size_t off = 0;
	while (off < S.out.len) {
		ssize_t n = write(S.events_fd, S.out.b + off, S.out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "warden: writing the event log failed: %s\n",
			        strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	S.out.len = 0;
	sock_queue("\n", 1);
}
