/*
 * The bulk-delete gate of watch mode. Deletes are seen only after the fact (no fanotify permission
 * event for unlink), so the gate cannot hold one syscall as warden-supervise does (WIRE.md §3):
 * when more than `bulk_count` deletes of files the run did not create happen within
 * `bulk_window_ms`, the whole agent tree is frozen — moved into its own cgroup v2 and frozen
 * through cgroup.freeze (PLATFORM.md: cgroup v2 is at /sys/fs/cgroup/unified on these machines),
 * SIGSTOP when that fails — and one `ask` hold goes to the user's daemon. Approve thaws it (the
 * rest of the burst proceeds); deny, timeout or no daemon thaw it after SIGKILL (`bulk_deny kill`,
 * the default) or just thaw it (`bulk_deny thaw`). What was deleted before the freeze is restorable
 * from the shadow.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ww.h"

char freezer_kind[32] = "none";
static char cg_base[256];
#define BURST_IDLE_MS 5000

void gate_init(void)
{
	const char *cands[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	for (int i = 0; i < 2; i++) {
		struct statfs sf;
		if (statfs(cands[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(cg_base, sizeof cg_base, "%s/warden-watch", cands[i]);
			if (mkdir(cg_base, 0755) == 0 || errno == EEXIST) {
				snprintf(freezer_kind, sizeof freezer_kind, "cgroup2");
				return;
			}
		}
	}
	cg_base[0] = 0;
	snprintf(freezer_kind, sizeof freezer_kind, "sigstop");
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void cg_of(pid_t pid, char *out, size_t len)
{
	char p[64], b[4096];
	snprintf(p, sizeof p, "/proc/%d/cgroup", pid);
	out[0] = 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return;
	b[n] = 0;
	char *l = strstr(b, "0::");
	if (l && (l == b || l[-1] == '\n')) {
		l += 3;
		l[strcspn(l, "\n")] = 0;
		snprintf(out, len, "%s", l);
	}
}

/* freeze - stops every process of T. Returns 0 (cgroup) or 1 (SIGSTOP). */
static int freeze(struct ww_tree *t)
{
	pid_t pids[4096];
	if (cg_base[0]) {
		char dir[PATH_MAX], f[PATH_MAX + 32], num[32];
		snprintf(dir, sizeof dir, "%s/%s", cg_base, t->key);
		if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
			int moved = 0;
			cg_of(t->root_pid, t->cg_orig, sizeof t->cg_orig);
			snprintf(f, sizeof f, "%s/cgroup.procs", dir);
			for (int pass = 0; pass < 2; pass++) {
				int n = proc_tree_pids(t, pids, 4096);
				for (int i = 0; i < n; i++) {
					snprintf(num, sizeof num, "%d", pids[i]);
					if (write_str(f, num) == 0)
						moved++;
				}
			}
			snprintf(f, sizeof f, "%s/cgroup.freeze", dir);
			if (moved && write_str(f, "1") == 0)
				return 0;
			logmsg("tree %s: cgroup freeze failed (%s): SIGSTOP instead", t->key,
			       strerror(errno));
		}
	}
	proc_kill_tree(t, SIGSTOP);
	return 1;
}

static void thaw(struct ww_tree *t, int kill_it)
{
	if (kill_it)
		proc_kill_tree(t, SIGKILL);
	proc_kill_tree(t, SIGCONT);
	if (!cg_base[0])
		return;
	char dir[PATH_MAX], f[PATH_MAX + 32], back[PATH_MAX + 32], num[32];
	snprintf(dir, sizeof dir, "%s/%s", cg_base, t->key);
	snprintf(f, sizeof f, "%s/cgroup.freeze", dir);
	if (write_str(f, "0") < 0)
		return;
	/* back where the tree came from, so session tracking (systemd scopes) stays right */
	const char *root = strstr(cg_base, "/warden-watch");
	snprintf(back, sizeof back, "%.*s%s/cgroup.procs", (int)(root - cg_base), cg_base,
	         t->cg_orig);
	pid_t pids[4096];
	int n = proc_tree_pids(t, pids, 4096);
	for (int i = 0; i < n; i++) {
		snprintf(num, sizeof num, "%d", pids[i]);
		write_str(back, num);
	}
	rmdir(dir);
}

static void resolved(struct ww_tree *t, int hold, int allow, const char *by)
{
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "resolved");
	jb_cstr(&j, "tree", t->key);
	jb_int(&j, "hold", hold);
	jb_cstr(&j, "decision", allow ? "allow" : "deny");
	jb_cstr(&j, "by", by);
	jb_obj_end(&j);
	ipc_send_uid(t->uid, &j);
	free(j.b);
	char w[256];
	snprintf(w, sizeof w, "bulk-delete hold %d: %s by %s; the tree was %s", hold,
	         allow ? "allowed" : "denied", by,
	         allow                ? "thawed"
	         : cfg.bulk_deny_kill ? "killed"
	                              : "thawed");
	runlog_fault(t, w);
}

static void decide(struct ww_tree *t, int allow, const char *by)
{
	if (!t->frozen)
		return;
	t->frozen = 0;
	thaw(t, !allow && cfg.bulk_deny_kill);
	t->win_n = 0;
	if (allow)
		t->burst_allowed_until = now_ms() + BURST_IDLE_MS;
	resolved(t, t->hold_id, allow, by);
}

void gate_decide(struct ww_tree *t, int hold, int allow)
{
	if (t->frozen && hold == t->hold_id)
		decide(t, allow, "person");
}

static void common_dir(char *acc, const char *path)
{
	if (!acc[0]) {
		snprintf(acc, 512, "%s", path);
		char *s = strrchr(acc, '/');
		if (s && s != acc)
			*s = 0;
		return;
	}
	size_t i = 0;
	while (acc[i] && acc[i] == path[i])
		i++;
	if (acc[i] == 0 && (path[i] == '/' || path[i] == 0))
		return;
	while (i > 0 && acc[i] != '/')
		i--;
	acc[i > 0 ? i : 1] = 0;
}

/* rm_target - when TGID is an `rm -r` whose operand contains ROOT, widen ROOT to that operand (the
 * hold then names what the command deletes, e.g. `big`, not the directory it happened to be in). */
static void rm_target(pid_t tgid, char *root, size_t len)
{
	char p[64], args[4096], cwd[PATH_MAX];
	snprintf(p, sizeof p, "/proc/%d/cmdline", tgid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, args, sizeof args - 1);
	close(fd);
	snprintf(p, sizeof p, "/proc/%d/cwd", tgid);
	ssize_t k = readlink(p, cwd, sizeof cwd - 1);
	if (n <= 0 || k <= 0)
		return;
	args[n] = 0;
	cwd[k] = 0;
	const char *a0 = strrchr(args, '/') ? strrchr(args, '/') + 1 : args;
	if (strcmp(a0, "rm"))
		return;
	for (ssize_t o = (ssize_t)strlen(args) + 1; o < n; o += (ssize_t)strlen(args + o) + 1) {
		const char *a = args + o;
		if (a[0] == '-')
			continue;
		char abs[PATH_MAX + 4096];
		if (a[0] == '/')
			snprintf(abs, sizeof abs, "%s", a);
		else
			snprintf(abs, sizeof abs, "%s/%s", cwd, a);
		size_t l = strlen(abs);
		while (l > 1 && abs[l - 1] == '/')
			abs[--l] = 0;
		if (under(root, abs)) {
			snprintf(root, len, "%s", abs);
			return;
		}
	}
}

void gate_delete(struct ww_tree *t, pid_t tid, const char *path)
{
	if (cfg.bulk_count <= 0 || t->frozen)
		return;
	long long now = now_ms();
	if (now < t->burst_allowed_until) {
		t->burst_allowed_until = now + BURST_IDLE_MS;
		return;
	}
	int cap = (int)(cfg.bulk_count + 1 > 65536 ? 65536 : cfg.bulk_count + 1);
	if (!t->win) {
		t->win = calloc((size_t)cap, sizeof *t->win);
		if (!t->win)
			return;
	}
	if (t->win_n == 0)
		t->burst_root[0] = 0;
	t->win[(t->win_head + t->win_n) % cap] = now;
	if (t->win_n < cap)
		t->win_n++;
	else
		t->win_head = (t->win_head + 1) % cap;
	while (t->win_n > 0 && now - t->win[t->win_head] > cfg.bulk_window_ms) {
		t->win_head = (t->win_head + 1) % cap;
		t->win_n--;
	}
	common_dir(t->burst_root, path);
	if (t->win_n <= cfg.bulk_count)
		return;
	int how = freeze(t);
	t->frozen = 1;
	struct ww_proc *dp = proc_find(tid);
	rm_target(dp ? dp->tgid : tid, t->burst_root, sizeof t->burst_root);
	t->hold_id = ++t->holds;
	t->hold_deadline = now + cfg.ask_timeout_ms;
	logmsg("tree %s: %d deletes within %ld ms: frozen (%s), hold %d", t->key, t->win_n,
	       cfg.bulk_window_ms, how ? "SIGSTOP" : "cgroup", t->hold_id);
	struct jbuf j = {0};
	jb_obj_begin(&j);
	jb_cstr(&j, "t", "hold");
	jb_cstr(&j, "tree", t->key);
	jb_int(&j, "hold", t->hold_id);
	jb_int(&j, "seq", t->seq);
	jb_int(&j, "ts", now);
	struct ww_proc *p = proc_find(tid);
	jb_int(&j, "pid", p ? p->tgid : tid);
	jb_int(&j, "tid", tid);
	jb_cstr(&j, "op", "delete");
	jb_cstr(&j, "sys", "unlink");
	jb_cstr(&j, "path", path);
	jb_cstr(&j, "decision", "ask");
	jb_cstr(&j, "rule", "builtin-bulk");
	jb_cstr(&j, "band", "builtin");
	jb_int(&j, "deadline_ms", t->hold_deadline);
	jb_cstr(&j, "fallback", "deny");
	jb_cstr(&j, "reason", "bulk");
	jb_key(&j, "burst");
	jb_obj_begin(&j);
	jb_cstr(&j, "root", t->burst_root);
	jb_int(&j, "count", t->win_n);
	jb_append(&j, "}", 1);
	jb_cstr(&j, "freezer", how ? "sigstop" : "cgroup2");
	jb_obj_end(&j);
	if (!ipc_state_of(t->uid) || !ipc_connected(t->uid)) {
		free(j.b);
		decide(t, 0, "no-daemon");
		return;
	}
	ipc_send_uid(t->uid, &j);
	free(j.b);
}

void gate_tick(void)
{
	long long now = now_ms();
	for (size_t i = 0; i < ntrees; i++)
		if (trees[i].used && trees[i].frozen && now >= trees[i].hold_deadline)
			decide(&trees[i], 0, "timeout");
}
