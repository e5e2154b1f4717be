/*
 * warden-netns - run a command in a new network namespace that has only
 * loopback, with chosen loopback TCP ports forwarded to unix sockets outside.
 *
 *   warden-netns [--forward PORT=UNIX_SOCKET_PATH]... -- CMD ARGS...
 *
 * Order of work (see README.md "warden-netns"):
 *  1. fork a forwarder. It stays in the original network namespace, dies with
 *     its parent (PR_SET_PDEATHSIG + a getppid() check against the race), and
 *     waits for the listening sockets on a socketpair.
 *  2. unshare(CLONE_NEWNET) as root; unprivileged, CLONE_NEWUSER|CLONE_NEWNET
 *     with an identity uid/gid map (user_namespaces(7): "deny" must be written
 *     to setgroups before gid_map).
 *  3. bring `lo` up (SIOCSIFFLAGS), bind 127.0.0.1:PORT (and [::1]:PORT when
 *     IPv6 is there) for each forward, hand the listeners to the forwarder
 *     with SCM_RIGHTS (unix(7)) and close them here.
 *  4. exec CMD: the pid our caller spawned becomes CMD, so signals and the
 *     exit status pass through unchanged.
 * The forwarder accepts on the listeners and copies each connection to and
 * from a new connection to the forward's unix socket (poll loop, 64 KiB per
 * direction, half-close passed on with shutdown(SHUT_WR)).
 * Exit 126 with a message on stderr when the namespace cannot be made; 127
 * when CMD cannot be executed; 2 for bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FORWARDS  16
#define MAX_LISTENERS (2 * MAX_FORWARDS)
#define MAX_CONNS     256
#define BUF_BYTES     65536

struct forward {
	int port;
	const char *socket;
};

static struct forward fw[MAX_FORWARDS];
static int n_fw;

static void usage(void)
{
	fprintf(stderr,
	        "usage: warden-netns [--forward PORT=UNIX_SOCKET_PATH]... -- CMD ARGS...\n"
	        "Runs CMD in a new network namespace with only loopback; each PORT on 127.0.0.1\n"
	        "(and ::1) inside is forwarded to UNIX_SOCKET_PATH outside.\n");
}

/* Parses "PORT=PATH" into fw[n_fw]; 0 on success. */
static int parse_forward(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1] || n_fw >= MAX_FORWARDS)
		return -1;
	char *end;
	long port = strtol(arg, &end, 10);
	if (end != eq || port < 1 || port > 65535)
		return -1;
	if (strlen(eq + 1) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	fw[n_fw].port = (int)port;
	fw[n_fw].socket = eq + 1;
	n_fw++;
	return 0;
}

/* ---- forwarder (original network namespace) ---- */

struct half {
	char *buf;
	size_t len, off;
	int eof;  /* the reading side said EOF (or failed) */
	int shut; /* shutdown(SHUT_WR) done on the writing side */
};

struct conn {
	int fd[2];        /* 0: the TCP side (in the run), 1: the unix socket */
	struct half up;   /* fd[0] -> fd[1] */
	struct half down; /* fd[1] -> fd[0] */
};

static struct conn conns[MAX_CONNS];
static int n_conns;

static int unix_connect(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
	if (connect(s, (struct sockaddr *)&sa, sizeof sa)) {
		close(s);
		return -1;
	}
	fcntl(s, F_SETFL, O_NONBLOCK);
	return s;
}

static void conn_close(int i)
{
	close(conns[i].fd[0]);
	close(conns[i].fd[1]);
	free(conns[i].up.buf);
	free(conns[i].down.buf);
	conns[i] = conns[--n_conns];
}

/* Moves bytes for one direction; -1 when the connection is broken. */
static int pump(struct half *h, int from, int to, short rev_from)
{
	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !h->eof && h->len == 0) {
		ssize_t n = read(from, h->buf, BUF_BYTES);
		if (n > 0) {
			h->len = (size_t)n;
			h->off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			h->eof = 1;
		}
	}
	if (h->len > 0) { /* non-blocking: whatever fits now */
		ssize_t n = send(to, h->buf + h->off, h->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			h->off += (size_t)n;
			h->len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (h->eof && h->len == 0 && !h->shut) {
		shutdown(to, SHUT_WR);
		h->shut = 1;
	}
	return 0;
}

static void forwarder_accept(int lfd, const char *path)
{
	int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (n_conns >= MAX_CONNS) {
		close(c);
		return;
	}
	int u = unix_connect(path);
	if (u < 0) {
		fprintf(stderr, "warden-netns: forward to %s failed: %s\n", path, strerror(errno));
		close(c);
		return;
	}
	struct conn *k = &conns[n_conns];
	memset(k, 0, sizeof *k);
	k->fd[0] = c;
	k->fd[1] = u;
	k->up.buf = malloc(BUF_BYTES);
	k->down.buf = malloc(BUF_BYTES);
	if (!k->up.buf || !k->down.buf) {
		free(k->up.buf);
		free(k->down.buf);
		close(c);
		close(u);
		return;
	}
	n_conns++;
}

/* Receives the listeners (and which forward each serves) from the namespace side. */
static int recv_listeners(int sp, int *lfd, int *which)
{
	int idx[MAX_LISTENERS];
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_LISTENERS)];
	struct iovec iov = {.iov_base = idx, .iov_len = sizeof idx};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	ssize_t n = recvmsg(sp, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	if (nfd > MAX_LISTENERS || (size_t)n < (size_t)nfd * sizeof(int))
		return -1;
	memcpy(lfd, CMSG_DATA(cm), (size_t)nfd * sizeof(int));
	for (int i = 0; i < nfd; i++)
		which[i] = idx[i] >= 0 && idx[i] < n_fw ? idx[i] : 0;
	return nfd;
}

static void forwarder(int sp, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "warden-netfwd");
	int lfd[MAX_LISTENERS], which[MAX_LISTENERS];
	int nl = recv_listeners(sp, lfd, which);
	close(sp);
	if (nl <= 0)
		_exit(0); /* no forwards, or the namespace side failed (it said why) */
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		close(devnull);
	}
	for (int i = 0; i < nl; i++)
		fcntl(lfd[i], F_SETFL, O_NONBLOCK);
	struct pollfd p[MAX_LISTENERS + 2 * MAX_CONNS];
	for (;;) {
		if (getppid() != parent)
			_exit(0);
		int np = 0;
		for (int i = 0; i < nl; i++)
			p[np++] = (struct pollfd){.fd = lfd[i], .events = POLLIN};
		for (int i = 0; i < n_conns; i++) {
			struct conn *k = &conns[i];
			short e0 = 0, e1 = 0;
			if (!k->up.eof && k->up.len == 0)
				e0 |= POLLIN;
			if (!k->down.eof && k->down.len == 0)
				e1 |= POLLIN;
			if (k->up.len)
				e1 |= POLLOUT;
			if (k->down.len)
				e0 |= POLLOUT;
			p[np++] = (struct pollfd){.fd = k->fd[0], .events = e0};
			p[np++] = (struct pollfd){.fd = k->fd[1], .events = e1};
		}
		/* a timeout so that a dead parent is noticed even without PDEATHSIG */
		if (poll(p, (nfds_t)np, 1000) < 0 && errno != EINTR)
			_exit(1);
		int base = nl;
		int n_before = n_conns;
		/* connections first (their pollfd slots are positional), newest last */
		for (int i = n_before - 1; i >= 0; i--) {
			struct conn *k = &conns[i];
			short r0 = p[base + 2 * i].revents, r1 = p[base + 2 * i + 1].revents;
			if (!r0 && !r1)
				continue;
			if (pump(&k->up, k->fd[0], k->fd[1], r0) ||
			    pump(&k->down, k->fd[1], k->fd[0], r1) ||
			    (k->up.shut && k->down.shut) || ((r0 | r1) & POLLNVAL))
				conn_close(i);
		}
		for (int i = 0; i < nl; i++)
			if (p[i].revents & POLLIN)
				forwarder_accept(lfd[i], fw[which[i]].socket);
	}
}

/* ---- namespace side ---- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int new_netns(void)
{
	if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0)
		return 0;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		return -1;
	char map[64];
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map))
		return -1;
	if (write_file("/proc/self/setgroups", "deny\n") && errno != ENOENT)
		return -1;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!r) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	errno = e;
	return r;
}

/* A TCP listener on 127.0.0.1:port (v6 = 0) or [::1]:port (v6 = 1); -1 on failure. */
static int listen_on(int port, int v6)
{
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int r;
	if (v6) {
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
		                         .sin6_port = htons((uint16_t)port),
		                         .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		r = bind(s, (struct sockaddr *)&a, sizeof a);
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		r = bind(s, (struct sockaddr *)&a, sizeof a);
	}
	if (r || listen(s, 128)) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static int send_listeners(int sp, const int *lfd, const int *which, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_LISTENERS)];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = {.iov_base = (void *)which, .iov_len = sizeof(int) * (size_t)n};
	struct msghdr m = {.msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = cbuf,
	                   .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(cm), lfd, sizeof(int) * (size_t)n);
	return sendmsg(sp, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (!strcmp(argv[i], "--forward") && i + 1 < argc) {
			if (parse_forward(argv[++i])) {
				fprintf(
				    stderr,
				    "warden-netns: bad --forward %s: want PORT=UNIX_SOCKET_PATH "
				    "(port 1-65535, path shorter than 108 bytes, at most %d)\n",
				    argv[i], MAX_FORWARDS);
				return 2;
			}
			continue;
		}
		fprintf(stderr, "warden-netns: unknown argument %s\n", argv[i]);
		usage();
		return 2;
	}
	if (i >= argc) {
		fprintf(stderr, "warden-netns: no command given after --\n");
		usage();
		return 2;
	}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		fprintf(stderr, "warden-netns: socketpair: %s\n", strerror(errno));
		return 126;
	}
	pid_t me = getpid();
	pid_t f = n_fw > 0 ? fork() : 0;
	if (f < 0) {
		fprintf(stderr, "warden-netns: fork: %s\n", strerror(errno));
		return 126;
	}
	if (n_fw > 0 && f == 0) {
		close(sp[0]);
		forwarder(sp[1], me);
	}
	close(sp[1]);
	if (new_netns()) {
		fprintf(stderr,
		        "warden-netns: cannot create a network namespace: %s (namespaces may be "
		        "disabled or used up: sysctls user.max_user_namespaces, "
		        "user.max_net_namespaces, kernel.unprivileged_userns_clone; or run "
		        "without isolation: `warden run --net host`)\n",
		        strerror(errno));
		return 126;
	}
	if (loopback_up()) {
		fprintf(stderr, "warden-netns: cannot bring up lo in the new namespace: %s\n",
		        strerror(errno));
		return 126;
	}
	int lfd[MAX_LISTENERS], which[MAX_LISTENERS], nl = 0;
	for (int k = 0; k < n_fw; k++) {
		int s = listen_on(fw[k].port, 0);
		if (s < 0) {
			fprintf(stderr, "warden-netns: cannot listen on 127.0.0.1:%d: %s\n",
			        fw[k].port, strerror(errno));
			return 126;
		}
		lfd[nl] = s;
		which[nl++] = k;
		s = listen_on(fw[k].port, 1); /* optional: no IPv6 is fine */
		if (s >= 0) {
			lfd[nl] = s;
			which[nl++] = k;
		}
	}
	if (nl > 0 && send_listeners(sp[0], lfd, which, nl)) {
		fprintf(stderr, "warden-netns: cannot hand the listeners to the forwarder: %s\n",
		        strerror(errno));
		return 126;
	}
	for (int k = 0; k < nl; k++)
		close(lfd[k]);
	close(sp[0]);
	execvp(argv[i], argv + i);
	fprintf(stderr, "warden-netns: cannot execute %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
