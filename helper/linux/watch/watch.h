/*
 * The record the eBPF programs (bpf/watch.bpf.c) put on the ring buffer, shared with user space
 * (proc.c). One record per process-tree change: fork (only of agent trees, decided in the kernel
 * from the `agents` map), exec (every process: user space matches the agent selectors), exit (agent
 * trees only).
 */
#ifndef WARDEN_WATCH_H
#define WARDEN_WATCH_H

#define WW_ARGS_MAX 1024
#define WW_FILE_MAX 256

enum ww_kind { WW_FORK = 1, WW_EXEC = 2, WW_EXIT = 3 };

/* agents map value of a process the kernel matched by name before user space assigned its tree */
#define WW_TREE_PENDING 0xffffffffu

/*
 * The `tid_bytes` map: one byte per thread id, WW_TID_SPAN ids per array element, mmapped by user
 * space so the permission thread asks "agent or not" with a memory read instead of a bpf syscall.
 * WW_TID_AGENT mirrors `agent_tids` (written by the BPF programs with plain byte stores: fork sets
 * the child's byte, which also clears what a previous owner of the id left; exec of an
 * `agent_comms` name and user space set it; exit clears it). WW_TID_PERM is set by the permission
 * thread (atomic or) when it answers an open of that thread: the canary proves the permission path
 * with it.
 */
#define WW_TID_SPAN  64
#define WW_TID_AGENT 1
#define WW_TID_PERM  2
struct ww_tid_bytes {
	__u8 b[WW_TID_SPAN];
};

struct ww_event {
	__u32 kind;
	__u32 tid;   /* the task (thread id) */
	__u32 tgid;  /* its process */
	__u32 ppid;  /* parent process (real_parent's tgid) */
	__u32 uid;   /* real uid */
	__u32 tree;  /* agents map value (0: not in an agent tree) */
	__u64 ts_ns; /* bpf_ktime_get_ns */
	__s32 exit_code;
	__u32 args_len; /* bytes of args (NUL-separated argv, possibly cut) */
	char comm[16];
	char file[WW_FILE_MAX]; /* exec: bprm->filename */
	char args[WW_ARGS_MAX];
};

#endif
