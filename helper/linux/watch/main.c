/*
 * warden-watch - system-wide watch mode (root). Usage: warden-watch --config FILE
 *
 * Guards agent processes that were not started through `warden run`: finds them by the policy's
 * agent selectors (eBPF process tree), keeps copy-before-write pre-images and a delete shadow
 * through fanotify, freezes a tree that deletes in bulk, and writes each tree's events in the
 * WIRE.md §2 format into its user's state dir, where the user's daemon ingests them like a
 * supervised run's. fanotify fails open when this process dies; the daemons see that through the
 * heartbeat and the canary (WIRE.md §4).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ww.h"

struct ww_config cfg;
struct ww_tree *trees;
size_t ntrees;
long long helper_start_s;
int bpf_active;
char bpf_why[256];
char lsm_state[256] = "not built";
char egress_state[512] = "not built";
static volatile sig_atomic_t stop;

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void logmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "warden-watch: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* under - 1 if PATH is ROOT or beneath it (both absolute, no trailing slash except "/"). */
int under(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return path[0] == '/';
	return !strncmp(path, root, n) && (path[n] == 0 || path[n] == '/');
}

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: warden-watch --config FILE\n"
	    "  Runs as root. The config is written by `warden watch --foreground` / `warden watch "
	    "install`\n  (helper/linux/WIRE.md section 4).\n");
}

int main(int argc, char **argv)
{
	const char *conf = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			conf = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (!conf) {
		usage();
		return 2;
	}
	char err[1024];
	if (config_load(conf, err, sizeof err) < 0) {
		logmsg("%s", err);
		return 2;
	}
	if (geteuid() != 0) {
		logmsg("must run as root (fanotify permission events and eBPF need it)");
		return 1;
	}
	helper_start_s = now_ms() / 1000;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, 0);
	sigaction(SIGINT, &sa, 0);

	char fan_state[256];
	if (fan_init(fan_state, sizeof fan_state) < 0) {
		logmsg("%s", fan_state);
		return 1;
	}
	int perm_q = fan_start_thread();
	if (perm_q < 0) {
		logmsg("cannot start the permission thread: %s", strerror(errno));
		return 1;
	}
	int ipc_fd = ipc_init();
	if (ipc_fd < 0) {
		logmsg("cannot listen on %s: %s", cfg.socket, strerror(errno));
		return 1;
	}
	gate_init();
	int shadow_ok = shadow_init() == 0;
	long long t0 = now_ms();
	if (shadow_ok)
		shadow_build();
	logmsg("shadow: %ld files linked in %lld ms", shadow_files, now_ms() - t0);
	int rb_fd = proc_init();
	if (rb_fd < 0)
		logmsg("eBPF process tracking unavailable (%s): walking /proc every 250 ms instead",
		       bpf_why);
	lsm_init();
	egress_init();
	snprintf(
	    mechanisms, sizeof mechanisms,
	    "{\"fanotify_perm\":\"%s\",\"fanotify_name\":\"active\",\"ebpf_tracepoints\":"
	    "\"%s\",\"bpf_lsm\":\"%s\",\"connect4\":\"%s\",\"freezer\":\"%s\",\"shadow\":\"%s\"}",
	    cfg.lazy_perm ? "active (armed while an agent tree runs)" : "active",
	    rb_fd >= 0 ? "active" : "unavailable: /proc polling", lsm_state, egress_state,
	    freezer_kind, shadow_ok ? "active" : "inactive");
	logmsg("egress steering: %s", egress_state);
	proc_scan();
	logmsg("watching %d root(s) with %d agent selector(s); socket %s", cfg.nroots, cfg.nsel,
	       cfg.socket);

	long long last_hb = 0;
	while (!stop) {
		struct pollfd p[6 + WW_MAX_CLIENTS];
		int cfds[WW_MAX_CLIENTS];
		int n = 0;
		p[n++] = (struct pollfd){.fd = perm_q, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = fan_name_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = ipc_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = rb_fd, .events = POLLIN};
		int nc = ipc_fds(cfds, WW_MAX_CLIENTS);
		for (int i = 0; i < nc; i++)
			p[n++] = (struct pollfd){.fd = cfds[i], .events = POLLIN};
		int efds[2], ne = egress_fds(efds, 2);
		for (int i = 0; i < ne; i++)
			p[n++] = (struct pollfd){.fd = efds[i], .events = POLLIN};
		int r = poll(p, (nfds_t)n, rb_fd >= 0 ? 200 : 100);
		if (r < 0 && errno != EINTR)
			break;
		/* the process tree first: a new agent's first open must find it known */
		proc_poll();
		if (cfg.lazy_perm) {
			int live = 0;
			for (size_t i = 0; i < ntrees && !live; i++)
				live = trees[i].used;
			fan_perm_arm(live);
		}
		if (p[0].revents)
			fan_perm_poll();
		fan_name_poll();
		if (p[2].revents)
			ipc_accept();
		for (int i = 0; i < nc; i++)
			if (p[4 + i].revents)
				ipc_client_io(i);
		for (int i = 0; i < ne; i++)
			if (p[4 + nc + i].revents)
				egress_accept(efds[i]);
		for (size_t i = 0; i < ntrees; i++) {
			struct ww_tree *t = &trees[i];
			if (t->dirty) {
				t->dirty = 0;
				struct jbuf j = {0};
				jb_obj_begin(&j);
				jb_cstr(&j, "t", "wake");
				jb_cstr(&j, "tree", t->key);
				jb_obj_end(&j);
				ipc_send_uid(t->uid, &j);
				free(j.b);
			}
		}
		gate_tick();
		proc_tick();
		if (now_ms() - last_hb >= 1000) {
			last_hb = now_ms();
			ipc_heartbeat();
		}
	}
	logmsg("stopping");
	return 0;
}
