/*
 * warden-supervise --table FILE -- CMD ARGS...
 *
 * Runs CMD under Landlock + a seccomp user-notify filter and journals every
 * filesystem side effect with its pre-image (WIRE.md). Exit status: CMD's
 * (128+signal if killed), 125 for a helper error before CMD started, 126/127
 * when CMD cannot be executed / is not found.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct sup S;

int supervise_loop(int sigfd);

static void usage(void)
{
	fprintf(stderr, "usage: warden-supervise --table FILE -- CMD [ARGS...]\n");
	exit(125);
}

/* Connect to the daemon socket (hold conversation and wake-ups); failure is not an error. */
static void connect_daemon(void)
{
	S.sock_fd = -1;
	sock_connect();
}

/* Child side: confine, hand the listener to the parent, exec. Never returns. */
static void child(int sp, char **cmd, pid_t parent, const sigset_t *oldmask)
{
	setpgid(0, 0);
	if (isatty(0) && tcgetpgrp(0) == getpgid(parent)) {
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(0, getpid()); /* keep the terminal usable for the agent */
		signal(SIGTTOU, SIG_DFL);
	}
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(125);
	/* Landlock and seccomp both need no_new_privs when we are unprivileged */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "warden: PR_SET_NO_NEW_PRIVS failed: %s\n", strerror(errno));
		_exit(125);
	}
	int abi = 0;
	if (S.t.landlock) {
		abi = landlock_apply(&S.t);
		if (abi < 0) {
			fprintf(stderr, "warden: Landlock restriction failed: %s\n",
			        strerror(-abi));
			_exit(125);
		}
	}
	int lfd = filter_install();
	if (lfd < 0) {
		fprintf(stderr, "warden: installing the seccomp filter failed: %s\n",
		        strerror(-lfd));
		_exit(125);
	}
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	unsigned char abyte = (unsigned char)abi;
	struct iovec iov = {&abyte, 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof lfd);
	if (sendmsg(sp, &mh, 0) != 1)
		_exit(125);
	close(lfd);
	close(sp);
	/* from here on our own execve is trapped: the parent is already serving */
	execvp(cmd[0], cmd);
	int e = errno;
	if (e == ENOENT) {
		fprintf(stderr, "warden: %s: command not found\n", cmd[0]);
		_exit(127);
	}
	fprintf(stderr, "warden: %s: %s\n", cmd[0], strerror(e));
	_exit(126);
}

static int recv_listener(int sp, int *abi)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	unsigned char abyte = 0;
	struct iovec iov = {&abyte, 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	ssize_t n;
	while ((n = recvmsg(sp, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	*abi = abyte;
	return fd;
}

int main(int argc, char **argv)
{
	const char *table = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--table") && i + 1 < argc)
			table = argv[++i];
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else
			usage();
	}
	if (!table || i >= argc)
		usage();
	char **cmd = argv + i;
	char err[1024];
	if (table_load(table, &S.t, 1, err, sizeof err)) {
		fprintf(stderr, "warden: %s\n", err);
		return 125;
	}
	S.events_fd = open(S.t.events, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (S.events_fd < 0) {
		fprintf(stderr, "warden: %s: cannot open the event log: %s\n", S.t.events,
		        strerror(errno));
		return 125;
	}
	S.stage_fd = open(S.t.stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (S.stage_fd < 0) {
		fprintf(stderr, "warden: %s: cannot open the stage dir: %s\n", S.t.stage,
		        strerror(errno));
		return 125;
	}
	S.trash_fd = -1;
	if (S.t.trash) {
		/* steer's trash (WIRE.md §3): created like mkdir -p, 0700 */
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s", S.t.trash);
		for (char *q = p + 1; *q; q++)
			if (*q == '/') {
				*q = 0;
				mkdir(p, 0700);
				*q = '/';
			}
		mkdir(p, 0700);
		S.trash_fd = open(S.t.trash, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (S.trash_fd < 0)
			fprintf(stderr, "warden: %s: no trash dir (%s): steer is refused\n",
			        S.t.trash, strerror(errno));
	}
	for (size_t w = 0; w < S.t.n_wall_write && S.n_wall < 62; w++)
		S.wall[S.n_wall++] = S.t.wall_write[w];
	S.wall[S.n_wall++] = "/dev";
	S.wall[S.n_wall++] = "/proc";
	connect_daemon();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	int sp[2];
	if (sigfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		fprintf(stderr, "warden: setup failed: %s\n", strerror(errno));
		return 125;
	}
	fflush(NULL);
	pid_t me = getpid();
	S.child = fork();
	if (S.child < 0) {
		fprintf(stderr, "warden: fork failed: %s\n", strerror(errno));
		return 125;
	}
	if (S.child == 0) {
		close(sp[0]);
		child(sp[1], cmd, me, &old);
	}
	close(sp[1]);
	int abi = 0;
	S.listener = recv_listener(sp[0], &abi);
	close(sp[0]);
	if (S.listener < 0) {
		/* the child failed before exec and said why on stderr */
		int st = 0, sig;
		waitpid(S.child, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st)
		                     : (WIFSIGNALED(st) ? 128 + (sig = WTERMSIG(st)) : 125);
	}
	__u64 fl = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
	ioctl(S.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, fl); /* optional, ignore failure */
	ev_start(abi);
	return supervise_loop(sigfd);
}
