/*
 * Landlock: the hard outer wall. Landlock is allow-only, so "no READ_FILE
 * beneath the state dir" is built by granting READ_FILE on every sibling
 * along the path from / down to each denied dir (grant_except below).
 * Kernel facts: Documentation/userspace-api/landlock.rst (ABI versions,
 * rights per ABI, scoped signals in ABI 6).
 */
#include "sup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* The ABI 6 layout; older kernels get a prefix of it (size says which). */
struct ww_ruleset_attr {
	__u64 handled_access_fs;
	__u64 handled_access_net;
	__u64 scoped;
};

/* Rights that may be granted on a non-directory (landlock.rst "file rights"). */
#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

static __u64 handled;

static void add_rule(int rs, const char *path, __u64 rights)
{
	int fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode)) {
		if (!S_ISDIR(st.st_mode))
			rights &= FILE_RIGHTS;
		struct landlock_path_beneath_attr pb = {.allowed_access = rights & handled,
		                                        .parent_fd = fd};
		if (pb.allowed_access)
			syscall(__NR_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	}
	close(fd);
}

/* Grant RIGHTS beneath PATH except beneath any of DENY: recurse into the
 * dirs on the way to a denied one and grant each sibling entry. */
static void grant_except(int rs, const char *path, __u64 rights, char *const *deny, size_t nd)
{
	int ancestor = 0;
	for (size_t i = 0; i < nd; i++) {
		if (path_is_beneath(path, deny[i]))
			return; /* denied itself */
		if (path_is_beneath(deny[i], path))
			ancestor = 1;
	}
	if (!ancestor) {
		add_rule(rs, path, rights);
		return;
	}
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		size_t pl = strlen(path);
		if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", path,
		                     path[pl - 1] == '/' ? "" : "/", e->d_name) >= sizeof sub)
			continue;
		grant_except(rs, sub, rights, deny, nd);
	}
	closedir(d);
}

int landlock_apply(const struct table *t)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 0;
	handled = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	struct ww_ruleset_attr attr = {.handled_access_fs = handled};
	size_t size = sizeof(__u64);
	if (abi >= 4)
		size = 2 * sizeof(__u64);
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	int rs = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (rs < 0)
		return -errno;
	char *none[1] = {NULL};
	add_rule(rs, "/",
	         LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_DIR |
	             LANDLOCK_ACCESS_FS_IOCTL_DEV);
	grant_except(rs, "/", LANDLOCK_ACCESS_FS_READ_FILE, t->wall_deny_read, t->n_wall_deny_read);
	const __u64 write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
	                    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
	                    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
	                    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
	                    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |
	                    LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |
	                    LANDLOCK_ACCESS_FS_READ_FILE;
	for (size_t i = 0; i < t->n_wall_write; i++)
		grant_except(rs, t->wall_write[i], write, t->wall_deny_read, t->n_wall_deny_read);
	grant_except(rs, "/dev", LANDLOCK_ACCESS_FS_WRITE_FILE, none, 0);
	grant_except(rs, "/proc", LANDLOCK_ACCESS_FS_WRITE_FILE, none, 0);
	int rc = 0;
	if (syscall(__NR_landlock_restrict_self, rs, 0))
		rc = -errno;
	close(rs);
	return rc ? rc : (int)abi;
}
