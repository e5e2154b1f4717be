/*
 * execve/execveat and connect: the only syscalls let through with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE, after the check. For exec the policy
 * judges argv (recursive deletes) and the resolved executable; a swap of
 * argv after the check can only change what an allowed program is told.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

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
	if (c->v.decision != DEC_ALLOW) {
		deny(c);
		free(c->argv);
		return;
	}
	c->seq = ev_next_seq();
	c->pre.kind = PRE_NONE_ABSENT;
	respond_continue(c);
	ev_emit(c, 0);
	ev_proc(c->tgid, 1, c->argv, c->path);
	free(c->argv);
	c->argv = NULL;
}

void op_connect(struct call *c)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	uint64_t len = ARG(c, 2);
	if (len > sizeof sa)
		len = sizeof sa;
	if (len < sizeof(sa_family_t) || mem_read(c->tid, ARG(c, 1), &sa, len))
		return respond_continue(c); /* the kernel reports the bad address */
	if (sa.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path) ||
	    sa.sun_path[0] == 0)
		return respond_continue(c);
	char p[PATH_MAX];
	size_t pl = strnlen(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
	memcpy(p, sa.sun_path, pl);
	p[pl] = 0;
	struct target t;
	int r = resolve_path(c->tid, c->tgid, AT_FDCWD, p, 1, &t);
	if (r)
		return respond_continue(c);
	target_close(&t);
	if (path_is_beneath(t.canon, S.t.state) || !strcmp(t.canon, S.t.socket)) {
		c->op = OP_CONNECT;
		strcpy(c->path, t.canon);
		c->v = (struct verdict){DEC_DENY, "builtin-state-dir", "builtin"};
		return deny(c);
	}
	respond_continue(c);
}
