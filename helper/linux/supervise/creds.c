/*
 * The supervisor performs ops on the agent's behalf, so the kernel checks
 * the supervisor's credentials, not the agent's. Unprivileged, they are the
 * same (no_new_privs: the agent can only have what we have). A root
 * supervisor could do what a de-privileged agent may not, so around each
 * mutation this thread takes the agent's fsuid/fsgid/groups (setfsuid(2):
 * leaving fsuid 0 also drops the filesystem capabilities). The raw syscalls
 * are per-thread; glibc's wrappers would change every thread.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXGROUPS 256

static int privileged = -1;
static gid_t own_groups[MAXGROUPS];
static int own_ngroups;

/* Parse "Key:\tA\tB\tC\tD": the 4th value is the fs id (proc(5)). */
static long fs_id(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	if (!p)
		return -1;
	p += strlen(key);
	long v = -1;
	for (int i = 0; i < 4; i++)
		v = strtol(p, (char **)&p, 10);
	return v;
}

int creds_enter(pid_t tid, int *switched)
{
	*switched = 0;
	if (privileged < 0) {
		privileged = geteuid() == 0;
		own_ngroups = getgroups(MAXGROUPS, own_groups);
		if (own_ngroups < 0)
			own_ngroups = 0;
	}
	if (!privileged)
		return 0;
	char p[64], buf[4096];
	snprintf(p, sizeof p, "/proc/%d/status", tid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	long uid = fs_id(buf, "\nUid:"), gid = fs_id(buf, "\nGid:");
	if (uid < 0 || gid < 0)
		return -ESRCH;
	if (uid == 0 && gid == 0)
		return 0; /* a root agent: nothing to take away */
	gid_t groups[MAXGROUPS];
	int ng = 0;
	const char *g = strstr(buf, "\nGroups:");
	if (g) {
		g += 8;
		char *end;
		while (ng < MAXGROUPS) {
			long v = strtol(g, &end, 10);
			if (end == g)
				break;
			groups[ng++] = (gid_t)v;
			g = end;
		}
	}
	if (syscall(SYS_setgroups, ng, groups))
		return -errno;
	syscall(SYS_setfsgid, (gid_t)gid);
	syscall(SYS_setfsuid, (uid_t)uid);
	*switched = 1;
	return 0;
}

void creds_leave(int switched)
{
	if (!switched)
		return;
	syscall(SYS_setfsuid, 0);
	syscall(SYS_setfsgid, 0);
	syscall(SYS_setgroups, own_ngroups, own_groups);
}
