/*
 * The helper's socket for the users' daemons (WIRE.md §4.2). Root owns it; any local user may
 * connect and is identified by SO_PEERCRED, never by what it says: a daemon receives only the agent
 * trees, holds and canary sightings of its own uid, and may only answer holds of its own trees.
 * Lines are JSON objects; what the daemon sends is parsed strictly (flat object, known keys, no
 * escapes) and anything else closes it. A peer whose process (SO_PEERCRED pid) belongs to an agent
 * tree is refused, at connect and at every line: an agent must not pose as its user's daemon and
 * answer its own bulk-delete hold.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ww.h"

struct client {
	int fd;
	uid_t uid;
	pid_t pid; /* SO_PEERCRED: the process that connected */
	int hello;
	char state[512];
	char in[4096];
	size_t inlen;
	char *out;
	size_t outlen;
};

static int lfd = -1;
static struct client cl[WW_MAX_CLIENTS];
char mechanisms[1024];
extern long perm_events, perm_agent, name_events;

int ipc_init(void)
{
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (lfd < 0 || strlen(cfg.socket) >= sizeof a.sun_path)
		return -1;
	strcpy(a.sun_path, cfg.socket);
	unlink(cfg.socket);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(cfg.socket, 0666) < 0 ||
	    listen(lfd, 16) < 0)
		return -1;
	for (int i = 0; i < WW_MAX_CLIENTS; i++)
		cl[i].fd = -1;
	return lfd;
}

static void drop(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = 0;
	c->outlen = c->inlen = 0;
	c->hello = 0;
}

static void flush(struct client *c)
{
	while (c->outlen) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			drop(c);
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
}

static void send_to(struct client *c, const char *s, size_t n)
{
	if (c->outlen + n > (16u << 20)) { /* a daemon that stopped reading */
		logmsg("daemon of uid %u does not read: disconnected", c->uid);
		drop(c);
		return;
	}
	char *o = realloc(c->out, c->outlen + n);
	if (!o)
		return;
	c->out = o;
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
	flush(c);
}

void ipc_send_uid(uid_t uid, struct jbuf *j)
{
	if (j->oom)
		return;
	for (int i = 0; i < WW_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].hello && cl[i].uid == uid)
			send_to(&cl[i], j->b, j->len);
}

int ipc_connected(uid_t uid)
{
	for (int i = 0; i < WW_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].hello && cl[i].uid == uid)
			return 1;
	return 0;
}

/* ww_private - 1 if P is Warden's own: beneath the shadow, a user's state dir of the config, or the
 * state dir a connected daemon named in its hello. Agent trees may not open anything there
 * (api.json holds the token of the daemon's HTTP API); it is never journaled or shadowed. */
int ww_private(const char *p)
{
	if (cfg.shadow[0] && under(p, cfg.shadow))
		return 1;
	for (int i = 0; i < cfg.nusers; i++)
		if (under(p, cfg.users[i].state))
			return 1;
	for (int i = 0; i < WW_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].hello && cl[i].state[0] && under(p, cl[i].state))
			return 1;
	return 0;
}

/* ipc_state_of - the state dir of UID's daemon (connected, else from the config), or NULL. */
const char *ipc_state_of(uid_t uid)
{
	for (int i = 0; i < WW_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].hello && cl[i].uid == uid)
			return cl[i].state;
	for (int i = 0; i < cfg.nusers; i++)
		if (cfg.users[i].uid == uid)
			return cfg.users[i].state;
	return 0;
}

static void tree_msg(struct jbuf *j, struct ww_tree *t)
{
	char p[64], args[4096], cwd[4096];
	jb_obj_begin(j);
	jb_cstr(j, "t", "tree");
	jb_cstr(j, "tree", t->key);
	jb_int(j, "pid", t->root_pid);
	jb_int(j, "ts", now_ms());
	snprintf(p, sizeof p, "/proc/%d/cmdline", t->root_pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, args, sizeof args - 1) : -1;
	if (fd >= 0)
		close(fd);
	char *argv[64];
	int k = 0;
	for (ssize_t o = 0; n > 0 && o < n && k < 63;) {
		args[n] = 0;
		argv[k++] = args + o;
		o += (ssize_t)strlen(args + o) + 1;
	}
	argv[k] = 0;
	jb_argv(j, "argv", argv);
	snprintf(p, sizeof p, "/proc/%d/cwd", t->root_pid);
	n = readlink(p, cwd, sizeof cwd - 1);
	cwd[n > 0 ? n : 0] = 0;
	jb_cstr(j, "cwd", cwd[0] ? cwd : 0);
	const char *root = cfg.roots[0];
	for (int i = 0; i < cfg.nroots; i++)
		if (cwd[0] && under(cwd, cfg.roots[i]))
			root = cfg.roots[i];
	jb_cstr(j, "root", root);
	jb_int(j, "journaled", t->logfd >= 0);
	jb_obj_end(j);
}

void ipc_tree(struct ww_tree *t)
{
	struct jbuf j = {0};
	tree_msg(&j, t);
	ipc_send_uid(t->uid, &j);
	free(j.b);
}

long ipc_canary_uid(const char *path)
{
	size_t n = strlen(path);
	if (n < 14 || strcmp(path + n - 13, "/watch/canary"))
		return -1;
	for (int i = 0; i < WW_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].hello && strlen(cl[i].state) == n - 13 &&
		    !strncmp(path, cl[i].state, n - 13))
			return cl[i].uid;
	return -1;
}

void canary_seen(uid_t uid, pid_t pid)
{
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "canary");
	jb_int(&j, "pid", pid);
	jb_int(&j, "ts", now_ms());
	jb_obj_end(&j);
	ipc_send_uid(uid, &j);
	free(j.b);
}

/* make_canary - <state>/watch/canary for C's user (fan.c reports writes to it: the daemon's
 * `touch` opens it, which the permission thread answers, then sets its times, a name event). */
static void make_canary(struct client *c)
{
	char p[600];
	snprintf(p, sizeof p, "%s/watch", c->state);
	int sfd = open(c->state, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return;
	if (mkdirat(sfd, "watch", 0700) == 0) {
		int w = openat(sfd, "watch", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (w >= 0) {
			if (fchown(w, c->uid, (gid_t)-1) < 0)
				logmsg("chown %s: %s", p, strerror(errno));
			close(w);
		}
	}
	int wfd = openat(sfd, "watch", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(sfd);
	struct stat st;
	if (wfd < 0 || fstat(wfd, &st) < 0 || st.st_uid != c->uid) {
		if (wfd >= 0)
			close(wfd);
		return;
	}
	int fd = openat(wfd, "canary", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(wfd);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != (c->uid ? c->uid : st.st_uid)) {
		if (fd >= 0 && fchown(fd, c->uid, (gid_t)-1) == 0 && fstat(fd, &st) == 0)
			goto ok;
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fchown(fd, c->uid, (gid_t)-1) < 0) {
		close(fd);
		return;
	}
ok:
	close(fd);
}

/* field - the value of "KEY" in flat JSON object S: a string (no escapes) or a number. NULL if
 * absent. */
static const char *field(const char *s, const char *key, char *out, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(s, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	size_t n = 0;
	if (*p == '"') {
		p++;
		while (p[n] && p[n] != '"')
			n++;
		if (p[n] != '"')
			return 0;
	} else {
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (!n)
			return 0;
	}
	if (n >= len)
		return 0;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

static void hello_reply(struct client *c)
{
	struct jbuf j = {0};
	char canary[600];
	snprintf(canary, sizeof canary, "%s/watch/canary", c->state);
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "hello");
	jb_int(&j, "helper_pid", getpid());
	jb_int(&j, "uid", c->uid);
	jb_key(&j, "roots");
	jb_append(&j, "[", 1);
	for (int i = 0; i < cfg.nroots; i++) {
		struct jbuf r = {0};
		jb_obj_begin(&r);
		jb_cstr(&r, "r", cfg.roots[i]); /* r.b is {"r":"<escaped>" : keep the value */
		if (i)
			jb_append(&j, ",", 1);
		jb_append(&j, r.b + 5, r.len - 5);
		free(r.b);
	}
	jb_append(&j, "]", 1);
	jb_cstr(&j, "canary", canary);
	jb_raw(&j, "mech", mechanisms);
	jb_obj_end(&j);
	send_to(c, j.b, j.len);
	free(j.b);
	for (size_t i = 0; i < ntrees; i++)
		if (trees[i].used && trees[i].uid == c->uid) {
			struct jbuf t = {0};
			tree_msg(&t, &trees[i]);
			send_to(c, t.b, t.len);
			free(t.b);
		}
}

static int line(struct client *c, char *s)
{
	char t[32], v[512], h[32];
	if (s[0] != '{' || strchr(s, '\\') || !field(s, "t", t, sizeof t))
		return -1;
	if (!strcmp(t, "hello")) {
		struct stat st;
		if (!field(s, "state", v, sizeof v) || v[0] != '/' || lstat(v, &st) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != c->uid) {
			logmsg("daemon of uid %u: hello with a state dir it does not own: refused",
			       c->uid);
			return -1;
		}
		snprintf(c->state, sizeof c->state, "%s", v);
		c->hello = 1;
		make_canary(c);
		logmsg("daemon of uid %u connected (state %s)", c->uid, c->state);
		hello_reply(c);
		return 0;
	}
	if (!c->hello)
		return -1;
	if (!strcmp(t, "decide")) {
		if (!field(s, "tree", v, sizeof v) || !field(s, "hold", h, sizeof h) ||
		    !field(s, "decision", t, sizeof t))
			return -1;
		struct ww_tree *tr = tree_by_key(v);
		if (!tr || tr->uid != c->uid)
			return 0; /* unknown, ended, or another user's: ignored */
		gate_decide(tr, atoi(h), !strcmp(t, "allow"));
		return 0;
	}
	return -1;
}

/* agent_peer - the key of the agent tree process PID belongs to, "pending" when only the kernel
 * knows it yet, or NULL when it is not in an agent tree. */
static const char *agent_peer(pid_t pid)
{
	struct ww_tree *t = tree_of_tid(pid);
	if (t)
		return t->key;
	__u32 k = (__u32)pid, v;
	if (agent_tids_fd >= 0 && bpf_map_lookup_elem(agent_tids_fd, &k, &v) == 0)
		return "pending";
	return 0;
}

void ipc_accept(void)
{
	for (;;) {
		int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ucred cr;
		socklen_t l = sizeof cr;
		int i = 0;
		while (i < WW_MAX_CLIENTS && cl[i].fd >= 0)
			i++;
		if (i == WW_MAX_CLIENTS || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) {
			close(fd);
			continue;
		}
		const char *tree = agent_peer(cr.pid);
		if (tree) {
			logmsg("refused a connection from pid %d (uid %u): it belongs to agent "
			       "tree %s",
			       cr.pid, cr.uid, tree);
			close(fd);
			continue;
		}
		memset(&cl[i], 0, sizeof cl[i]);
		cl[i].fd = fd;
		cl[i].uid = cr.uid;
		cl[i].pid = cr.pid;
	}
}

void ipc_client_io(int i)
{
	struct client *c = &cl[i];
	if (c->fd < 0)
		return;
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen - 1, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		logmsg("daemon of uid %u disconnected", c->uid);
		drop(c);
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	c->in[c->inlen] = 0;
	char *nl;
	const char *tree = agent_peer(c->pid);
	if (tree) {
		logmsg("daemon of uid %u: pid %d joined agent tree %s: disconnected", c->uid,
		       c->pid, tree);
		drop(c);
		return;
	}
	while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->inlen))) {
		*nl = 0;
		if (c->in[0] && line(c, c->in) < 0) {
			logmsg("daemon of uid %u sent a bad line: disconnected", c->uid);
			drop(c);
			return;
		}
		size_t used = (size_t)(nl - c->in) + 1;
		memmove(c->in, nl + 1, c->inlen - used);
		c->inlen -= used;
	}
	if (c->inlen >= sizeof c->in - 1) {
		logmsg("daemon of uid %u: line too long: disconnected", c->uid);
		drop(c);
	}
}

int ipc_fds(int *fds, int max)
{
	int n = 0;
	for (int i = 0; i < WW_MAX_CLIENTS && n < max; i++)
		fds[n++] = cl[i].fd;
	return n;
}

void ipc_heartbeat(void)
{
	for (int i = 0; i < WW_MAX_CLIENTS; i++) {
		struct client *c = &cl[i];
		if (c->fd < 0 || !c->hello)
			continue;
		int live = 0;
		for (size_t k = 0; k < ntrees; k++)
			live += trees[k].used && trees[k].uid == c->uid;
		struct jbuf j = {0};
		jb_obj_begin(&j);
		jb_cstr(&j, "t", "hb");
		jb_int(&j, "ts", now_ms());
		jb_int(&j, "trees", live);
		jb_int(&j, "perm_events", perm_events);
		jb_int(&j, "perm_agent", perm_agent);
		jb_int(&j, "name_events", name_events);
		jb_int(&j, "shadow_files", shadow_files);
		jb_obj_end(&j);
		send_to(c, j.b, j.len);
		free(j.b);
	}
	/* wake-ups for trees with new lines, coalesced to at most one per tree per loop turn */
}
