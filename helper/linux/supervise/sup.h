/*
 * warden-supervise internals: the supervisor state shared by the notify loop,
 * path resolution, op handlers, pre-images and the event writer.
 */
#ifndef WARDEN_SUP_H
#define WARDEN_SUP_H

#include "../common/json.h"
#include "../common/policy.h"
#include "../common/table.h"

#include <limits.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Newer uapi bits that Debian 12's headers lack (values from linux/seccomp.h, 6.6+). */
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

/* Global supervisor state (one run per process). */
struct sup {
	struct table t;
	int listener;  /* seccomp notify fd */
	int events_fd; /* event log, O_APPEND */
	int sock_fd;   /* daemon wake-up socket, -1 if none */
	int stage_fd;  /* stage dir */
	pid_t child;   /* direct child */
	long long seq; /* last ev seq used */
	long long n_events, n_denied, n_pre;
	struct jbuf out;    /* pending NDJSON, flushed before poll blocks */
	long long redo_seq; /* hold.c: seq a re-dispatched held call journals under */
	int trash_fd;       /* steer: the trash dir, -1 if none */
	char *wall[64];     /* write roots enforced in the supervisor */
	int n_wall;
};

extern struct sup S;

/* A pre-image description (WIRE.md §2 "pre"). */
enum pre_kind { PRE_NONE_ABSENT = 0, PRE_LINK, PRE_COPY, PRE_META, PRE_TOOLARGE, PRE_NONE };
struct pre {
	enum pre_kind kind; /* PRE_NONE_ABSENT = no "pre" at all (null) */
	struct stat st;
	int have_st;
	char target[PATH_MAX]; /* symlink target */
	int staged;            /* a stage/<seq> file exists */
	int trash;             /* steer: the bytes are at trash/<seq> */
};

/* What /proc/TID/status says about the acting task (proc(5)), read once per notification. */
#define TS_MAXGROUPS 256
struct tstatus {
	int ok;
	pid_t tgid, ppid;
	mode_t umask;
	long fsuid, fsgid; /* 4th fields of Uid:/Gid: */
	int ngroups;
	gid_t groups[TS_MAXGROUPS];
};

/* One trapped syscall being handled. */
struct call {
	struct seccomp_notif *n;
	pid_t tid, tgid;
	struct tstatus ts;
	const char *sys;
	unsigned op;
	char path[PATH_MAX], path2[PATH_MAX];
	int has_path2;
	long long flags;
	struct verdict v;
	long long seq;
	struct pre pre, pre2;
	char **argv; /* exec only */
	int responded;
	/* holds (hold.c) */
	int parked;        /* parked by hold_judge: the handler must not answer */
	long long hold_id; /* the hold that decided (or granted the scope), 0 = none */
	const char *by;    /* "person" | "policy" | "timeout" | "no-daemon" */
	long long held_ms;
	int held;     /* 1 + what the policy/gate said before the hold decided, 0 = n/a */
	int have_ino; /* delete: (dev, ino) of the victim, for the created-inode set */
	dev_t dev;
	ino_t ino;
	int steer_trash; /* delete steered into the trash */
};

/* ---- loop.c ---- */

/*
 * respond - answer notification C once: VAL on success, or -ERR (ERR > 0).
 * A second call is a no-op. ENOENT from the kernel (target gone) is ignored.
 */
void respond(struct call *c, long long val, int err);

/* last_resp_err - errno of the last respond() on this thread (0 = success). */
extern __thread int last_resp_err;

/* respond_continue - let the kernel run the syscall (exec and connect only). */
void respond_continue(struct call *c);

/* respond_fd - inject FD into the target (ADDFD with SEND) as the syscall result;
 * CLOEXEC per the original open flags. Returns 0 or -errno (then not answered). */
int respond_fd(struct call *c, int fd, int cloexec);

/* notif_valid - SECCOMP_IOCTL_NOTIF_ID_VALID: 1 if the target still waits. */
int notif_valid(struct call *c);

/* ---- mem.c ---- */

/*
 * mem_read_str - read a NUL-terminated string at ADDR in TID's memory into
 * BUF (CAP bytes incl. NUL) page by page with process_vm_readv, never
 * crossing into an unread page. Returns length, or -errno (EFAULT for a bad
 * pointer, ENAMETOOLONG if no NUL within CAP, ESRCH if the task is gone).
 */
long mem_read_str(pid_t tid, uint64_t addr, char *buf, size_t cap);

/* mem_read - read exactly LEN bytes at ADDR. Returns 0 or -errno. */
int mem_read(pid_t tid, uint64_t addr, void *buf, size_t len);

/* mem_read_argv - read a NULL-terminated char** vector (at most 4096
 * entries, 256 KiB total). Returns a malloc'd NULL-terminated vector whose
 * strings live in the same block (free once), or NULL with errno set. */
char **mem_read_argv(pid_t tid, uint64_t addr);

/* ---- resolve.c ---- */

/* Result of resolving a path argument of the target. */
struct target {
	int parent;              /* O_PATH dirfd of the parent, -1 if magic */
	char last[NAME_MAX + 1]; /* final component ("" when magic) */
	char canon[PATH_MAX];    /* canonical absolute path */
	int magic;               /* 1: operate on magic_path, not on parent+last */
	int pathlike;            /* magic only: canon is a real path to judge and journal */
	char magic_path[64];     /* "/proc/TID/fd/N" to open directly */
	int dot;                 /* last is "." or "..": only follow-type ops may use it */
	int exists;              /* fstatat of last succeeded */
	struct stat st;          /* of last, without following */
};

/*
 * resolve_path - resolve PATH (as the target TID would, relative to DIRFD,
 * AT_FDCWD for its cwd) into T. FOLLOW: resolve a final symlink (up to 40
 * hops, ELOOP after). The parent is opened with openat2 RESOLVE_NO_MAGICLINKS
 * (and RESOLVE_IN_ROOT from /proc/TID/root for absolute paths). Returns 0 or
 * -errno; T->parent must be closed with target_close.
 */
int resolve_path(pid_t tid, pid_t tgid, int dirfd, const char *path, int follow, struct target *t);

/* resolve_fd - describe the target's open fd FD (for fchmod, futimens...):
 * T->magic is set if it is not a path-backed file. Returns 0 or -errno. */
int resolve_fd(pid_t tid, int fd, struct target *t);

/* target_close - release T's fds. */
void target_close(struct target *t);

/* proc_cwd - readlink /proc/TID/cwd into OUT (PATH_MAX). Returns 0 or -errno. */
int proc_cwd(pid_t tid, char *out);

/* ---- preimage.c ---- */

/* pre_capture - store the pre-image of T (whose op C is about to perform):
 * WANT_BYTES 1 = data may be destroyed (link for nlink 1 when MAY_LINK,
 * else copy), 0 = metadata only. Returns 0 or -errno (op must not run). */
int pre_capture(struct call *c, struct target *t, struct pre *p, int want_bytes, int may_link);

/* pre_meta - fill P as kind meta from T's stat (and symlink target). */
void pre_meta(struct target *t, struct pre *p);

/* pre_failed - the op failed after staging: drop the stage file, kind none. */
void pre_failed(struct call *c, struct pre *p);

/* ---- events.c ---- */

/* ev_next_seq - allocate the next event sequence number (stage file name). */
long long ev_next_seq(void);

/* ev_emit - append the "ev" line for C with ERR (positive errno, 0 = ok). */
void ev_emit(struct call *c, int err);

/* ev_proc - write a "proc" line for TGID unless it was written for the same
 * (pid, ppid) already; PPID -1 = unknown. FORCE after exec (ARGV/EXE given,
 * else read from /proc). A changed ppid (pid reuse, reparenting) writes again. */
void ev_proc(pid_t tgid, pid_t ppid, int force, char *const *argv, const char *exe);

/* read_cmdline - PID's argv from /proc/PID/cmdline into V (MAXV slots, NULL-terminated),
 * strings stored in BUF (CAP bytes). An unreadable cmdline yields an empty vector. */
char **read_cmdline(pid_t pid, char *buf, size_t cap, char **v, int maxv);

/* exec_verify_mark - TGID was let through an exec: check its real argv at its next trap. */
void exec_verify_mark(pid_t tgid, const char *rule);

/* exec_verify - if TGID is marked, re-judge the argv its new image actually got
 * (another thread may have swapped it after our check); on a deny the process
 * is killed and C answered. Returns 1 if C was answered, else 0. */
int exec_verify(struct call *c);

/* ev_proc_forget - drop TGID from the proc cache. */
void ev_proc_forget(pid_t tgid);

/* ev_fault - a "fault" line: something the helper could not do. */
void ev_fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ev_start / ev_end - the first and last lines of a run. */
void ev_start(int landlock_abi);
void ev_end(int status, int sig);

/* ev_flush - write pending lines to the event log and wake the daemon. */
void ev_flush(void);

/* now_ms - CLOCK_REALTIME in milliseconds. */
long long now_ms(void);

/* task_status - read TID's /proc status into TS (ts->ok says whether it worked).
 * Read fresh for every notification: tids are reused and umask/credentials
 * change without a trapped syscall. Returns 0 or -ESRCH. */
int task_status(pid_t tid, struct tstatus *ts);

/* ---- ops.c / ops_*.c ---- */

/* handle - dispatch one notification to its handler; always answers it. */
void handle(struct seccomp_notif *n);

/* decide - run the policy (plus the supervisor's wall check) for C. */
void decide(struct call *c, const char *cwd);

/* deny_errno - errno to return for a denied C (EACCES, EPERM for exec/holds). */
int deny_errno(struct call *c);

/* ---- hold.c ---- */

/* hold_judge - after the policy: scopes, delay, ask, bulk gate, repeat. Leaves
 * c->v.decision allow/deny/steer (annotated), or sets c->parked (no answer yet). */
void hold_judge(struct call *c);

/* hold_created - remember an inode the run created (its deletes need no delay/gate). */
void hold_created(dev_t dev, ino_t ino);

/* hold_timeout - poll timeout in ms until the nearest hold deadline, -1 if none. */
int hold_timeout(void);

/* hold_tick - apply the fallback of every hold whose deadline passed. */
void hold_tick(void);

/* hold_end - the agent is gone: answer and journal every parked call. */
void hold_end(void);

/* sock_queue - queue bytes for the daemon socket (non-blocking, buffered). */
void sock_queue(const char *s, size_t n);

/* sock_flush - send what is queued; sock_pending - something is still queued. */
void sock_flush(void);
int sock_pending(void);

/* sock_drain - at exit: keep sending what is queued for at most MS milliseconds. */
void sock_drain(int ms);

/* sock_readable - read and act on decide lines from the daemon. */
void sock_readable(void);

/*
 * sock_connect - connect to the daemon socket (non-blocking; never waits),
 * send the hello line and, on a reconnect, every pending hold line again
 * (same ids and deadlines). Returns 0 when connected, -1 otherwise.
 */
int sock_connect(void);

/* sock_retry - while the connection is lost: reconnect when the backoff says so. */
void sock_retry(void);

/* ---- creds.c ---- */

/*
 * creds_enter - when the supervisor runs as root, switch this thread's
 * fsuid/fsgid/supplementary groups to the agent's (TS) so the kernel judges the
 * mutation as the agent's. *SWITCHED says whether creds_leave must undo it.
 * Returns 0 or -errno (ESRCH: the task is gone); on error nothing changed.
 */
int creds_enter(const struct tstatus *ts, int *switched);

/* creds_leave - restore the supervisor's own fs credentials. */
void creds_leave(int switched);

/* ---- landlock.c / filter.c ---- */

/* landlock_apply - restrict the calling process per the table (in the child).
 * Returns the ABI used (>= 1), 0 if Landlock is unavailable, or -errno. */
int landlock_apply(const struct table *t);

/* filter_install - install the seccomp filter and return the listener fd, or -errno. */
int filter_install(void);

#endif
