/*
 * execve/execveat and connect: the only syscalls let through with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE, after the check. For exec the policy
 * judges argv (recursive deletes) and the resolved executable; a swap of
 * argv after the check can only change what an allowed program is told.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

void op_exec(struct call *c, int dirfd, uint64_t path, uint64_t argv, int flags)
{
	char p[PATH_MAX], cwd[PATH_MAX];
	if (read_path(c, path, p))
		return;
	c->argv = mem_read_argv(c->tid, argv);
	if (!c->argv)
		return respond(c, 0, errno == ESRCH ? ESRCH : EFAULT);
	if (!notif_valid(c)) {
		free(c->argv);
		return respond(c, 0, ESRCH);
	}
	struct target t;
	int r;
	if ((flags & AT_EMPTY_PATH) && !p[0])
		r = resolve_fd(c->tid, dirfd, &t);
	else
		r = resolve_path(c->tid, c->tgid, dirfd, p, !(flags & AT_SYMLINK_NOFOLLOW), &t);
	if (!r && !t.exists)
		r = -ENOENT;
	if (r) {
		/* PATH lookups of execvp land here: nothing ran, nothing to journal */
		free(c->argv);
		target_close(&t);
		return fail_resolve(c, r);
	}
	target_close(&t);
	if (proc_cwd(c->tid, cwd))
		strcpy(cwd, "/");
	c->op = OP_EXEC;
	strcpy(c->path, t.canon);
	decide(c, cwd);
	if (c->parked) {
		free(c->argv);
		c->argv = NULL;
		return;
	}
	if (c->v.decision != DEC_ALLOW) {
		deny(c);
		free(c->argv);
		return;
	}
	c->seq = ev_next_seq();
	c->pre.kind = PRE_NONE_ABSENT;
	respond_continue(c);
	exec_verify_mark(c->tgid, c->v.rule);
	ev_emit(c, 0);
	ev_proc(c->tgid, c->ts.ppid, 1, c->argv, c->path);
	free(c->argv);
	c->argv = NULL;
}

/*
 * CONTINUE lets the kernel read filename and argv again, after our check: a
 * thread sharing the memory can swap "rm -rf build" for "rm -rf ~" in
 * between. Every filesystem op of the new image is trapped, so before its
 * first one we read the argv it really got from /proc and judge it again
 * (recursive-delete tree rules and built-ins only: the path rules already
 * judged the file). A deny kills the process before it changed anything.
 */
#define VERIFY_SLOTS 1024
static pid_t verify_pending[VERIFY_SLOTS];
static const char *verify_rule[VERIFY_SLOTS]; /* the rule that let it through */

void exec_verify_mark(pid_t tgid, const char *rule)
{
	verify_pending[(unsigned)tgid % VERIFY_SLOTS] = tgid;
	verify_rule[(unsigned)tgid % VERIFY_SLOTS] = rule;
}

int exec_verify(struct call *c)
{
	unsigned h = (unsigned)c->tgid % VERIFY_SLOTS;
	if (verify_pending[h] != c->tgid)
		return 0;
	verify_pending[h] = 0;
	static char buf[65536];
	char *v[1024], cwd[PATH_MAX];
	read_cmdline(c->tgid, buf, sizeof buf, v, 1024);
	if (proc_cwd(c->tid, cwd))
		strcpy(cwd, "/");
	struct policy_input in = {.op = OP_EXEC, .path = "", .cwd = cwd, .argv = v};
	struct verdict vd = policy_eval(&S.t, &in);
	if (vd.decision == DEC_ALLOW || !strcmp(vd.rule, "no-rule"))
		return 0;
	/* a hold-type rule that was asked (and approved) for this very exec */
	if (vd.decision != DEC_DENY && verify_rule[h] && !strcmp(vd.rule, verify_rule[h]))
		return 0;
	kill(c->tgid, SIGKILL);
	ev_fault("pid %d: argv changed after the exec check to one rule %s denies: killed", c->tgid,
	         vd.rule);
	respond(c, 0, EPERM);
	return 1;
}

/* A connect performed for the agent on a duplicate of its socket. */
struct connect_job {
	struct call c;
	struct seccomp_notif n;
	int sock, parent;
	struct sockaddr_storage sa;
	socklen_t len;
};

static long long do_connect(struct connect_job *j)
{
	return connect(j->sock, (struct sockaddr *)&j->sa, j->len) ? -errno : 0;
}

static void *connect_run(void *arg)
{
	struct connect_job *j = arg;
	j->c.n = &j->n;
	long long r;
	AS_AGENT(&j->c, r, do_connect(j));
	respond(&j->c, 0, r < 0 ? (int)-r : 0);
	close(j->sock);
	if (j->parent >= 0)
		close(j->parent);
	free(j);
	return NULL;
}

/* Duplicate the target's socket FD (pidfd_getfd(2)); -errno on failure. */
static int grab_socket(struct call *c, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, c->tgid, 0);
	if (pfd < 0)
		return -ESRCH;
	int s = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	int e = errno;
	close(pfd);
	return s < 0 ? -e : s;
}

/*
 * connect: unix-domain connects are performed by the supervisor on a
 * duplicate of the agent's socket, with the address we read and checked (a
 * path is reached through the trusted parent dirfd), so swapping the
 * sockaddr after the check changes nothing. Other sockets are let through:
 * the kernel refuses a unix address on them, so the swap cannot reach the
 * daemon socket either.
 */
void op_connect(struct call *c)
{
	uint64_t len = ARG(c, 2);
	if (len == 0)
		return respond_continue(c);
	if (len > sizeof(struct sockaddr_storage))
		return respond(c, 0, EINVAL);
	int sock = grab_socket(c, (int)ARG(c, 0));
	if (sock < 0)
		return respond(c, 0, sock == -ESRCH ? ESRCH : -sock);
	int dom = 0;
	socklen_t dl = sizeof dom;
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &dom, &dl) || dom != AF_UNIX) {
		close(sock);
		return respond_continue(c);
	}
	struct connect_job *j = calloc(1, sizeof *j);
	if (!j) {
		close(sock);
		return respond(c, 0, ENOMEM);
	}
	j->sock = sock;
	j->parent = -1;
	j->len = (socklen_t)len;
	int r = mem_read(c->tid, ARG(c, 1), &j->sa, len);
	if (!r && !notif_valid(c))
		r = -ESRCH;
	struct sockaddr_un *su = (struct sockaddr_un *)&j->sa;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (!r && su->sun_family == AF_UNIX && len > off && su->sun_path[0]) {
		char p[sizeof su->sun_path + 1];
		size_t pl = strnlen(su->sun_path, len - off);
		memcpy(p, su->sun_path, pl);
		p[pl] = 0;
		struct target t;
		r = resolve_path(c->tid, c->tgid, AT_FDCWD, p, 1, &t);
		if (!r && (path_is_beneath(t.canon, S.t.state) || !strcmp(t.canon, S.t.socket))) {
			target_close(&t);
			close(sock);
			free(j);
			c->op = OP_CONNECT;
			strcpy(c->path, t.canon);
			c->v = (struct verdict){DEC_DENY, "builtin-state-dir", "builtin", NULL};
			return deny(c);
		}
		if (!r && t.magic)
			r = -ECONNREFUSED; /* an fd link is not a socket name */
		if (!r) {
			/* reach the checked inode through the trusted dirfd */
			j->parent = t.parent;
			t.parent = -1;
			int n = snprintf(su->sun_path, sizeof su->sun_path, "/proc/self/fd/%d/%s",
			                 j->parent, t.last);
			if (n < 0 || (size_t)n >= sizeof su->sun_path)
				r = -ENAMETOOLONG;
			j->len = (socklen_t)(off + (size_t)n + 1);
		}
		target_close(&t);
	}
	if (r) {
		close(sock);
		if (j->parent >= 0)
			close(j->parent);
		free(j);
		return respond(c, 0, r == -ESRCH ? ESRCH : -r);
	}
	j->c = *c;
	j->n = *c->n;
	/* a blocking stream connect waits for accept backlog: do it off the loop */
	int fl = fcntl(sock, F_GETFL);
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if ((fl >= 0 && (fl & O_NONBLOCK)) || pthread_create(&th, &at, connect_run, j))
		connect_run(j);
	pthread_attr_destroy(&at);
	c->responded = 1;
}
