/*
 * Shared by bpf/lsm.bpf.c and lsm.c: the key of the `protected` map (a protected directory by
 * inode) and the bounds of the programs.
 */
#ifndef WARDEN_LSM_H
#define WARDEN_LSM_H

#define WW_LSM_MAX_DIRS 1024 /* protected directories (and mounts beneath them) */
#define WW_LSM_DEPTH    64   /* d_parent levels walked upward from the target */

struct ww_lsm_key {
	__u32 dev; /* the superblock's s_dev, kernel encoding: major << 20 | minor */
	__u32 pad;
	__u64 ino;
};

#endif
