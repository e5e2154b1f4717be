/*
 * BPF LSM deny-before-delete (issue 7, bpf/lsm.bpf.c): where the kernel allows BPF LSM programs,
 * unlink, rmdir and rename by agent-tree processes beneath the protected directories (the deny
 * prefixes, the users' state dirs, the shadow) fail with EPERM before they happen. Where it does
 * not, `lsm_state` (shown by `warden status` under mechanisms.bpf_lsm) names the step that failed
 * and its errno, and such deletes are only seen after the fact (fan.c), restorable from the shadow.
 *
 * Measured on the project's VMs (kernel 6.18, `bpf` in the active LSM list, lockdown "integrity"):
 * BPF_PROG_LOAD of the lsm/ programs fails with EPERM and an empty verifier log even at log level
 * 2, i.e. the kernel refuses them before the verifier runs (attach is never reached). The same
 * d_parent walk and map lookups, loaded as a tp_btf program, pass the verifier and match the
 * (dev, ino) keys this file computes.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf/lsm.h"
#include "lsm.skel.h"
#include "ww.h"

#define FALLBACK                                                                                   \
	"unlink/rename are seen after the fact, deleted files stay restorable from the shadow"

static struct lsm_bpf *skel;

/* kdev - the kernel's internal encoding of a device number (MKDEV: major << 20 | minor), which
 * is what inode->i_sb->s_dev holds, from stat's user-space encoding. */
static __u32 kdev(dev_t d)
{
	return (__u32)(major(d) << 20 | (minor(d) & 0xfffff));
}

/* One line of /proc/self/mountinfo: the mount id, its superblock's s_dev (kernel encoding, printed
 * there as MAJOR:MINOR of sb->s_dev, which on btrfs subvolumes differs from stat's st_dev) and its
 * mount point. */
struct mnt {
	int id;
	__u32 dev;
	char *at;
};

/* unescape - mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* read_mounts - the mount table into *OUT (malloc'd, *OUT and each `at` to be freed). Returns the
 * count, or 0 when /proc/self/mountinfo cannot be read. */
static int read_mounts(struct mnt **out)
{
	*out = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	int n = 0, cap = 0;
	char *line = 0;
	size_t ll = 0;
	while (getline(&line, &ll, f) > 0) {
		int id, parent;
		unsigned ma, mi;
		char root[4096], at[4096];
		if (sscanf(line, "%d %d %u:%u %4095s %4095s", &id, &parent, &ma, &mi, root, at) !=
		    6)
			continue;
		if (n == cap) {
			int c = cap ? cap * 2 : 64;
			struct mnt *m = realloc(*out, (size_t)c * sizeof *m);
			if (!m)
				break;
			*out = m;
			cap = c;
		}
		unescape(at);
		(*out)[n++] = (struct mnt){id, (__u32)(ma << 20 | (mi & 0xfffff)), strdup(at)};
	}
	free(line);
	fclose(f);
	return n;
}

/* protect - puts directory PATH (and its superblock's device) into the protected map. Returns 1
 * when added, 0 when PATH is not a directory that exists. */
static int protect(const char *path, struct mnt *m, int nm)
{
	struct statx sx;
	if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_TYPE | STATX_MNT_ID, &sx) < 0) {
		logmsg("BPF LSM: protected dir %s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(sx.stx_mode)) {
		logmsg("BPF LSM: protected dir %s: not a directory", path);
		return 0;
	}
	struct ww_lsm_key k = {.dev = kdev(makedev(sx.stx_dev_major, sx.stx_dev_minor)),
	                       .ino = sx.stx_ino};
	__u32 one = 1;
	int fd = bpf_map__fd(skel->maps.protected);
	bpf_map_update_elem(fd, &k, &one, BPF_ANY);
	if (sx.stx_mask & STATX_MNT_ID)
		for (int i = 0; i < nm; i++)
			if ((__u64)m[i].id == sx.stx_mnt_id && m[i].dev != k.dev) {
				k.dev = m[i].dev; /* stat's st_dev was not the superblock's */
				bpf_map_update_elem(fd, &k, &one, BPF_ANY);
			}
	return 1;
}

/* protect_tree - PATH and the roots of the mounts beneath it (the d_parent walk of the BPF program
 * stops at a filesystem's root). Returns 1 when PATH was added, else 0. */
static int protect_tree(const char *path, struct mnt *m, int nm)
{
	if (!protect(path, m, nm))
		return 0;
	for (int i = 0; i < nm; i++)
		if (strcmp(m[i].at, path) && under(m[i].at, path))
			protect(m[i].at, m, nm);
	return 1;
}

/*
 * lsm_listed - 1 if `bpf` is in the kernel's active LSM list, 0 if not (the list is copied into
 * LIST), -1 if the list cannot be read. securityfs is often not mounted (as on the project's VMs):
 * then a child reads it from a private mount of its own mount namespace.
 */
static int lsm_listed(char *list, size_t len)
{
	const char *p = "/sys/kernel/security/lsm";
	ssize_t n = -1;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, list, len - 1);
		close(fd);
	} else {
		int pp[2];
		if (pipe2(pp, O_CLOEXEC) < 0)
			return -1;
		pid_t c = fork();
		if (c == 0) {
			/* only system calls here: the parent has other threads */
			close(pp[0]);
			if (unshare(CLONE_NEWNS) == 0 &&
			    mount(0, "/", 0, MS_REC | MS_PRIVATE, 0) == 0 &&
			    mount("securityfs", "/sys/kernel/security", "securityfs",
			          MS_NOSUID | MS_NODEV | MS_NOEXEC, 0) == 0) {
				int f = open(p, O_RDONLY | O_CLOEXEC);
				char b[512];
				ssize_t k = f >= 0 ? read(f, b, sizeof b) : -1;
				if (k > 0 && write(pp[1], b, (size_t)k) < 0)
					_exit(1);
			}
			_exit(0);
		}
		close(pp[1]);
		if (c > 0) {
			n = 0;
			for (ssize_t k; (size_t)n < len - 1 &&
			                (k = read(pp[0], list + n, len - 1 - (size_t)n)) > 0;)
				n += k;
			waitpid(c, 0, 0);
		}
		close(pp[0]);
	}
	if (n <= 0)
		return -1;
	list[n] = 0;
	list[strcspn(list, "\n")] = 0;
	for (char *s = list, *e; *s; s = *e ? e + 1 : e) {
		e = s + strcspn(s, ",");
		if (e - s == 3 && !strncmp(s, "bpf", 3))
			return 1;
	}
	return 0;
}

/* verifier_ran - loads the object once more with a verifier log: 1 if the verifier wrote one (it
 * rejected the program; its last line goes to the helper's log), 0 if the kernel refused the load
 * before the verifier ran. */
static int verifier_ran(void)
{
	static char log[1 << 16];
	struct lsm_bpf *s = lsm_bpf__open();
	if (!s)
		return 0;
	log[0] = 0;
	bpf_map__reuse_fd(s->maps.agents, agents_map_fd);
	bpf_program__set_log_buf(s->progs.ww_unlink, log, sizeof log);
	bpf_program__set_log_level(s->progs.ww_unlink, 1);
	int err = lsm_bpf__load(s);
	lsm_bpf__destroy(s);
	if (!err || !log[0])
		return 0;
	size_t n = strlen(log);
	while (n && log[n - 1] == '\n')
		log[--n] = 0;
	char *last = strrchr(log, '\n');
	logmsg("BPF LSM: verifier: %s", last ? last + 1 : log);
	return 1;
}

/* self_test - unlinks a probe file beneath the shadow as a pretend agent: 1 if the program denied
 * it (enforcement works end to end, device numbers included), 0 if the unlink went through, -1 if
 * it could not be tried (WHY says why). */
static int self_test(char *why, size_t len)
{
	if (!cfg.shadow[0]) {
		snprintf(why, len, "no shadow dir");
		return -1;
	}
	char p[600];
	snprintf(p, sizeof p, "%s/.warden-lsm-probe", cfg.shadow);
	int fd = open(p, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, len, "probe file: %s", strerror(errno));
		return -1;
	}
	close(fd);
	int cfd = bpf_map__fd(skel->maps.ctl);
	__u32 k = 0, me = (__u32)getpid(), none = 0;
	bpf_map_update_elem(cfd, &k, &me, BPF_ANY);
	int r = unlink(p);
	int e = errno;
	bpf_map_update_elem(cfd, &k, &none, BPF_ANY);
	if (r == 0)
		return 0;
	unlink(p);
	if (e == EPERM)
		return 1;
	snprintf(why, len, "probe unlink: %s", strerror(e));
	return -1;
}

/* setup - the steps of lsm_init; fills lsm_state. */
static void setup(void)
{
	char list[256];
	int err;
	if (cfg.no_bpf || agents_map_fd < 0) {
		snprintf(lsm_state, sizeof lsm_state, "unavailable: no eBPF, %.120s; " FALLBACK,
		         bpf_why);
		return;
	}
	int listed = lsm_listed(list, sizeof list);
	if (listed == 0) {
		snprintf(lsm_state, sizeof lsm_state,
		         "unavailable: bpf is not in the kernel's LSM list (%.80s); " FALLBACK,
		         list);
		return;
	}
	if (listed < 0)
		logmsg("BPF LSM: the kernel's LSM list cannot be read; trying to load anyway");
	skel = lsm_bpf__open();
	if (!skel) {
		snprintf(lsm_state, sizeof lsm_state,
		         "unavailable: the BPF LSM object cannot be opened (open: %s); " FALLBACK,
		         strerror(errno));
		return;
	}
	if ((err = bpf_map__reuse_fd(skel->maps.agents, agents_map_fd)) < 0) {
		snprintf(lsm_state, sizeof lsm_state,
		         "unavailable: the agents map cannot be shared (reuse_fd: %s); " FALLBACK,
		         strerror(-err));
		goto fail;
	}
	if ((err = lsm_bpf__load(skel)) < 0) {
		int e = -err;
		lsm_bpf__destroy(skel);
		skel = 0;
		if (verifier_ran())
			snprintf(
			    lsm_state, sizeof lsm_state,
			    "unavailable: the verifier rejected the BPF LSM program (load: %s); "
			    "" FALLBACK,
			    strerror(e));
		else
			snprintf(lsm_state, sizeof lsm_state,
			         "unavailable: the kernel refused the BPF LSM program before the "
			         "verifier ran (load: %s); " FALLBACK,
			         strerror(e));
		return;
	}
	struct mnt *m;
	int nm = read_mounts(&m), n = 0;
	for (int i = 0; i < cfg.ndeny; i++)
		n += protect_tree(cfg.deny[i], m, nm);
	for (int i = 0; i < cfg.nusers; i++)
		n += protect_tree(cfg.users[i].state, m, nm);
	if (cfg.shadow[0])
		n += protect_tree(cfg.shadow, m, nm);
	for (int i = 0; i < nm; i++)
		free(m[i].at);
	free(m);
	if ((err = lsm_bpf__attach(skel)) < 0) {
		snprintf(lsm_state, sizeof lsm_state,
		         "unavailable: the verifier accepted the BPF LSM program but the kernel "
		         "refused to attach it (attach: %s); " FALLBACK,
		         strerror(-err));
		goto fail;
	}
	char why[128];
	int t = self_test(why, sizeof why);
	if (t == 0) {
		snprintf(lsm_state, sizeof lsm_state,
		         "unavailable: attached, but the start-up self-test could unlink a file "
		         "beneath the shadow; " FALLBACK);
		goto fail;
	}
	snprintf(
	    lsm_state, sizeof lsm_state,
	    "active: unlink/rename beneath %d protected dirs denied to agent trees before they "
	    "happen%s%s%s",
	    n, t < 0 ? " (not self-tested: " : "", t < 0 ? why : "", t < 0 ? ")" : "");
	return;
fail:
	lsm_bpf__destroy(skel);
	skel = 0;
}

/*
 * lsm_init - loads and attaches bpf/lsm.bpf.c after proc_init (it shares the agents map) and fills
 * its protected map from the config. Never fails the helper: `lsm_state` says "active: ..." or
 * "unavailable: <step> (<errno text>); <what happens instead>", and the helper's log repeats it.
 */
void lsm_init(void)
{
	setup();
	logmsg("BPF LSM: %s", lsm_state);
}
