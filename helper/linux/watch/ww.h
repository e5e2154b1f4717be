/*
 * warden-watch: shared state of the system-wide watch helper (see README.md "watch mode" and
 * WIRE.md §4).
 *
 * One loop (main.c) polls: the eBPF ring buffer (proc.c: the process tree, agent selectors), two
 * fanotify groups (fan.c: FAN_OPEN_PERM with copy-before-write pre-images; name events for the
 * timeline and the hardlink shadow in shadow.c), the daemons' socket (ipc.c) and a 1 s timer
 * (heartbeat, hold deadlines). Every agent tree writes the WIRE.md §2 event log into its user's
 * state dir (runlog.c); gate.c freezes a tree whose deletes pass the bulk gate.
 */
#ifndef WARDEN_WW_H
#define WARDEN_WW_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/json.h"

#define WW_MAX_ROOTS   16
#define WW_MAX_SEL     64
#define WW_MAX_USERS   32
#define WW_MAX_CLIENTS 32

struct ww_selector {
	char id[64];
	int kind; /* 0: exe basename glob, 1: argv element glob */
	char pattern[512];
};

struct ww_config {
	char socket[512];
	char shadow[512];
	char roots[WW_MAX_ROOTS][512];
	int nroots;
	char deny[WW_MAX_ROOTS][512]; /* opens for write beneath these are refused to agent trees */
	int ndeny;
	struct ww_selector sel[WW_MAX_SEL];
	int nsel;
	struct {
		uid_t uid;
		char state[512];
	} users[WW_MAX_USERS];
	int nusers;
	long bulk_count;     /* more than this many deletes ... */
	long bulk_window_ms; /* ... within this window freeze the tree; 0 count = off */
	long ask_timeout_ms;
	int bulk_deny_kill; /* 1: a denied (or timed out) bulk hold kills the tree; 0: thaws it */
	long long preimage_max;
	int no_bpf;    /* tests: force the /proc fallback */
	int lazy_perm; /* FAN_OPEN_PERM marks only while an agent tree lives */
	int egress;    /* 1: steer agent-tree TCP connections into the user's egress proxy */
};

/* One agent tree = one run in the user's journal. */
struct ww_tree {
	int used;
	unsigned id;  /* value in the BPF agents map */
	char key[48]; /* "<helper start s>-<id>": names the spool dir */
	uid_t uid;
	pid_t root_pid;
	int nprocs;  /* live processes */
	int dirfd;   /* <state>/watch/<key> (-1: not journaled) */
	int stagefd; /* .../stage */
	int logfd;   /* .../events.ndjson */
	long seq;
	long events, preimages, denied;
	int root_idx;     /* watched root the run is about */
	int dirty;        /* lines written since the last wake-up */
	long long end_at; /* all processes gone: end the run then (late name events first) */
	int exit_status, exit_signal;
	/* bulk gate */
	long long *win; /* ring of the last bulk_count+1 delete times (ms) */
	int win_head, win_n;
	pid_t last_pid;
	int frozen, hold_id, holds;
	long long hold_deadline, burst_allowed_until, last_delete_ms;
	char burst_root[512];
	char cg_orig[512]; /* cgroup v2 path the tree came from (frozen by moving it) */
	/* created inodes (dev, ino) */
	struct ww_ino *created;
	size_t ncreated, capcreated;
	struct ww_ino *written;
	size_t nwritten, capwritten;
};

struct ww_ino {
	dev_t dev;
	ino_t ino;
};

struct ww_proc {
	pid_t tid;
	pid_t tgid;
	unsigned tree;
	long long dead_ms; /* when it exited: kept a while, its late name events still count */
};

extern struct ww_config cfg;
extern struct ww_tree *trees;
extern size_t ntrees;
extern long long helper_start_s;
extern int bpf_active;
extern char bpf_why[256];
/* what `warden status` says of the BPF LSM deny (lsm.c) and the egress steering (egress.c): a short
 * JSON-safe sentence, "active" or why not */
extern char lsm_state[256];
extern char egress_state[512];

/* util (main.c) */
long long now_ms(void);
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int under(const char *path, const char *root);

/* config.c */
int config_load(const char *path, char *err, size_t errlen);

/* proc.c */
int proc_init(void);                  /* BPF or /proc fallback; returns an fd to poll or -1 */
void proc_poll(void);                 /* drain ring buffer */
void proc_scan(void);                 /* initial /proc walk */
struct ww_proc *proc_find(pid_t tid); /* agent-tree tasks only */
struct ww_tree *tree_of_tid(pid_t tid);
struct ww_tree *tree_by_key(const char *key);
void proc_kill_tree(struct ww_tree *t, int sig);
int proc_tree_pids(struct ww_tree *t, pid_t *out, int max);
void proc_log_proc(struct ww_tree *t, pid_t tgid);
void proc_tick(void); /* ends trees whose grace passed, forgets long-dead tasks */

/* proc.c: fds of the process-tree maps, for the other BPF objects (bpf_map__reuse_fd); -1 without
 * eBPF */
extern int agents_map_fd;

/* lsm.c: BPF LSM deny of unlink/rename beneath the deny prefixes, where the kernel allows it */
void lsm_init(void);

/* egress.c: cgroup/connect4/6 steering of agent-tree TCP connections into the daemons' proxies */
void egress_init(void);
int egress_fds(int *fds, int max); /* the steering listeners, for the main loop's poll */
void egress_accept(int fd);        /* accepts on listener FD, starts relays */
extern long egress_steered, egress_refused;

/* runlog.c */
void runlog_open(struct ww_tree *t, const char *argv_json_unused);
void runlog_line(struct ww_tree *t, struct jbuf *j); /* appends j (one line) and wakes the daemon */
void runlog_fault(struct ww_tree *t, const char *what);
int runlog_stage_copy(struct ww_tree *t, long seq, int srcfd, long long size);
int runlog_stage_link(struct ww_tree *t, long seq, const char *src);
void runlog_end(struct ww_tree *t);
int ino_has(struct ww_ino *v, size_t n, dev_t d, ino_t i);
void ino_add(struct ww_ino **v, size_t *n, size_t *cap, dev_t d, ino_t i);
void jb_pre_stat(struct jbuf *j, const char *key, const char *kind, const void *st);

/* fan.c */
int fan_init(char *mech, size_t len);
int fan_start_thread(void);
void fan_perm_arm(int on); /* the permission responder; returns the queue fd the loop polls */
extern int agent_tids_fd;  /* BPF map of agent-tree thread ids, -1 without eBPF */
/* proc.c: the mmapped tid_bytes map (watch.h), tid_bytes_n ids (0 without it; published last) */
extern unsigned char *tid_bytes;
extern unsigned tid_bytes_n;
void fan_perm_poll(void);
void fan_name_poll(void);
extern int fan_perm_fd, fan_name_fd;

/* shadow.c */
int shadow_init(void);
void shadow_build(void);
int shadow_path(const char *path, char *out, size_t len); /* 0: ok, -1: not shadowed */
void shadow_created(const char *path, int isdir);
void shadow_deleted(const char *path);
void shadow_renamed(const char *from, const char *to);
extern int shadow_active;
extern long shadow_files;
const char *dircache_get(const void *handle, size_t hlen);
void dircache_put(const void *handle, size_t hlen, const char *path);
void dircache_rename(const char *from, const char *to);

/* gate.c */
void gate_delete(struct ww_tree *t, pid_t tid, const char *path);
void gate_decide(struct ww_tree *t, int hold, int allow);
void gate_tick(void);
extern char freezer_kind[32];
void gate_init(void);

/* ipc.c */
int ipc_init(void);
void ipc_accept(void);
void ipc_client_io(int idx);
int ipc_fds(int *fds, int max); /* client fds for poll, index-aligned with ipc_client_io */
void ipc_send_uid(uid_t uid, struct jbuf *j);
void ipc_tree(struct ww_tree *t);
void ipc_heartbeat(void);
const char *ipc_state_of(uid_t uid);
int ww_private(
    const char *path); /* beneath the shadow or a state dir: refused to agents, not journaled */
int ipc_connected(uid_t uid);
long ipc_canary_uid(const char *path); /* the uid whose canary file PATH is, or -1 */
extern char mechanisms[1024];

#endif
