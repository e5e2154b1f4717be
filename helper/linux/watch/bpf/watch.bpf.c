// SPDX-License-Identifier: GPL-2.0
/*
 * Process-tree tracking for warden-watch: tp_btf sched_process_fork / _exec / _exit (PLATFORM.md:
 * these load on the project's VMs; BPF LSM and fentry do not). The `agents` map holds the tgids of
 * agent trees (value: the tree id user space assigned when an exec matched an agent selector); a
 * fork of an agent process puts the child in the same tree here, in the kernel, so no child can act
 * before it is known.
 */
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "watch.h"
#include "agents.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* every task (thread id) of an agent tree: the permission thread in user space asks this map */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, __u32);
	__type(value, __u32);
} agent_tids SEC(".maps");

/* WW_TID_AGENT / WW_TID_PERM per thread id (watch.h); max_entries is set from pid_max at load */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4194304 / WW_TID_SPAN);
	__type(key, __u32);
	__type(value, struct ww_tid_bytes);
} tid_bytes SEC(".maps");

/* tid_byte - the tid_bytes byte of TID, or 0 when TID is beyond the map (pid_max raised later:
 * user space then asks agent_tids) */
static __always_inline __u8 *tid_byte(__u32 tid)
{
	__u32 k = tid / WW_TID_SPAN;
	struct ww_tid_bytes *v = bpf_map_lookup_elem(&tid_bytes, &k);
	return v ? &v->b[tid & (WW_TID_SPAN - 1)] : 0;
}

/* executable names (comm, i.e. basename cut to 15 bytes) of `exe` agent selectors without glob
 * characters: such an exec joins the agent maps here, before it runs a single instruction of the
 * new image, so its first opens are already held; user space then assigns the real tree id */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[16]);
	__type(value, __u32);
} agent_comms SEC(".maps");

static __always_inline struct ww_event *reserve(__u32 kind, struct task_struct *t, __u32 tree)
{
	struct ww_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->kind = kind;
	e->tid = BPF_CORE_READ(t, pid);
	e->tgid = BPF_CORE_READ(t, tgid);
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->uid = BPF_CORE_READ(t, real_cred, uid.val);
	e->tree = tree;
	e->ts_ns = bpf_ktime_get_ns();
	e->exit_code = 0;
	e->args_len = 0;
	e->file[0] = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	return e;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ww_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctid = BPF_CORE_READ(child, pid);
	__u32 *tree = bpf_map_lookup_elem(&agents, &ptgid);
	__u8 *b = tid_byte(ctid);
	if (!tree) {
		if (b)
			*b = 0; /* a new thread: nothing a previous owner of the id left counts */
		return 0;
	}
	__u32 t = *tree;
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	bpf_map_update_elem(&agents, &ctgid, &t, BPF_ANY);
	bpf_map_update_elem(&agent_tids, &ctid, &t, BPF_ANY);
	if (b)
		*b = WW_TID_AGENT;
	struct ww_event *e = reserve(WW_FORK, child, t);
	if (!e)
		return 0;
	e->ppid = ptgid; /* the child's real_parent is not final for CLONE_PARENT; the forker is */
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ww_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 *tree = bpf_map_lookup_elem(&agents, &tgid);
	if (tree && old_pid != (pid_t)tgid) {
		/* a thread other than the leader exec'd and took the tgid as its id; the leader's
		 * exit (before this) removed that id from the maps */
		__u32 t = *tree;
		bpf_map_update_elem(&agent_tids, &tgid, &t, BPF_ANY);
		__u8 *b = tid_byte(tgid);
		if (b)
			*b = WW_TID_AGENT;
	}
	if (!tree) {
		char comm[16] = {};
		BPF_CORE_READ_STR_INTO(&comm, p, comm);
		if (bpf_map_lookup_elem(&agent_comms, &comm)) {
			__u32 pending = WW_TREE_PENDING, tid = BPF_CORE_READ(p, pid);
			bpf_map_update_elem(&agents, &tgid, &pending, BPF_ANY);
			bpf_map_update_elem(&agent_tids, &tid, &pending, BPF_ANY);
			__u8 *b = tid_byte(tid);
			if (b)
				*b = WW_TID_AGENT;
		}
	}
	struct ww_event *e = reserve(WW_EXEC, p, tree ? *tree : 0);
	if (!e)
		return 0;
	const char *fn = BPF_CORE_READ(bprm, filename);
	bpf_probe_read_kernel_str(&e->file, sizeof(e->file), fn);
	unsigned long a0 = BPF_CORE_READ(p, mm, arg_start);
	unsigned long a1 = BPF_CORE_READ(p, mm, arg_end);
	unsigned long n = a1 - a0;
	if (n > WW_ARGS_MAX)
		n = WW_ARGS_MAX;
	n &= (WW_ARGS_MAX - 1) | WW_ARGS_MAX;
	if (n > 0 && n <= WW_ARGS_MAX && bpf_probe_read_user(&e->args, n, (void *)a0) == 0)
		e->args_len = n;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ww_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 *tree = bpf_map_lookup_elem(&agents, &tgid);
	if (!tree)
		return 0;
	__u32 t = *tree;
	__u32 tid = BPF_CORE_READ(p, pid);
	/* the whole process is gone when its last thread exits: signal->live reaches 0 */
	int live = BPF_CORE_READ(p, signal, live.counter);
	if (live == 0)
		bpf_map_delete_elem(&agents, &tgid);
	bpf_map_delete_elem(&agent_tids, &tid);
	__u8 *b = tid_byte(tid);
	if (b)
		*b &= ~WW_TID_AGENT;
	struct ww_event *e = reserve(WW_EXIT, p, t);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->args_len = live == 0; /* 1: the process (not just a thread) ended */
	bpf_ringbuf_submit(e, 0);
	return 0;
}
