/*
 * The supervisor loop: poll the seccomp listener and a signalfd, answer
 * every notification exactly once, batch event lines and flush them when
 * the loop would block. Kernel interface: man 2 seccomp_unotify.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

__thread int last_resp_err;

void respond(struct call *c, long long val, int err)
{
	if (c->responded)
		return;
	c->responded = 1;
	last_resp_err = err;
	struct seccomp_notif_resp r = {.id = c->n->id, .val = val, .error = err ? -err : 0};
	while (ioctl(S.listener, SECCOMP_IOCTL_NOTIF_SEND, &r) < 0) {
		if (errno == EINTR)
			continue;
		/* ENOENT: the target died or was interrupted. The event buffer is the
		 * loop thread's: FIFO/connect worker threads only report on stderr. */
		if (errno != ENOENT && syscall(SYS_gettid) == getpid())
			ev_fault("answering %s failed: %s", c->sys ? c->sys : "?", strerror(errno));
		else if (errno != ENOENT)
			fprintf(stderr, "warden: answering %s failed: %s\n", c->sys ? c->sys : "?",
			        strerror(errno));
		return;
	}
}

void respond_continue(struct call *c)
{
	if (c->responded)
		return;
	c->responded = 1;
	struct seccomp_notif_resp r = {.id = c->n->id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
	while (ioctl(S.listener, SECCOMP_IOCTL_NOTIF_SEND, &r) < 0 && errno == EINTR)
		;
}

int respond_fd(struct call *c, int fd, int cloexec)
{
	if (c->responded)
		return -EALREADY;
	struct seccomp_notif_addfd a = {.id = c->n->id,
	                                .flags = SECCOMP_ADDFD_FLAG_SEND,
	                                .srcfd = (__u32)fd,
	                                .newfd_flags = cloexec ? O_CLOEXEC : 0};
	for (;;) {
		if (ioctl(S.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) >= 0) {
			c->responded = 1;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == ENOENT)
			c->responded = 1;
		return -errno;
	}
}

int notif_valid(struct call *c)
{
	__u64 id = c->n->id;
	return ioctl(S.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int exit_code(int st, int *sig)
{
	*sig = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		*sig = WTERMSIG(st);
		return 128 + *sig;
	}
	return 1;
}

/* Reap every exited child (we are a subreaper); remember the direct child's status. */
static void reap(int *child_status, int *child_done)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == S.child) {
			*child_status = st;
			*child_done = 1;
		}
}

/*
 * supervise_loop - serve notifications until the listener reports POLLHUP
 * (no task of the tree holds the filter any more), then write the end line.
 * SIGFD is a signalfd for SIGCHLD/SIGINT/SIGTERM/SIGHUP. Returns the exit code.
 */
int supervise_loop(int sigfd)
{
	struct seccomp_notif_sizes sz = {0};
	size_t nsize = sizeof(struct seccomp_notif);
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) == 0 && sz.seccomp_notif > nsize)
		nsize = sz.seccomp_notif;
	struct seccomp_notif *n = malloc(nsize);
	if (!n) {
		fprintf(stderr, "warden: out of memory\n");
		kill(-S.child, SIGKILL);
		return 125;
	}
	int child_status = 0, child_done = 0;
	for (;;) {
		/* the daemon socket joins the poll set while connected (decide lines in,
		 * queued hold/resolved lines out); the timeout is the nearest hold deadline
		 * or, while the connection is lost, the next reconnect attempt */
		sock_retry();
		struct pollfd fds[3] = {{.fd = S.listener, .events = POLLIN},
		                        {.fd = sigfd, .events = POLLIN},
		                        {.fd = S.sock_fd, .events = POLLIN}};
		if (sock_pending())
			fds[2].events |= POLLOUT;
		int nf = S.sock_fd >= 0 ? 3 : 2;
		int k = poll(fds, (nfds_t)nf, 0);
		if (k == 0) {
			ev_flush();
			if (sock_pending())
				fds[2].events |= POLLOUT;
			nf = S.sock_fd >= 0 ? 3 : 2;
			k = poll(fds, (nfds_t)nf, hold_timeout());
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			ev_fault("poll failed: %s", strerror(errno));
			break;
		}
		if (nf == 3 && fds[2].revents) {
			if (fds[2].revents & POLLOUT)
				sock_flush();
			if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
				sock_readable();
		}
		hold_tick();
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGCHLD)
					reap(&child_status, &child_done);
				else
					kill(-S.child, (int)si.ssi_signo);
			}
		}
		if (fds[0].revents & POLLIN) {
			memset(n, 0, nsize);
			if (ioctl(S.listener, SECCOMP_IOCTL_NOTIF_RECV, n) == 0)
				handle(n);
			else if (errno != ENOENT && errno != EINTR)
				ev_fault("receiving a notification failed: %s", strerror(errno));
			continue;
		}
		if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
	}
	hold_end();
	free(n);
	if (!child_done) {
		while (waitpid(S.child, &child_status, 0) < 0 && errno == EINTR)
			;
	}
	reap(&child_status, &child_done);
	int sig, code = exit_code(child_status, &sig);
	ev_end(code, sig);
	ev_flush();
	sock_drain(2000); /* hold/resolved lines the daemon has not read yet */
	return code;
}
