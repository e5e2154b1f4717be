/*
 * Holds (WIRE.md §3): ask, delay, the bulk-delete gate, burst and run scopes,
 * repeat detection, and the conversation with the daemon on the socket.
 *
 * A held notification is parked: we keep a copy of the seccomp notification
 * (and a snapshot of the call for the hold line) and return to the loop
 * without answering, so only the calling thread waits. When the hold is
 * resolved, the notification is dispatched again from scratch (arguments
 * re-read, path re-resolved, policy re-run) with the resolution in force:
 * the pre-image is taken and the op performed at that moment, and a path
 * swapped while the thread waited is judged anew (a new deny still wins).
 * Resolution happens only from the loop (never inside handle()), so the
 * handler's static call state is never re-entered.
 */
#include "sup.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { REASON_RULE, REASON_BULK, REASON_REPEAT };
static const char *const reason_names[] = {"rule", "bulk", "repeat"};

struct hold {
	long long id, seq;
	struct seccomp_notif n;
	struct call c; /* snapshot (argv NULL): for the ESRCH ev line */
	long long start_ms, deadline_ms;
	enum decision asked; /* DEC_ASK or DEC_DELAY */
	int fallback;        /* DEC_ALLOW or DEC_DENY */
	int reason;
	char root[PATH_MAX]; /* burst root ("" = none) */
	long long count;
	long long behind; /* 0 = primary (has a hold line), else the primary's id */
	int no_daemon;    /* parked without a daemon connection */
	char *line;       /* primary: its hold line, re-sent verbatim after a reconnect */
};

#define MAX_HOLDS 4096
static struct hold *holds[MAX_HOLDS];
static int n_holds;
static long long hold_seq;

/* The hold being re-dispatched (its resolution applies to exactly that notification). */
static struct {
	struct hold *h;
	int outcome;
	const char *by;
	long long granted; /* hold id to journal */
} redo;

/* ---- scopes and per-process state ---- */

struct burst {
	pid_t tgid;
	char *root; /* deletes beneath it; NULL = same rule id */
	char *rule;
	int outcome;
	long long hold, last_ms;
};
#define MAX_BURSTS 256
static struct burst bursts[MAX_BURSTS];

struct runscope {
	char *rule;
	int outcome;
	long long hold;
};
#define MAX_RUNSCOPES 256
static struct runscope runscopes[MAX_RUNSCOPES];
static int n_runscopes;

/* delay-per-burst state of one process */
struct pstate {
	pid_t tgid;
	long long last_del_ms, delay_hold;
};
#define MAX_PSTATE 256
static struct pstate pstates[MAX_PSTATE];

static struct pstate *pstate(pid_t tgid)
{
	struct pstate *oldest = &pstates[0];
	for (int i = 0; i < MAX_PSTATE; i++) {
		if (pstates[i].tgid == tgid)
			return &pstates[i];
		if (pstates[i].last_del_ms < oldest->last_del_ms)
			oldest = &pstates[i];
	}
	memset(oldest, 0, sizeof *oldest);
	oldest->tgid = tgid;
	return oldest;
}

static void burst_add(pid_t tgid, const char *root, const char *rule, int outcome, long long hold)
{
	long long now = now_ms();
	struct burst *b = &bursts[0];
	for (int i = 0; i < MAX_BURSTS; i++) {
		if (!bursts[i].tgid || now - bursts[i].last_ms > S.t.idle_ms) {
			b = &bursts[i];
			break;
		}
		if (bursts[i].last_ms < b->last_ms)
			b = &bursts[i];
	}
	free(b->root);
	free(b->rule);
	b->tgid = tgid;
	b->root = root && root[0] ? strdup(root) : NULL;
	b->rule = strdup(rule ? rule : "");
	b->outcome = outcome;
	b->hold = hold;
	b->last_ms = now;
}

static struct burst *burst_find(const struct call *c)
{
	long long now = now_ms();
	for (int i = 0; i < MAX_BURSTS; i++) {
		struct burst *b = &bursts[i];
		if (b->tgid != c->tgid || now - b->last_ms > S.t.idle_ms)
			continue;
		int hit = b->root ? (c->op == OP_DELETE && path_is_beneath(c->path, b->root))
		                  : (b->rule && !strcmp(b->rule, c->v.rule));
		if (hit) {
			b->last_ms = now;
			return b;
		}
	}
	return NULL;
}

static void runscope_add(const char *rule, int outcome, long long hold)
{
	for (int i = 0; i < n_runscopes; i++)
		if (!strcmp(runscopes[i].rule, rule)) {
			runscopes[i].outcome = outcome;
			runscopes[i].hold = hold;
			return;
		}
	if (n_runscopes == MAX_RUNSCOPES)
		return;
	runscopes[n_runscopes].rule = strdup(rule);
	if (!runscopes[n_runscopes].rule)
		return;
	runscopes[n_runscopes].outcome = outcome;
	runscopes[n_runscopes++].hold = hold;
}

/* ---- created-inode set (open addressing; never shrinks) ---- */

static struct ino_key {
	unsigned long long dev, ino; /* ino 0 = empty */
} * cset;
static size_t cset_cap, cset_n;

static size_t ino_hash(unsigned long long dev, unsigned long long ino)
{
	unsigned long long h = (ino * 0x9E3779B97F4A7C15ULL) ^ (dev * 0xC2B2AE3D27D4EB4FULL);
	return (size_t)(h ^ (h >> 29));
}

void hold_created(dev_t dev, ino_t ino)
{
	if (!ino)
		return;
	if ((cset_n + 1) * 2 > cset_cap) {
		size_t ncap = cset_cap ? cset_cap * 2 : 4096;
		struct ino_key *nt = calloc(ncap, sizeof *nt);
		if (!nt)
			return;
		for (size_t i = 0; i < cset_cap; i++)
			if (cset[i].ino) {
				size_t k = ino_hash(cset[i].dev, cset[i].ino) & (ncap - 1);
				while (nt[k].ino)
					k = (k + 1) & (ncap - 1);
				nt[k] = cset[i];
			}
		free(cset);
		cset = nt;
		cset_cap = ncap;
	}
	size_t k = ino_hash(dev, ino) & (cset_cap - 1);
	while (cset[k].ino) {
		if (cset[k].dev == dev && cset[k].ino == ino)
			return;
		k = (k + 1) & (cset_cap - 1);
	}
	cset[k] = (struct ino_key){dev, ino};
	cset_n++;
}

static int was_created(dev_t dev, ino_t ino)
{
	if (!cset_cap)
		return 0;
	size_t k = ino_hash(dev, ino) & (cset_cap - 1);
	while (cset[k].ino) {
		if (cset[k].dev == dev && cset[k].ino == ino)
			return 1;
		k = (k + 1) & (cset_cap - 1);
	}
	return 0;
}

/* ---- bulk gate: a sliding window of deletes of pre-existing paths ---- */

static struct {
	long long ts;
	char *dir;
} * win;
static size_t win_cap, win_head, win_n;

static void win_clear(void)
{
	for (size_t i = 0; i < win_n; i++)
		free(win[(win_head + i) % win_cap].dir);
	win_head = win_n = 0;
}

/* Deepest common directory of the window's parent dirs into ROOT. */
static void win_root(char *root)
{
	strcpy(root, win[win_head % win_cap].dir);
	for (size_t i = 1; i < win_n; i++) {
		const char *d = win[(win_head + i) % win_cap].dir;
		size_t k = 0;
		while (root[k] && root[k] == d[k])
			k++;
		if (root[k] == 0 && (d[k] == '/' || d[k] == 0))
			continue;
		/* cut back to the last '/' inside the common prefix */
		while (k > 0 && root[k] != '/')
			k--;
		root[k ? k : 1] = 0;
	}
}

/* Count one delete of PATH; returns 1 (and fills ROOT/COUNT) when the gate trips. */
static int gate_count(const char *path, char *root, long long *count)
{
	if (S.t.bulk_n <= 0)
		return 0;
	size_t need = (size_t)S.t.bulk_n + 1;
	if (win_cap < need) {
		win_clear();
		free(win);
		win = calloc(need, sizeof *win);
		win_cap = win ? need : 0;
		if (!win)
			return 0;
	}
	long long now = now_ms();
	while (win_n && now - win[win_head].ts > S.t.bulk_ms) {
		free(win[win_head].dir);
		win_head = (win_head + 1) % win_cap;
		win_n--;
	}
	char *dir = strdup(path);
	if (!dir)
		return 0;
	char *sl = strrchr(dir, '/');
	if (sl)
		sl[sl == dir ? 1 : 0] = 0;
	size_t slot = (win_head + win_n) % win_cap;
	win[slot].ts = now;
	win[slot].dir = dir;
	win_n++;
	if ((long long)win_n <= S.t.bulk_n)
		return 0;
	win_root(root);
	*count = (long long)win_n;
	win_clear();
	return 1;
}

/* ---- the socket to the daemon ---- */

static char *sout;
static size_t sout_len, sout_cap;
static char sin[65536];
static size_t sin_len;

/*
 * Reconnecting (WIRE.md §3 "Daemon restarts"): after the connection breaks we
 * try again with a non-blocking connect, 50 ms after the loss and then with
 * doubling waits capped at 1 s, for as long as the run lives. Pending asks keep
 * waiting meanwhile, for at most RECONNECT_GRACE_MS after the loss (or their
 * own deadline, whichever is first), then take their fallback ("no-daemon").
 */
#define RECONNECT_MIN_MS   50
#define RECONNECT_MAX_MS   1000
#define RECONNECT_GRACE_MS 30000
static int had_daemon;    /* a connection existed once: reconnect after a loss */
static long long lost_at; /* when the connection broke; 0 while connected */
static long long next_try, backoff;

static void sock_lost(void)
{
	if (S.sock_fd >= 0)
		close(S.sock_fd);
	S.sock_fd = -1;
	sout_len = 0;
	sin_len = 0;
	if (had_daemon && !lost_at) {
		lost_at = now_ms();
		backoff = RECONNECT_MIN_MS;
		next_try = lost_at + backoff;
	}
}

/* 1 while asks may wait for a reconnect (the loss is recent), else 0. */
static int in_grace(long long now)
{
	return S.sock_fd < 0 && lost_at && now - lost_at < RECONNECT_GRACE_MS;
}

void sock_flush(void)
{
	while (S.sock_fd >= 0 && sout_len) {
		ssize_t n = send(S.sock_fd, sout, sout_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the loop polls for POLLOUT */
		if (n <= 0) {
			sock_lost();
			return;
		}
		memmove(sout, sout + n, sout_len - (size_t)n);
		sout_len -= (size_t)n;
	}
}

void sock_drain(int ms)
{
	long long end = now_ms() + ms;
	while (sock_pending()) {
		long long left = end - now_ms();
		if (left <= 0)
			return;
		struct pollfd p = {.fd = S.sock_fd, .events = POLLOUT};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return;
		sock_flush();
	}
}

int sock_pending(void)
{
	return S.sock_fd >= 0 && sout_len > 0;
}

void sock_queue(const char *s, size_t n)
{
	if (S.sock_fd < 0)
		return;
	/* a wake-up is redundant while anything is still queued */
	if (n == 1 && s[0] == '\n' && sout_len)
		return;
	if (sout_len + n > sout_cap) {
		size_t nc = (sout_len + n) * 2;
		if (nc > (64u << 20)) {
			/* the daemon stopped reading: treat it as gone */
			ev_fault("daemon socket backlog over 64 MiB: disconnected");
			sock_lost();
			return;
		}
		char *nb = realloc(sout, nc);
		if (!nb)
			return;
		sout = nb;
		sout_cap = nc;
	}
	memcpy(sout + sout_len, s, n);
	sout_len += n;
	sock_flush();
}

static void sock_json(struct jbuf *j)
{
	if (!j->oom)
		sock_queue(j->b, j->len);
	free(j->b);
}

/* Lines the daemon must see again after a reconnect: every pending primary hold. */
static void resend_holds(void)
{
	for (int i = 0; i < n_holds && S.sock_fd >= 0; i++) {
		struct hold *h = holds[i];
		if (h->behind || !h->line)
			continue;
		h->no_daemon = 0;
		sock_queue(h->line, strlen(h->line));
	}
}

int sock_connect(void)
{
	if (S.sock_fd >= 0)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!S.t.socket || strlen(S.t.socket) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, S.t.socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* a unix stream connect never waits: it succeeds, or fails with ENOENT,
	 * ECONNREFUSED or EAGAIN (backlog full), all of which mean "later" */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		return -1;
	}
	int again = had_daemon;
	S.sock_fd = fd;
	sout_len = 0;
	sin_len = 0;
	had_daemon = 1;
	lost_at = 0;
	char hello[64];
	int n = snprintf(hello, sizeof hello, "{\"t\":\"hello\",\"run\":%lld}\n", S.t.run);
	sock_queue(hello, (size_t)n);
	if (again)
		resend_holds();
	return S.sock_fd >= 0 ? 0 : -1;
}

void sock_retry(void)
{
	if (S.sock_fd >= 0 || !had_daemon)
		return;
	long long now = now_ms();
	if (now < next_try)
		return;
	if (sock_connect() == 0)
		return;
	backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
	next_try = now + backoff;
}

static void send_resolved(const struct hold *h, int outcome, const char *by)
{
	if (S.sock_fd < 0 || h->behind)
		return;
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "resolved");
	jb_int(&j, "hold", h->id);
	jb_cstr(&j, "decision", outcome == DEC_ALLOW ? "allow" : "deny");
	jb_cstr(&j, "by", by);
	jb_obj_end(&j);
	sock_json(&j);
}

static void send_hold(struct hold *h, char *const *argv)
{
	const struct call *c = &h->c;
	char cwd[PATH_MAX];
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "hold");
	jb_int(&j, "hold", h->id);
	jb_int(&j, "seq", h->seq);
	jb_int(&j, "ts", h->start_ms);
	jb_int(&j, "pid", c->tgid);
	jb_int(&j, "tid", c->tid);
	jb_cstr(&j, "op", op_name(c->op));
	jb_cstr(&j, "sys", c->sys);
	jb_cstr(&j, "path", c->path);
	jb_cstr(&j, "path2", c->has_path2 ? c->path2 : NULL);
	jb_cstr(&j, "decision", h->asked == DEC_ASK ? "ask" : "delay");
	jb_cstr(&j, "rule", c->v.rule);
	jb_cstr(&j, "band", c->v.band);
	jb_int(&j, "deadline_ms", h->deadline_ms);
	jb_cstr(&j, "fallback", h->fallback == DEC_ALLOW ? "allow" : "deny");
	jb_cstr(&j, "reason", reason_names[h->reason]);
	if (h->reason == REASON_BULK) {
		jb_key(&j, "burst");
		jb_obj_begin(&j);
		jb_cstr(&j, "root", h->root);
		jb_int(&j, "count", h->count);
		jb_append(&j, "}", 1);
	} else
		jb_raw(&j, "burst", "null");
	if (argv)
		jb_argv(&j, "argv", argv);
	else {
		char buf[8192], *v[256];
		jb_argv(&j, "argv", read_cmdline(c->tgid, buf, sizeof buf, v, 256));
	}
	jb_cstr(&j, "cwd", proc_cwd(c->tid, cwd) ? NULL : cwd);
	jb_obj_end(&j);
	if (j.oom) {
		free(j.b);
		return;
	}
	/* kept (NUL-terminated) for a re-send after a daemon restart */
	h->line = malloc(j.len + 1);
	if (h->line) {
		memcpy(h->line, j.b, j.len);
		h->line[j.len] = 0;
	}
	sock_json(&j);
}

/* ---- parking and resolving ---- */

static void annotate(struct call *c, int outcome, long long hold, const char *by, long long held)
{
	if (!c->held)
		c->held = (int)c->v.decision + 1;
	c->v.decision = outcome;
	c->hold_id = hold;
	c->by = by;
	c->held_ms = held;
}

static struct hold *find_hold(long long id)
{
	for (int i = 0; i < n_holds; i++)
		if (holds[i]->id == id)
			return holds[i];
	return NULL;
}

/* Park C. Returns 0 (c->parked set), or -1 when it cannot be parked (table full). */
static int park(struct call *c, enum decision asked, int reason, long long wait_ms, int fallback,
                const char *root, long long count, long long behind)
{
	if (n_holds == MAX_HOLDS) {
		ev_fault("too many held syscalls: %s %s takes its fallback", c->sys, c->path);
		return -1;
	}
	struct hold *h = calloc(1, sizeof *h);
	if (!h)
		return -1;
	h->id = ++hold_seq;
	if (!c->seq)
		c->seq = ev_next_seq();
	h->seq = c->seq;
	h->n = *c->n;
	h->c = *c;
	h->c.n = &h->n;
	h->c.argv = NULL;
	h->start_ms = now_ms();
	h->deadline_ms = h->start_ms + wait_ms;
	h->asked = asked;
	h->fallback = fallback;
	h->reason = reason;
	if (root)
		snprintf(h->root, sizeof h->root, "%s", root);
	h->count = count;
	h->behind = behind;
	h->no_daemon = S.sock_fd < 0;
	holds[n_holds++] = h;
	c->parked = 1;
	if (!behind)
		send_hold(h, c->argv); /* queued only while connected; kept for a reconnect */
	return 0;
}

/* Answer H's notification with OUTCOME by dispatching it again. */
static void redo_one(struct hold *h, int outcome, const char *by, long long granted)
{
	long long held = now_ms() - h->start_ms;
	if (!notif_valid(&h->c)) {
		/* the target died or was interrupted while it waited */
		struct call *c = &h->c;
		annotate(c, outcome, granted, by, held);
		ev_emit(c, ESRCH);
		return;
	}
	redo.h = h;
	redo.outcome = outcome;
	redo.by = by;
	redo.granted = granted;
	S.redo_seq = h->seq;
	last_resp_err = 0;
	handle(&h->n);
	if (S.redo_seq) {
		/* answered before any event was written (e.g. the path no longer
		 * resolves): a held event still gets its one ev line */
		struct call *c = &h->c;
		annotate(c, outcome, granted, by, held);
		ev_emit(c, last_resp_err);
	}
	S.redo_seq = 0;
	redo.h = NULL;
}

static void drop(struct hold *h)
{
	for (int i = 0; i < n_holds; i++)
		if (holds[i] == h) {
			holds[i] = holds[--n_holds];
			return;
		}
}

/* Resolve primary H (and everything parked behind it). SCOPE: 0 once, 1 burst, 2 run. */
static void resolve(struct hold *h, int outcome, const char *by, int scope)
{
	drop(h);
	send_resolved(h, outcome, by);
	const struct call *c = &h->c;
	int is_del = c->op == OP_DELETE;
	if (h->reason == REASON_BULK && scope == 0)
		scope = 1; /* approve/deny of the gate covers the rest of the burst */
	if (h->reason == REASON_BULK && scope == 2)
		scope = 1;
	if (scope == 1) {
		char dir[PATH_MAX];
		const char *root = h->root;
		if (is_del && !root[0]) {
			snprintf(dir, sizeof dir, "%s", c->path);
			char *sl = strrchr(dir, '/');
			if (sl)
				sl[sl == dir ? 1 : 0] = 0;
			root = dir;
		}
		burst_add(c->tgid, is_del ? root : NULL, c->v.rule, outcome, h->id);
	} else if (scope == 2)
		runscope_add(c->v.rule, outcome, h->id);
	if (h->asked == DEC_DELAY && is_del && outcome == DEC_ALLOW) {
		struct pstate *p = pstate(c->tgid);
		p->delay_hold = h->id;
		p->last_del_ms = now_ms();
	}
	redo_one(h, outcome, by, h->id);
	/* then the ones parked behind it, in arrival order */
	for (;;) {
		struct hold *first = NULL;
		for (int i = 0; i < n_holds; i++)
			if (holds[i]->behind == h->id && (!first || holds[i]->id < first->id))
				first = holds[i];
		if (!first)
			break;
		drop(first);
		redo_one(first, outcome, "policy", h->id);
		free(first->line);
		free(first);
	}
	free(h->line);
	free(h);
}

/* When primary H must end by itself: its deadline, or sooner for an ask while no
 * daemon is connected (at once if none ever was, else when the grace runs out). */
static long long due_ms(const struct hold *h)
{
	long long d = h->deadline_ms;
	if (h->asked == DEC_ASK && S.sock_fd < 0) {
		long long g = lost_at ? lost_at + RECONNECT_GRACE_MS : 0;
		if (g < d)
			d = g;
	}
	return d;
}

int hold_timeout(void)
{
	long long best = -1, now = now_ms();
	if (S.sock_fd < 0 && had_daemon)
		best = next_try > now ? next_try - now : 0;
	for (int i = 0; i < n_holds; i++) {
		const struct hold *h = holds[i];
		if (h->behind)
			continue;
		long long d = due_ms(h) - now;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best > 1000000 ? 1000000 : (int)best;
}

void hold_tick(void)
{
	for (;;) {
		long long now = now_ms();
		struct hold *due = NULL;
		for (int i = 0; i < n_holds && !due; i++) {
			struct hold *h = holds[i];
			if (h->behind)
				continue;
			if (now >= due_ms(h))
				due = h;
		}
		if (!due)
			return;
		int lost = now < due->deadline_ms || due->no_daemon ||
		           (due->asked == DEC_ASK && S.sock_fd < 0);
		/* a bulk fallback covers the rest of that burst */
		resolve(due, due->fallback, lost ? "no-daemon" : "timeout",
		        due->reason == REASON_BULK ? 1 : 0);
	}
}

void hold_end(void)
{
	/* the agent is gone: every parked notification is answered (the kernel
	 * says ENOENT) and journaled with ESRCH */
	while (n_holds) {
		struct hold *h = holds[0];
		if (!h->behind) {
			resolve(h, h->fallback, "timeout", 0);
			continue;
		}
		drop(h);
		redo_one(h, h->fallback, "policy", h->behind);
		free(h->line);
		free(h);
	}
}

/* ---- judging ---- */

/* Burst root of a delete by a recursive-delete process: the target containing PATH. */
static void delete_root(const struct call *c, char *root)
{
	root[0] = 0;
	static char buf[65536];
	char *v[1024], cwd[PATH_MAX], res[PATH_MAX];
	const char *targets[16];
	read_cmdline(c->tgid, buf, sizeof buf, v, 1024);
	int nt = policy_recursive_delete(v, targets, 16);
	if (nt <= 0 || proc_cwd(c->tid, cwd))
		return;
	for (int i = 0; i < nt; i++)
		if (!policy_resolve_target(cwd, targets[i], res) && path_is_beneath(c->path, res) &&
		    strlen(res) > 1) {
			strcpy(root, res);
			return;
		}
}

static long long rule_timeout(const struct call *c)
{
	return c->v.r && c->v.r->timeout_ms >= 0 ? c->v.r->timeout_ms : S.t.ask_timeout_ms;
}

static int rule_fallback(const struct call *c)
{
	return c->v.r && c->v.r->fallback >= 0 ? c->v.r->fallback : DEC_DENY;
}

/* Start an ask for C now; without a daemon it takes its fallback at once. */
static void ask(struct call *c, int reason, const char *root, long long count)
{
	int fb = rule_fallback(c);
	if (S.sock_fd < 0)
		sock_connect(); /* a daemon may be back before the retry timer says so */
	if (S.sock_fd < 0 && !in_grace(now_ms())) {
		annotate(c, fb, ++hold_seq, "no-daemon", 0);
		if (reason == REASON_BULK)
			burst_add(c->tgid, root, c->v.rule, fb, c->hold_id);
		return;
	}
	if (park(c, DEC_ASK, reason, rule_timeout(c), fb, root, count, 0))
		annotate(c, fb, ++hold_seq, "no-daemon", 0);
}

/* Repeat detection: 1 if this exec is the repeat-th identical one in a row. */
static int repeat_hit(char *const *argv)
{
	static char *last;
	static size_t last_len;
	static long long count;
	if (S.t.repeat <= 0 || !argv)
		return 0;
	size_t len = 0;
	for (char *const *a = argv; *a; a++)
		len += strlen(*a) + 1;
	char *cur = malloc(len + 1);
	if (!cur)
		return 0;
	size_t o = 0;
	for (char *const *a = argv; *a; a++) {
		size_t l = strlen(*a) + 1;
		memcpy(cur + o, *a, l);
		o += l;
	}
	if (last && last_len == len && !memcmp(last, cur, len)) {
		free(cur);
		count++;
	} else {
		free(last);
		last = cur;
		last_len = len;
		count = 1;
	}
	if (count >= S.t.repeat) {
		count = 0;
		return 1;
	}
	return 0;
}

void hold_judge(struct call *c)
{
	enum decision d = c->v.decision;
	if (redo.h && redo.h->n.id == c->n->id) {
		const struct call *was = &redo.h->c;
		c->held = (int)redo.h->asked + 1;
		if (d == DEC_DENY) /* the policy now denies it (the path resolves elsewhere) */
			return annotate(c, DEC_DENY, redo.granted, redo.by,
			                now_ms() - redo.h->start_ms);
		if (strcmp(c->path, was->path) || c->has_path2 != was->has_path2 ||
		    (c->has_path2 && strcmp(c->path2, was->path2)) || c->op != was->op) {
			/* the arguments changed while the thread waited: the answer was
			 * for another event, so this one is refused */
			ev_fault("%s %s changed while held (hold %lld): refused", c->sys, was->path,
			         redo.h->id);
			annotate(c, DEC_DENY, redo.granted, redo.by, now_ms() - redo.h->start_ms);
			return;
		}
		if (redo.h->reason == REASON_REPEAT)
			c->v = redo.h->c.v;
		annotate(c, redo.outcome, redo.granted, redo.by, now_ms() - redo.h->start_ms);
		return;
	}
	if (d == DEC_DENY)
		return;
	int is_del = c->op == OP_DELETE;
	int created = is_del && c->have_ino && was_created(c->dev, c->ino);
	long long now = now_ms();
	struct pstate *ps = is_del ? pstate(c->tgid) : NULL;
	long long prev_del = ps ? ps->last_del_ms : 0;
	if (ps)
		ps->last_del_ms = now;

	if (d == DEC_ASK || d == DEC_DELAY) {
		for (int i = 0; i < n_runscopes; i++)
			if (!strcmp(runscopes[i].rule, c->v.rule))
				return annotate(c, runscopes[i].outcome, runscopes[i].hold,
				                "policy", 0);
	}
	if (d != DEC_STEER || !is_del) {
		struct burst *b = burst_find(c);
		if (b && (is_del || d == DEC_ASK || d == DEC_DELAY))
			return annotate(c, b->outcome, b->hold, "policy", 0);
	}
	if (is_del && d != DEC_STEER) {
		/* parked behind a pending hold of the same process (a steered delete
		 * goes to the trash at once: it is reversible) */
		for (int i = 0; i < n_holds; i++) {
			struct hold *h = holds[i];
			if (h->behind || h->c.tgid != c->tgid || h->c.op != OP_DELETE)
				continue;
			if (h->reason == REASON_BULK ? path_is_beneath(c->path, h->root)
			                             : h->asked == DEC_DELAY) {
				if (park(c, h->asked, h->reason, 0, h->fallback, h->root, 0,
				         h->id) == 0)
					return;
			}
		}
	}
	if (is_del && !created && (d == DEC_ALLOW || d == DEC_DELAY)) {
		char root[PATH_MAX];
		long long count;
		if (gate_count(c->path, root, &count)) {
			c->v.decision = DEC_ASK;
			return ask(c, REASON_BULK, root, count);
		}
	}
	if (d == DEC_DELAY) {
		if (created)
			return annotate(c, DEC_ALLOW, 0, NULL, 0);
		if (is_del && ps->delay_hold && now - prev_del <= S.t.idle_ms)
			return annotate(c, DEC_ALLOW, ps->delay_hold, "policy", 0);
		char root[PATH_MAX] = "";
		if (is_del)
			delete_root(c, root);
		long long ms =
		    c->v.r && c->v.r->delay_ms >= 0 ? c->v.r->delay_ms : S.t.delete_delay_ms;
		if (park(c, DEC_DELAY, REASON_RULE, ms, DEC_ALLOW, root, 0, 0))
			annotate(c, DEC_ALLOW, 0, NULL, 0);
		return;
	}
	if (d == DEC_ASK)
		return ask(c, REASON_RULE, NULL, 0);
	/* Only the agent's own tool calls count: execs by the agent process itself
	 * or its direct children (an agent's shell tool runs `bash -c CMD`). A
	 * build script's inner loop (grandchildren) must never ask a person. */
	if (d == DEC_ALLOW && c->op == OP_EXEC && (c->tgid == S.child || c->ts.ppid == S.child) &&
	    repeat_hit(c->argv)) {
		c->v = (struct verdict){DEC_ASK, "builtin-repeat", "builtin", NULL};
		return ask(c, REASON_REPEAT, NULL, 0);
	}
}

/* ---- reading decide lines ---- */

/* Minimal strict parser for one flat JSON object of string and integer values. */
struct kv {
	char key[32];
	char str[64];
	long long num;
	int is_num;
};

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *jstring(const char *p, char *out, size_t cap)
{
	if (*p != '"')
		return NULL;
	size_t n = 0;
	for (p++; *p != '"'; p++) {
		if (!*p || *p == '\\' || (unsigned char)*p < 0x20 || n + 1 >= cap)
			return NULL; /* no escapes in any valid decide field */
		out[n++] = *p;
	}
	out[n] = 0;
	return p + 1;
}

static int parse_flat(const char *p, struct kv *kv, int max)
{
	int n = 0;
	p = ws(p);
	if (*p++ != '{')
		return -1;
	p = ws(p);
	if (*p == '}')
		return ws(p + 1)[0] ? -1 : 0;
	for (;;) {
		if (n == max)
			return -1;
		p = jstring(ws(p), kv[n].key, sizeof kv[n].key);
		if (!p)
			return -1;
		p = ws(p);
		if (*p++ != ':')
			return -1;
		p = ws(p);
		if (*p == '"') {
			p = jstring(p, kv[n].str, sizeof kv[n].str);
			if (!p)
				return -1;
			kv[n].is_num = 0;
		} else {
			char *end;
			errno = 0;
			if (!(*p >= '0' && *p <= '9'))
				return -1;
			kv[n].num = strtoll(p, &end, 10);
			if (errno || end == p)
				return -1;
			p = end;
			kv[n].is_num = 1;
		}
		for (int i = 0; i < n; i++)
			if (!strcmp(kv[i].key, kv[n].key))
				return -1;
		n++;
		p = ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return -1;
		return ws(p)[0] ? -1 : n;
	}
}

static void bad(const char *line, const char *why)
{
	ev_fault("invalid message from the daemon (%s): %.200s", why, line);
}

static void on_line(char *line)
{
	struct kv kv[8];
	int n = parse_flat(line, kv, 8);
	if (n < 0)
		return bad(line, "not a flat JSON object");
	const char *t = NULL, *dec = NULL, *scope = NULL, *by = NULL;
	long long id = -1;
	for (int i = 0; i < n; i++) {
		const char *k = kv[i].key;
		if (!strcmp(k, "hold") && kv[i].is_num)
			id = kv[i].num;
		else if (kv[i].is_num)
			return bad(line, "unexpected number field");
		else if (!strcmp(k, "t"))
			t = kv[i].str;
		else if (!strcmp(k, "decision"))
			dec = kv[i].str;
		else if (!strcmp(k, "scope"))
			scope = kv[i].str;
		else if (!strcmp(k, "by"))
			by = kv[i].str;
		else
			return bad(line, "unknown field");
	}
	if (!t || strcmp(t, "decide"))
		return bad(line, "t is not decide");
	if (id < 1 || !dec || !scope || !by || n != 5)
		return bad(line, "missing field");
	int outcome = !strcmp(dec, "allow") ? DEC_ALLOW : !strcmp(dec, "deny") ? DEC_DENY : -1;
	int sc = !strcmp(scope, "once")    ? 0
	         : !strcmp(scope, "burst") ? 1
	         : !strcmp(scope, "run")   ? 2
	                                   : -1;
	const char *byv = !strcmp(by, "person")   ? "person"
	                  : !strcmp(by, "policy") ? "policy"
	                                          : NULL;
	if (outcome < 0 || sc < 0 || !byv)
		return bad(line, "bad value");
	struct hold *h = find_hold(id);
	if (!h || h->behind)
		return; /* unknown or already resolved: ignored */
	resolve(h, outcome, byv, sc);
}

void sock_readable(void)
{
	while (S.sock_fd >= 0) {
		if (sin_len == sizeof sin - 1) {
			ev_fault("daemon line longer than %zu bytes: dropped", sizeof sin);
			sin_len = 0;
		}
		ssize_t r = recv(S.sock_fd, sin + sin_len, sizeof sin - 1 - sin_len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			sock_lost();
			return;
		}
		sin_len += (size_t)r;
		char *start = sin, *nl;
		while ((nl = memchr(start, '\n', sin_len - (size_t)(start - sin)))) {
			*nl = 0;
			if (nl > start)
				on_line(start);
			start = nl + 1;
		}
		sin_len -= (size_t)(start - sin);
		memmove(sin, start, sin_len);
	}
}
