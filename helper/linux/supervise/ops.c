/*
 * Dispatch of trapped syscalls and the decision step shared by all path ops.
 * Order for every path op: read arguments, check the notification is still
 * valid, resolve, decide, store the pre-image, perform, answer the kernel,
 * then journal (the kernel is answered before the journal is written).
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

int deny_errno(struct call *c)
{
	if (c->op == OP_EXEC || c->v.decision != DEC_DENY || c->hold_id)
		return EPERM;
	return EACCES;
}

void decide(struct call *c, const char *cwd)
{
	struct policy_input in = {
	    .op = c->op,
	    .path = c->path,
	    .path2 = c->has_path2 ? c->path2 : NULL,
	    .cwd = cwd,
	    .argv = c->argv,
	    .link = !strcmp(c->sys, "link") || !strcmp(c->sys, "linkat"),
	};
	/* The table is the authority for every op the supervisor sees (it ends
	 * in a deny-everything rule). Landlock's wall is for what it does not
	 * see, and cannot express allow rules such as `~/.claude.json.*`, so it
	 * is not re-applied here. */
	c->v = policy_eval(&S.t, &in);
	hold_judge(c);
}

int read_path(struct call *c, uint64_t addr, char *buf)
{
	long r = mem_read_str(c->tid, addr, buf, PATH_MAX);
	if (r < 0) {
		respond(c, 0, r == -ESRCH ? ESRCH : (int)-r);
		return -1;
	}
	return 0;
}

void fail_resolve(struct call *c, int r)
{
	respond(c, 0, r == -ESRCH ? ESRCH : -r);
}

/* The supervisor's umask, tracked so that unchanged values cost no syscall. */
static mode_t cur_umask = (mode_t)-1;

mode_t set_umask(mode_t m)
{
	if (cur_umask == (mode_t)-1)
		cur_umask = umask(022) & 0777, umask(cur_umask);
	mode_t old = cur_umask;
	if (m != cur_umask) {
		umask(m);
		cur_umask = m;
	}
	return old;
}

mode_t with_umask(const struct call *c)
{
	return set_umask(c->ts.umask);
}

void finish(struct call *c, long long r)
{
	if (r < 0)
		respond(c, 0, (int)-r);
	else
		respond(c, r, 0);
	ev_emit(c, r < 0 ? (int)-r : 0);
}

void deny(struct call *c)
{
	int e = deny_errno(c);
	respond(c, 0, e);
	ev_emit(c, e);
}

/* Fill a meta request from the chmod/chown/utime family arguments. */
static int times_arg(struct call *c, uint64_t addr, int kind, struct meta_req *m)
{
	m->kind = META_TIMES;
	if (!addr) {
		m->ts_null = 1;
		return 0;
	}
	long long v[4];
	int r = mem_read(c->tid, addr, v, kind == 0 ? 2 * sizeof(long long) : sizeof v);
	if (r) {
		respond(c, 0, -r);
		return -1;
	}
	if (kind == 0) { /* struct utimbuf */
		m->ts[0] = (struct timespec){v[0], 0};
		m->ts[1] = (struct timespec){v[1], 0};
	} else if (kind == 1) { /* struct timeval[2] */
		m->ts[0] = (struct timespec){v[0], v[1] * 1000};
		m->ts[1] = (struct timespec){v[2], v[3] * 1000};
	} else { /* struct timespec[2] */
		m->ts[0] = (struct timespec){v[0], v[1]};
		m->ts[1] = (struct timespec){v[2], v[3]};
	}
	return 0;
}

/* Route C to its handler by syscall number (each handler answers C). */
static void dispatch(struct call *c)
{
	struct seccomp_notif *n = c->n;
	struct meta_req m;
	memset(&m, 0, sizeof m);
	const __u64 *a = n->data.args;
	switch (n->data.nr) {
#ifdef __NR_open
	case __NR_open:
		c->sys = "open";
		return op_open(c, AT_FDCWD, a[0], (int)a[1], (mode_t)a[2], 0);
	case __NR_creat:
		c->sys = "creat";
		return op_open(c, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a[1], 0);
#endif
	case __NR_openat:
		c->sys = "openat";
		return op_open(c, (int)a[0], a[1], (int)a[2], (mode_t)a[3], 0);
	case __NR_openat2:
		c->sys = "openat2";
		return op_open(c, (int)a[0], a[1], 0, 0, 1);
	case __NR_truncate:
		c->sys = "truncate";
		return op_truncate(c);
#ifdef __NR_unlink
	case __NR_unlink:
		c->sys = "unlink";
		return op_unlink(c, AT_FDCWD, a[0], 0);
	case __NR_rmdir:
		c->sys = "rmdir";
		return op_unlink(c, AT_FDCWD, a[0], AT_REMOVEDIR);
	case __NR_rename:
		c->sys = "rename";
		return op_rename(c, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
	case __NR_link:
		c->sys = "link";
		return op_link(c, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
	case __NR_symlink:
		c->sys = "symlink";
		return op_symlink(c, a[0], AT_FDCWD, a[1]);
	case __NR_mkdir:
		c->sys = "mkdir";
		return op_mkdir(c, AT_FDCWD, a[0], (mode_t)a[1]);
	case __NR_mknod:
		c->sys = "mknod";
		return op_mknod(c, AT_FDCWD, a[0], (mode_t)a[1], (dev_t)a[2]);
	case __NR_chmod:
		c->sys = "chmod";
		m.kind = META_MODE;
		m.mode = (mode_t)a[1];
		return op_meta(c, AT_FDCWD, a[0], 0, 0, &m);
	case __NR_chown:
	case __NR_lchown:
		c->sys = n->data.nr == __NR_chown ? "chown" : "lchown";
		m.kind = META_OWNER;
		m.uid = (uid_t)a[1];
		m.gid = (gid_t)a[2];
		return op_meta(c, AT_FDCWD, a[0], 0, n->data.nr == __NR_lchown, &m);
	case __NR_utime:
		c->sys = "utime";
		if (times_arg(c, a[1], 0, &m) == 0)
			op_meta(c, AT_FDCWD, a[0], 0, 0, &m);
		return;
	case __NR_utimes:
		c->sys = "utimes";
		if (times_arg(c, a[1], 1, &m) == 0)
			op_meta(c, AT_FDCWD, a[0], 0, 0, &m);
		return;
	case __NR_futimesat:
		c->sys = "futimesat";
		if (times_arg(c, a[2], 1, &m) == 0)
			op_meta(c, (int)a[0], a[1], a[1] == 0, 0, &m);
		return;
#endif
#ifdef __NR_renameat
	case __NR_renameat:
		c->sys = "renameat";
		return op_rename(c, (int)a[0], a[1], (int)a[2], a[3], 0);
#endif
	case __NR_unlinkat:
		c->sys = "unlinkat";
		return op_unlink(c, (int)a[0], a[1], (int)a[2]);
	case __NR_renameat2:
		c->sys = "renameat2";
		return op_rename(c, (int)a[0], a[1], (int)a[2], a[3], (unsigned)a[4]);
	case __NR_linkat:
		c->sys = "linkat";
		return op_link(c, (int)a[0], a[1], (int)a[2], a[3], (int)a[4]);
	case __NR_symlinkat:
		c->sys = "symlinkat";
		return op_symlink(c, a[0], (int)a[1], a[2]);
	case __NR_mkdirat:
		c->sys = "mkdirat";
		return op_mkdir(c, (int)a[0], a[1], (mode_t)a[2]);
	case __NR_mknodat:
		c->sys = "mknodat";
		return op_mknod(c, (int)a[0], a[1], (mode_t)a[2], (dev_t)a[3]);
	case __NR_fchmod:
		c->sys = "fchmod";
		m.kind = META_MODE;
		m.mode = (mode_t)a[1];
		return op_meta(c, (int)a[0], 0, 1, 0, &m);
	case __NR_fchmodat:
	case __NR_fchmodat2: {
		int fl = n->data.nr == __NR_fchmodat2 ? (int)a[3] : 0;
		c->sys = n->data.nr == __NR_fchmodat ? "fchmodat" : "fchmodat2";
		m.kind = META_MODE;
		m.mode = (mode_t)a[2];
		return op_meta(c, (int)a[0], a[1], (fl & AT_EMPTY_PATH) ? 2 : 0,
		               !!(fl & AT_SYMLINK_NOFOLLOW), &m);
	}
	case __NR_fchown:
		c->sys = "fchown";
		m.kind = META_OWNER;
		m.uid = (uid_t)a[1];
		m.gid = (gid_t)a[2];
		return op_meta(c, (int)a[0], 0, 1, 0, &m);
	case __NR_fchownat:
		c->sys = "fchownat";
		m.kind = META_OWNER;
		m.uid = (uid_t)a[2];
		m.gid = (gid_t)a[3];
		return op_meta(c, (int)a[0], a[1], ((int)a[4] & AT_EMPTY_PATH) ? 2 : 0,
		               !!((int)a[4] & AT_SYMLINK_NOFOLLOW), &m);
	case __NR_utimensat:
		c->sys = "utimensat";
		if (times_arg(c, a[2], 2, &m) == 0)
			op_meta(c, (int)a[0], a[1],
			        a[1] == 0                     ? 1
			        : ((int)a[3] & AT_EMPTY_PATH) ? 2
			                                      : 0,
			        !!((int)a[3] & AT_SYMLINK_NOFOLLOW), &m);
		return;
	case __NR_execve:
		c->sys = "execve";
		return op_exec(c, AT_FDCWD, a[0], a[1], 0);
	case __NR_execveat:
		c->sys = "execveat";
		return op_exec(c, (int)a[0], a[1], a[2], (int)a[4]);
	case __NR_connect:
		c->sys = "connect";
		return op_connect(c);
	default:
		/* the filter and this switch disagree: answer, never hang the target */
		ev_fault("unexpected syscall %d trapped", n->data.nr);
		respond(c, 0, ENOSYS);
	}
}

void handle(struct seccomp_notif *n)
{
	static struct call c; /* large (two PATH_MAX paths): not on the stack */
	memset(&c, 0, sizeof c);
	c.n = n;
	c.tid = (pid_t)n->pid;
	task_status(c.tid, &c.ts);
	c.tgid = c.ts.tgid;
	ev_proc(c.tgid, c.ts.ppid, 0, NULL, NULL);
	if (!exec_verify(&c))
		dispatch(&c);
	if (!c.responded && !c.parked) {
		/* a handler forgot to answer: never leave the agent hanging */
		ev_fault("%s: no answer from its handler", c.sys ? c.sys : "?");
		respond(&c, 0, EIO);
	}
}
