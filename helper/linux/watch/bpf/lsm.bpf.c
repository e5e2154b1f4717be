// SPDX-License-Identifier: GPL-2.0
/*
 * BPF LSM deny-before-delete for warden-watch (issue 7): unlink, rmdir and rename by a process of
 * an agent tree (its tgid is in `agents`, the map of bpf/watch.bpf.c that user space shares with
 * this object through bpf_map__reuse_fd) fail with EPERM when the dentry they act on lies beneath a
 * protected directory (the config's deny prefixes, the users' state dirs, the shadow). fanotify has
 * no permission event for these, so without this program they are only seen after the fact.
 *
 * Protected directories are matched by inode: user space puts (kernel dev_t of the superblock,
 * inode number) of every protected directory into `protected`, and the programs walk d_parent
 * upward from the target, at most WW_LSM_DEPTH levels, stopping at the root of its filesystem.
 * Walking dentries instead of paths means bind mounts, symlinks, `..` and renamed ancestors change
 * nothing; a mount inside a protected directory ends the walk at its root, so user space adds the
 * root of every such mount too.
 *
 * PLATFORM.md: the project's VMs refuse BPF LSM programs (at load, before the verifier runs);
 * lsm.c reports how far it got.
 */
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lsm.h"
#include "agents.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WW_LSM_MAX_DIRS);
	__type(key, struct ww_lsm_key);
	__type(value, __u32);
} protected SEC(".maps");

/* [0]: a tgid treated as an agent (user space's start-up self-test; 0: none); [1]: denials */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} ctl SEC(".maps");

static __always_inline int is_agent(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_lookup_elem(&agents, &tgid))
		return 1;
	__u32 k = 0;
	__u32 *probe = bpf_map_lookup_elem(&ctl, &k);
	return probe && *probe && *probe == tgid;
}

/* beneath - 1 when D or one of its ancestors (same filesystem, WW_LSM_DEPTH levels) is protected.
 * A negative dentry (a rename target that does not exist yet) is skipped, its parents are not. */
static __always_inline int beneath(struct dentry *d)
{
	struct ww_lsm_key key = {};
	for (int i = 0; i < WW_LSM_DEPTH && d; i++) {
		struct inode *ino = BPF_CORE_READ(d, d_inode);
		if (ino) {
			key.dev = BPF_CORE_READ(ino, i_sb, s_dev);
			key.ino = BPF_CORE_READ(ino, i_ino);
			if (bpf_map_lookup_elem(&protected, &key))
				return 1;
		}
		struct dentry *p = BPF_CORE_READ(d, d_parent);
		if (p == d)
			return 0; /* the root of this filesystem */
		d = p;
	}
	return 0;
}

static __always_inline int deny(void)
{
	__u32 k = 1;
	__u32 *n = bpf_map_lookup_elem(&ctl, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return -EPERM;
}

SEC("lsm/path_unlink")
int BPF_PROG(ww_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	if (is_agent() && beneath(dentry))
		return deny();
	return 0;
}

SEC("lsm/path_rmdir")
int BPF_PROG(ww_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	if (is_agent() && beneath(dentry))
		return deny();
	return 0;
}

/* Both ends: moving a protected file away deletes it from there, and a rename onto a path beneath
 * a protected directory replaces or plants a file there (as an open for write would, which fan.c
 * refuses). */
SEC("lsm/path_rename")
int BPF_PROG(ww_rename, const struct path *old_dir, struct dentry *old_dentry,
             const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	if (ret)
		return ret;
	if (is_agent() && (beneath(old_dentry) || beneath(new_dentry)))
		return deny();
	return 0;
}
