/*
 * Egress steering (issue 7): agent-tree TCP connections go through the user's egress proxy, the
 * same one (core/net/proxy.ts, rules of policies/40-network.yaml) that `warden run --net isolated`
 * uses.
 *
 * bpf/egress.bpf.c, attached to the cgroup v2 root, rewrites a TCP connect of an agent-tree
 * process to anything but loopback into a connect to this helper's steering listener
 * (127.0.0.1:P, [::1]:P) and keeps the original destination, found again here by the client's
 * port. For each such connection a relay thread, with its filesystem identity set to the agent's
 * user (setfsuid/setfsgid: a path in the user's state dir can never make root connect to a socket
 * the user could not), connects to the proxy socket the user's daemon serves for that agent tree,
 * `<state>/net/watch-<tree key>.sock`, asks for `CONNECT <original ip>:<port>` with
 * `X-Warden-Transparent: 1` (the daemon answers 200 at once, reads the client's first bytes for a
 * TLS SNI or HTTP Host name, and decides on that name and the port; WIRE.md §5.2), then copies
 * bytes both ways. No daemon socket within 5 s, or any other answer than 200, closes the agent's
 * connection: egress of an agent tree fails closed.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "egress.h"
#include "egress.skel.h"
#include "watch.h"
#include "ww.h"

#define RELAY_MAX      512  /* relay threads at once; more connections are closed */
#define DAEMON_WAIT_MS 5000 /* how long a relay waits for the daemon's proxy socket */
#define RELAY_BUF      65536
#define HEAD_MAX       4096

static struct egress_bpf *skel;
static int lfd4 = -1, lfd6 = -1, steered_fd = -1;
static int relays;
long egress_steered, egress_refused;

struct relay {
	int fd; /* the agent's connection */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char sock[600];
	char target[80]; /* ip:port or [ip6]:port */
	char key[48];
};

/* cgroup_root - the cgroup v2 mount (hybrid: /sys/fs/cgroup/unified) into OUT. 0 or -1. */
static int cgroup_root(char *out, size_t len)
{
	const char *cands[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	for (int i = 0; i < 2; i++) {
		struct statfs sf;
		if (statfs(cands[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(out, len, "%s", cands[i]);
			return 0;
		}
	}
	return -1;
}

/* listen_lo - a listener on 127.0.0.1 (FAM AF_INET) or ::1, on PORT (0: any); its port in *GOT. */
static int listen_lo(int fam, int port, int *got)
{
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	if (fam == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		struct sockaddr_in6 *a = (void *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	}
	if (bind(fd, (void *)&ss, sl) < 0 || listen(fd, 256) < 0 ||
	    getsockname(fd, (void *)&ss, &sl) < 0) {
		close(fd);
		return -1;
	}
	*got = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void fail(const char *step, int err)
{
	snprintf(egress_state, sizeof egress_state,
	         "unavailable: %s: %s; agent-tree connections are not steered", step,
	         strerror(err));
	if (skel)
		egress_bpf__destroy(skel);
	skel = 0;
	if (lfd4 >= 0)
		close(lfd4);
	if (lfd6 >= 0)
		close(lfd6);
	lfd4 = lfd6 = -1;
}

void egress_init(void)
{
	if (!cfg.egress) {
		snprintf(egress_state, sizeof egress_state, "off in the config");
		return;
	}
	if (agents_map_fd < 0) {
		snprintf(egress_state, sizeof egress_state,
		         "unavailable: needs the eBPF process tree (%s)", bpf_why);
		return;
	}
	char cg[256];
	if (cgroup_root(cg, sizeof cg) < 0) {
		snprintf(egress_state, sizeof egress_state, "unavailable: no cgroup v2 mount");
		return;
	}
	int p4 = 0, p6 = 0;
	lfd4 = listen_lo(AF_INET, 0, &p4);
	if (lfd4 < 0)
		return fail("listening on 127.0.0.1", errno);
	lfd6 = listen_lo(AF_INET6, p4, &p6);
	if (lfd6 < 0)
		lfd6 = listen_lo(AF_INET6, 0, &p6); /* no IPv6 loopback: IPv6 is not steered */
	skel = egress_bpf__open();
	if (!skel)
		return fail("opening the BPF object", errno);
	skel->rodata->steer_port4 = (__u16)p4;
	skel->rodata->steer_port6 = lfd6 >= 0 ? (__u16)p6 : 0;
	int e = bpf_map__reuse_fd(skel->maps.agents, agents_map_fd);
	if (e)
		return fail("sharing the agents map", -e);
	if (egress_bpf__load(skel))
		return fail("loading cgroup/connect4, connect6 and sockops", errno);
	int cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return fail(cg, errno);
	struct bpf_program *progs[] = {skel->progs.ww_connect4, skel->progs.ww_connect6,
	                               skel->progs.ww_sockops};
	struct bpf_link **links[] = {&skel->links.ww_connect4, &skel->links.ww_connect6,
	                             &skel->links.ww_sockops};
	for (int i = 0; i < 3; i++) {
		*links[i] = bpf_program__attach_cgroup(progs[i], cgfd);
		if (!*links[i]) {
			int err = errno;
			close(cgfd);
			char w[300];
			snprintf(w, sizeof w, "attaching %s to %s", bpf_program__name(progs[i]),
			         cg);
			return fail(w, err);
		}
	}
	close(cgfd);
	steered_fd = bpf_map__fd(skel->maps.steered);
	snprintf(egress_state, sizeof egress_state,
	         "active: agent-tree TCP connections beyond loopback go through the user's egress "
	         "proxy (steered to 127.0.0.1:%d%s)",
	         p4, lfd6 >= 0 ? " and [::1]" : "; IPv6 not steered: no ::1");
}

int egress_fds(int *fds, int max)
{
	int n = 0;
	if (lfd4 >= 0 && n < max)
		fds[n++] = lfd4;
	if (lfd6 >= 0 && n < max)
		fds[n++] = lfd6;
	return n;
}

/* write_all - 0 when all LEN bytes of B went to FD, else -1. */
static int write_all(int fd, const char *b, size_t len)
{
	while (len) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

/* daemon_connect - the daemon's proxy socket for the relay, waited for up to DAEMON_WAIT_MS. */
static int daemon_connect(const struct relay *r)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(r->sock) >= sizeof a.sun_path)
		return -1;
	memcpy(a.sun_path, r->sock, strlen(r->sock) + 1);
	for (int waited = 0; waited <= DAEMON_WAIT_MS; waited += 100) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -1;
		if (connect(s, (void *)&a, sizeof a) == 0)
			return s;
		int e = errno;
		close(s);
		if (e != ENOENT && e != ECONNREFUSED)
			return -1;
		usleep(100 * 1000);
	}
	return -1;
}

/* pump - copies what is readable on FROM to TO; 0: more may come, 1: FROM is at its end, -1: error
 */
static int pump(int from, int to, char *buf)
{
	ssize_t n = read(from, buf, RELAY_BUF);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return 1;
	return write_all(to, buf, (size_t)n) < 0 ? -1 : 0;
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	int d = -1;
	char *buf = malloc(RELAY_BUF);
	/* this thread's filesystem identity is the agent's user, without root's supplementary
	 * groups: connect() by path checks the socket's permissions and every directory on the way
	 * as that user (credentials are per thread in Linux; the raw syscalls, not glibc's
	 * process-wide set*id; leaving fsuid 0 drops CAP_DAC_OVERRIDE and the other fs
	 * capabilities from this thread, capabilities(7)) */
	if (!buf || syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setfsgid, r->gid) < 0 ||
	    syscall(SYS_setfsuid, r->uid) < 0 ||
	    /* setfsuid answers the previous fsuid even when it fails: ask again */
	    syscall(SYS_setfsuid, (uid_t)-1) != (long)r->uid || (d = daemon_connect(r)) < 0) {
		logmsg("egress: no proxy of tree %s at %s: closing pid %d's connection to %s",
		       r->key, r->sock, r->pid, r->target);
		__atomic_fetch_add(&egress_refused, 1, __ATOMIC_RELAXED);
		goto out;
	}
	char head[HEAD_MAX];
	int hl = snprintf(head, sizeof head,
	                  "CONNECT %s HTTP/1.1\r\nHost: %s\r\nX-Warden-Transparent: 1\r\n"
	                  "X-Warden-Pid: %d\r\n\r\n",
	                  r->target, r->target, r->pid);
	if (write_all(d, head, (size_t)hl) < 0)
		goto out;
	/* the answer's head; bytes after it (none today) belong to the agent */
	size_t got = 0;
	char *end = 0;
	while (!end && got < sizeof head - 1) {
		ssize_t n = read(d, head + got, sizeof head - 1 - got);
		if (n <= 0)
			goto out;
		got += (size_t)n;
		head[got] = 0;
		end = strstr(head, "\r\n\r\n");
	}
	if (!end || strncmp(head, "HTTP/1.1 200", 12)) {
		__atomic_fetch_add(&egress_refused, 1, __ATOMIC_RELAXED);
		goto out;
	}
	size_t rest = got - (size_t)(end + 4 - head);
	if (rest && write_all(r->fd, end + 4, rest) < 0)
		goto out;
	int open_up = 1, open_down = 1; /* agent → daemon, daemon → agent */
	while (open_up || open_down) {
		struct pollfd p[2] = {{.fd = r->fd, .events = open_up ? POLLIN : 0},
		                      {.fd = d, .events = open_down ? POLLIN : 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (open_up && p[0].revents) {
			int s = pump(r->fd, d, buf);
			if (s < 0)
				break;
			if (s == 1) {
				open_up = 0;
				shutdown(d, SHUT_WR);
			}
		}
		if (open_down && p[1].revents) {
			int s = pump(d, r->fd, buf);
			if (s < 0)
				break;
			if (s == 1) {
				open_down = 0;
				shutdown(r->fd, SHUT_WR);
			}
		}
	}
out:
	if (d >= 0)
		close(d);
	close(r->fd);
	free(buf);
	free(r);
	__atomic_fetch_sub(&relays, 1, __ATOMIC_RELAXED);
	return 0;
}

/* target_of - "ip:port" / "[ip6]:port" of the original destination O into OUT. */
static void target_of(const struct ww_steer *o, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "";
	if (o->family == AF_INET) {
		inet_ntop(AF_INET, &o->addr[0], ip, sizeof ip);
		snprintf(out, len, "%s:%u", ip, o->port);
	} else {
		inet_ntop(AF_INET6, o->addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%u", ip, o->port);
	}
}

/* accept_one - one connection accepted on the listener of family VIA (4 or 6). */
static void accept_one(int fd, int via)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getpeername(fd, (void *)&ss, &sl) < 0) {
		close(fd);
		return;
	}
	unsigned port = ntohs(via == 4 ? ((struct sockaddr_in *)&ss)->sin_port
	                               : ((struct sockaddr_in6 *)&ss)->sin6_port);
	__u32 k = ww_steer_key((__u32)via, port);
	struct ww_steer o;
	if (bpf_map_lookup_and_delete_elem(steered_fd, &k, &o) < 0) {
		/* not a steered connection: someone connected to the listener directly */
		close(fd);
		return;
	}
	proc_poll(); /* a just-forked agent's tree may still be in the ring buffer */
	struct ww_tree *t = o.tree && o.tree <= ntrees && trees[o.tree - 1].used
	                        ? &trees[o.tree - 1]
	                        : tree_of_tid((pid_t)o.tid);
	if (!t)
		t = tree_of_tid((pid_t)o.pid);
	char target[80];
	target_of(&o, target, sizeof target);
	const char *state = t ? ipc_state_of(t->uid) : 0;
	struct relay *r = 0;
	if (!t || !state || __atomic_load_n(&relays, __ATOMIC_RELAXED) >= RELAY_MAX ||
	    !(r = calloc(1, sizeof *r))) {
		logmsg("egress: pid %u's connection to %s closed (%s)", o.pid, target,
		       !t       ? "its agent tree is gone"
		       : !state ? "no state dir for its user"
		                : "too many connections");
		__atomic_fetch_add(&egress_refused, 1, __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	r->fd = fd;
	r->uid = t->uid;
	r->gid = (gid_t)o.gid;
	r->pid = (pid_t)o.pid;
	snprintf(r->key, sizeof r->key, "%s", t->key);
	snprintf(r->target, sizeof r->target, "%s", target);
	snprintf(r->sock, sizeof r->sock, "%s/net/watch-%s.sock", state, t->key);
	__atomic_fetch_add(&relays, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&egress_steered, 1, __ATOMIC_RELAXED);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	pthread_t th;
	if (pthread_create(&th, &at, relay_thread, r) != 0) {
		__atomic_fetch_sub(&relays, 1, __ATOMIC_RELAXED);
		close(fd);
		free(r);
	}
	pthread_attr_destroy(&at);
}

void egress_accept(int lfd)
{
	int via = lfd == lfd4 ? 4 : 6;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		accept_one(fd, via);
	}
}
