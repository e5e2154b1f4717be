/*
 * The process tree of agent runs. eBPF tp_btf sched fork/exec/exit (bpf/watch.bpf.c) report every
 * exec and the forks/exits of agent trees; an exec whose executable basename or argv matches an
 * agent selector (policy `agents:`) starts a tree, and the kernel-side `agents` map puts every
 * later child in it before it can run. Processes that were already running when the helper started
 * are found by walking /proc. Without eBPF (refused by the kernel), /proc is walked every 250 ms
 * instead (reported in status).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../common/glob.h"
#include "watch.h"
#include "watch.skel.h"
#include "ww.h"

#define PT_CAP (1 << 17)
static struct ww_proc table[PT_CAP]; /* open addressing by tid; tid 0 empty, -1 deleted */
static struct watch_bpf *skel;
int agents_map_fd = -1;
static struct ring_buffer *rb;
static unsigned next_tree;
static long long last_scan_ms;
int agent_tids_fd = -1;
unsigned char *tid_bytes; /* the mmapped `tid_bytes` map (watch.h), 0 without eBPF */
unsigned tid_bytes_n;     /* thread ids it covers */

static struct ww_proc *slot(pid_t tid, int create)
{
	unsigned h = (unsigned)tid * 2654435761u;
	struct ww_proc *tomb = 0;
	for (unsigned i = 0; i < PT_CAP; i++) {
		struct ww_proc *p = &table[(h + i) & (PT_CAP - 1)];
		if (p->tid == tid)
			return p;
		if (p->tid == -1 && !tomb)
			tomb = p;
		if (p->tid == 0) {
			if (!create)
				return 0;
			p = tomb ? tomb : p;
			memset(p, 0, sizeof *p);
			p->tid = tid;
			return p;
		}
	}
	return 0;
}

struct ww_proc *proc_find(pid_t tid)
{
	return slot(tid, 0);
}

struct ww_tree *tree_of_tid(pid_t tid)
{
	struct ww_proc *p = slot(tid, 0);
	if ((!p || !p->tree) && agent_tids_fd >= 0) {
		/* the kernel already knows a child whose fork record is still in the ring buffer */
		__u32 k = (__u32)tid, v;
		if (bpf_map_lookup_elem(agent_tids_fd, &k, &v) == 0) {
			proc_poll();
			p = slot(tid, 0);
		}
	}
	if (!p || !p->tree || p->tree > ntrees)
		return 0;
	struct ww_tree *t = &trees[p->tree - 1];
	return t->used ? t : 0;
}

struct ww_tree *tree_by_key(const char *key)
{
	for (size_t i = 0; i < ntrees; i++)
		if (trees[i].used && !strcmp(trees[i].key, key))
			return &trees[i];
	return 0;
}

/* read_file - up to CAP-1 bytes of a /proc file; returns the length or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

static pid_t ppid_of(pid_t pid)
{
	char p[64], b[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", pid);
	if (read_file(p, b, sizeof b) <= 0)
		return 0;
	char *r = strrchr(b, ')');
	int pp = 0;
	if (!r || sscanf(r + 2, "%*c %d", &pp) != 1)
		return 0;
	return pp;
}

/* selector_match - the id of the first selector matching FILE (exec path) or the NUL-separated
 * ARGS. */
static const char *selector_match(const char *file, const char *args, size_t alen)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	for (int i = 0; i < cfg.nsel; i++) {
		struct ww_selector *s = &cfg.sel[i];
		if (s->kind == 0) {
			if (glob_match_elem(s->pattern, base))
				return s->id;
			/* argv[0] as typed (a symlink named like the agent) counts as its
			 * executable name */
			const char *a0 = strrchr(args, '/');
			if (alen && glob_match_elem(s->pattern, a0 ? a0 + 1 : args))
				return s->id;
			continue;
		}
		for (size_t o = 0; o < alen;) {
			const char *a = args + o;
			size_t n = strnlen(a, alen - o);
			if (o + n < alen || a[n] == 0) {
				if (glob_match_elem(s->pattern, a))
					return s->id;
			}
			o += n + 1;
		}
	}
	return 0;
}

/* write_proc - a `proc` line (WIRE.md §2) for process TGID with parent PPID and argv ARGS. */
static void write_proc(struct ww_tree *t, pid_t tgid, pid_t ppid, const char *args, size_t alen)
{
	if (t->logfd < 0)
		return;
	char *argv[128];
	int n = 0;
	for (size_t o = 0; o < alen && n < 127;) {
		argv[n++] = (char *)args + o;
		o += strnlen(args + o, alen - o) + 1;
	}
	argv[n] = 0;
	char p[64], exe[4096], cwd[4096];
	snprintf(p, sizeof p, "/proc/%d/exe", tgid);
	ssize_t k = readlink(p, exe, sizeof exe - 1);
	exe[k > 0 ? k : 0] = 0;
	snprintf(p, sizeof p, "/proc/%d/cwd", tgid);
	k = readlink(p, cwd, sizeof cwd - 1);
	cwd[k > 0 ? k : 0] = 0;
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "proc");
	jb_int(&j, "pid", tgid);
	jb_int(&j, "ppid", ppid);
	jb_argv(&j, "argv", argv);
	jb_cstr(&j, "exe", exe[0] ? exe : 0);
	jb_cstr(&j, "cwd", cwd[0] ? cwd : 0);
	jb_int(&j, "ts", now_ms());
	jb_obj_end(&j);
	runlog_line(t, &j);
	free(j.b);
}

/* proc_log_proc - a proc line for TGID from /proc (cmdline, stat). */
void proc_log_proc(struct ww_tree *t, pid_t tgid)
{
	char p[64], args[4096];
	snprintf(p, sizeof p, "/proc/%d/cmdline", tgid);
	ssize_t n = read_file(p, args, sizeof args);
	write_proc(t, tgid, ppid_of(tgid), args, n > 0 ? (size_t)n : 0);
}

static void add_task(pid_t tid, pid_t tgid, unsigned tree)
{
	struct ww_proc *p = slot(tid, 1);
	if (!p)
		return;
	int fresh = p->tree != tree || p->tgid != tgid || p->dead_ms;
	p->dead_ms = 0;
	p->tgid = tgid;
	p->tree = tree;
	if (fresh && tid == tgid) {
		trees[tree - 1].nprocs++;
		trees[tree - 1].end_at = 0;
	}
	if (skel) {
		__u32 k = (__u32)tgid, v = tree, kt = (__u32)tid;
		if (tid == tgid)
			bpf_map_update_elem(bpf_map__fd(skel->maps.agents), &k, &v, BPF_ANY);
		bpf_map_update_elem(bpf_map__fd(skel->maps.agent_tids), &kt, &v, BPF_ANY);
		if ((unsigned)tid < tid_bytes_n)
			__atomic_fetch_or(&tid_bytes[tid], WW_TID_AGENT, __ATOMIC_SEQ_CST);
	}
}

/* new_tree - a run for agent process PID (uid UID) that matched selector SEL. */
static struct ww_tree *new_tree(pid_t pid, uid_t uid, const char *sel, const char *args,
                                size_t alen)
{
	struct ww_tree *nt = realloc(trees, (ntrees + 1) * sizeof *trees);
	if (!nt)
		return 0;
	trees = nt;
	struct ww_tree *t = &trees[ntrees++];
	memset(t, 0, sizeof *t);
	t->used = 1;
	t->id = (unsigned)ntrees;
	next_tree = t->id;
	snprintf(t->key, sizeof t->key, "%lld-%u", helper_start_s, t->id);
	t->uid = uid;
	t->root_pid = pid;
	t->dirfd = t->stagefd = t->logfd = -1;
	t->hold_id = 0;
	logmsg("agent tree %s: pid %d uid %u matched selector %s", t->key, pid, uid, sel);
	runlog_open(t, 0);
	add_task(pid, pid, t->id);
	write_proc(t, pid, ppid_of(pid), args, alen);
	ipc_tree(t);
	return t;
}

/* Adopts every descendant of the tree roots that the kernel map may have missed (started before the
 * map entry was written, or before the helper started). */
static void adopt_descendants(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	pid_t pids[32768], pp[32768];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 32768) {
		pid_t pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		pids[n] = pid;
		pp[n++] = ppid_of(pid);
	}
	closedir(d);
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			struct ww_proc *me = slot(pids[i], 0);
			struct ww_proc *par = pp[i] ? slot(pp[i], 0) : 0;
			if ((!me || !me->tree) && par && par->tree && par->tid == par->tgid) {
				struct ww_tree *t = &trees[par->tree - 1];
				if (!t->used)
					continue;
				add_task(pids[i], pids[i], par->tree);
				proc_log_proc(t, pids[i]);
				changed = 1;
			}
		}
	}
	/* threads of tree processes */
	for (int i = 0; i < n; i++) {
		struct ww_proc *me = slot(pids[i], 0);
		if (!me || !me->tree)
			continue;
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/task", pids[i]);
		DIR *td = opendir(p);
		if (!td)
			continue;
		while ((de = readdir(td)))
			if (atoi(de->d_name) > 0 && atoi(de->d_name) != pids[i])
				add_task(atoi(de->d_name), pids[i], me->tree);
		closedir(td);
	}
}

static void check_exec(pid_t tgid, uid_t uid, const char *file, const char *args, size_t alen)
{
	struct ww_proc *p = slot(tgid, 0);
	if (p && p->tree && !p->dead_ms) {
		struct ww_tree *t = &trees[p->tree - 1];
		if (t->used)
			write_proc(t, tgid, ppid_of(tgid), args, alen);
		return;
	}
	const char *sel = selector_match(file, args, alen);
	if (!sel)
		return;
	/* a descendant of an agent that the map missed joins that tree instead */
	for (pid_t a = ppid_of(tgid), depth = 0; a > 1 && depth < 64; a = ppid_of(a), depth++) {
		struct ww_proc *ap = slot(a, 0);
		if (ap && ap->tree && trees[ap->tree - 1].used) {
			add_task(tgid, tgid, ap->tree);
			write_proc(&trees[ap->tree - 1], tgid, ppid_of(tgid), args, alen);
			return;
		}
	}
	new_tree(tgid, uid, sel, args, alen);
	adopt_descendants();
}

static void task_gone(pid_t tid, int whole, int code)
{
	struct ww_proc *p = slot(tid, 0);
	if (!p || !p->tree || p->dead_ms)
		return;
	/* the leader thread ended but the process lives on (a thread that execs takes the leader's
	 * id, after the leader's exit): the id stays the process's */
	if (!whole && tid == p->tgid)
		return;
	struct ww_tree *t = &trees[p->tree - 1];
	pid_t tgid = p->tgid;
	long long now = now_ms();
	p->dead_ms = now;
	if (!whole)
		return;
	if (tid != tgid) {
		struct ww_proc *g = slot(tgid, 0);
		if (g && !g->dead_ms)
			g->dead_ms = now;
	}
	if (tgid == t->root_pid) {
		t->exit_status = (code >> 8) & 0xff;
		t->exit_signal = code & 0x7f;
	}
	/* name events of the tree's last moments may still be queued: end the run a little later */
	if (--t->nprocs <= 0 && t->used)
		t->end_at = now + 300;
}

void proc_tick(void)
{
	long long now = now_ms();
	for (size_t i = 0; i < ntrees; i++) {
		struct ww_tree *t = &trees[i];
		if (t->used && t->end_at && now >= t->end_at && t->nprocs <= 0) {
			fan_name_poll();
			runlog_end(t);
		}
	}
	static long long last_sweep;
	if (now - last_sweep < 1000)
		return;
	last_sweep = now;
	for (unsigned h = 0; h < PT_CAP; h++)
		if (table[h].tid > 0 && table[h].dead_ms && now - table[h].dead_ms > 2000)
			table[h].tid = -1;
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len < sizeof(struct ww_event))
		return 0;
	const struct ww_event *e = data;
	switch (e->kind) {
	case WW_FORK:
		if (e->tree && e->tree <= ntrees && trees[e->tree - 1].used) {
			add_task((pid_t)e->tid, (pid_t)e->tgid, e->tree);
			if (e->tid == e->tgid)
				proc_log_proc(&trees[e->tree - 1], (pid_t)e->tgid);
		}
		break;
	case WW_EXEC:
		check_exec((pid_t)e->tgid, e->uid, e->file, e->args,
		           e->args_len > WW_ARGS_MAX ? WW_ARGS_MAX : e->args_len);
		break;
	case WW_EXIT:
		task_gone((pid_t)e->tid, e->args_len == 1, e->exit_code);
		break;
	}
	return 0;
}

/*
 * proc_scan - walks /proc: processes matching a selector whose ancestors do not start trees; their
 * descendants join them. Without eBPF, also ends trees whose processes are gone.
 */
void proc_scan(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid = atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		struct ww_proc *p = slot(pid, 0);
		if (p && p->tree)
			continue;
		char path[64], args[WW_ARGS_MAX + 1], exe[4096];
		snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
		ssize_t n = read_file(path, args, sizeof args);
		if (n <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/exe", pid);
		ssize_t k = readlink(path, exe, sizeof exe - 1);
		exe[k > 0 ? k : 0] = 0;
		char st[2048];
		snprintf(path, sizeof path, "/proc/%d/status", pid);
		uid_t uid = 0;
		if (read_file(path, st, sizeof st) > 0) {
			char *u = strstr(st, "\nUid:");
			if (u)
				uid = (uid_t)strtoul(u + 5, 0, 10);
		}
		check_exec(pid, uid, exe, args, (size_t)n);
	}
	closedir(d);
	if (!bpf_active) {
		for (size_t i = 0; i < ntrees; i++) {
			struct ww_tree *t = &trees[i];
			if (!t->used)
				continue;
			for (unsigned h = 0; h < PT_CAP; h++) {
				struct ww_proc *p = &table[h];
				if (p->tid > 0 && p->tree == t->id && p->tid == p->tgid &&
				    kill(p->tid, 0) < 0 && errno == ESRCH)
					task_gone(p->tid, 1, 0);
			}
		}
		adopt_descendants();
	}
	last_scan_ms = now_ms();
}

int proc_init(void)
{
	if (cfg.no_bpf) {
		snprintf(bpf_why, sizeof bpf_why, "off in the config (no_bpf)");
		return -1;
	}
	libbpf_set_print(0);
	skel = watch_bpf__open();
	if (!skel) {
		snprintf(bpf_why, sizeof bpf_why, "open failed: %s", strerror(errno));
		return -1;
	}
	/* tid_bytes covers every id up to pid_max (a tid beyond it, after pid_max was raised, is
	 * looked up in agent_tids) */
	char pm[32];
	long pid_max = read_file("/proc/sys/kernel/pid_max", pm, sizeof pm) > 0 ? atol(pm) : 0;
	if (pid_max <= 0 || pid_max > (1L << 22))
		pid_max = 1L << 22;
	unsigned spans = (unsigned)((pid_max + WW_TID_SPAN - 1) / WW_TID_SPAN);
	bpf_map__set_max_entries(skel->maps.tid_bytes, spans);
	if (watch_bpf__load(skel)) {
		snprintf(bpf_why, sizeof bpf_why, "load refused: %s", strerror(errno));
		watch_bpf__destroy(skel);
		skel = 0;
		return -1;
	}
	if (watch_bpf__attach(skel)) {
		snprintf(bpf_why, sizeof bpf_why, "attach refused: %s", strerror(errno));
		watch_bpf__destroy(skel);
		skel = 0;
		return -1;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, 0, 0);
	if (!rb) {
		snprintf(bpf_why, sizeof bpf_why, "ring buffer: %s", strerror(errno));
		watch_bpf__destroy(skel);
		skel = 0;
		return -1;
	}
	bpf_active = 1;
	agent_tids_fd = bpf_map__fd(skel->maps.agent_tids);
	agents_map_fd = bpf_map__fd(skel->maps.agents);
	size_t len = (size_t)spans * WW_TID_SPAN;
	void *m =
	    mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel->maps.tid_bytes), 0);
	if (m == MAP_FAILED) {
		logmsg("tid map mmap: %s (the permission thread asks agent_tids instead)",
		       strerror(errno));
	} else {
		tid_bytes = m;
		__atomic_store_n(&tid_bytes_n, spans * WW_TID_SPAN, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < cfg.nsel; i++) {
		const char *pat = cfg.sel[i].pattern;
		if (cfg.sel[i].kind != 0 || strpbrk(pat, "*?[\\"))
			continue;
		char comm[16] = {0};
		strncpy(comm, pat, 15);
		__u32 one = 1;
		bpf_map_update_elem(bpf_map__fd(skel->maps.agent_comms), comm, &one, BPF_ANY);
	}
	return ring_buffer__epoll_fd(rb);
}

void proc_poll(void)
{
	if (rb)
		ring_buffer__consume(rb);
	else if (now_ms() - last_scan_ms >= 250)
		proc_scan();
}

int proc_tree_pids(struct ww_tree *t, pid_t *out, int max)
{
	int n = 0;
	for (unsigned h = 0; h < PT_CAP && n < max; h++)
		if (table[h].tid > 0 && table[h].tree == t->id && table[h].tid == table[h].tgid)
			out[n++] = table[h].tid;
	return n;
}

void proc_kill_tree(struct ww_tree *t, int sig)
{
	pid_t pids[4096];
	int n = proc_tree_pids(t, pids, 4096);
	for (int i = 0; i < n; i++)
		kill(pids[i], sig);
}
