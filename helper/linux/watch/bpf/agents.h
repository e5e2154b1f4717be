/*
 * The `agents` map (tgid of an agent-tree process -> tree id, WW_TREE_PENDING while user space has
 * not assigned one), defined once for every BPF object: bpf/watch.bpf.c keeps it; bpf/egress.bpf.c
 * and bpf/lsm.bpf.c get the same map through bpf_map__reuse_fd, which needs the same definition.
 */
#ifndef WARDEN_BPF_AGENTS_H
#define WARDEN_BPF_AGENTS_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} agents SEC(".maps");

#endif
