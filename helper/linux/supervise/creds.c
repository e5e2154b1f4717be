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

int creds_enter(const struct tstatus *ts, int *switched)
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
	if (!ts->ok)
		return -ESRCH;
	if (ts->fsuid == 0 && ts->fsgid == 0)
		return 0; /* a root agent: nothing to take away */
	if (syscall(SYS_setgroups, ts->ngroups, ts->groups))
		return -errno;
	syscall(SYS_setfsgid, (gid_t)ts->fsgid);
	syscall(SYS_setfsuid, (uid_t)ts->fsuid);
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
