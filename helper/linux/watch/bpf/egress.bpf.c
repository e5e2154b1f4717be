// SPDX-License-Identifier: GPL-2.0
/*
 * Egress steering for warden-watch (issue 7; PLATFORM.md: cgroup/connect4 loads and can rewrite the
 * destination on the project's VMs). Attached to the cgroup v2 root, so every process passes:
 *
 * - cgroup/connect4 and connect6: a TCP connect by a process of an agent tree (the `agents` map of
 * bpf/watch.bpf.c, shared by user space with bpf_map__reuse_fd) to anything but loopback is
 * rewritten to the helper's steering listener on loopback; the original destination is kept under
 * the socket's cookie;
 * - sockops ACTIVE_ESTABLISHED: once such a socket is connected (before its final ACK is sent, so
 * before the listener can accept it), the record moves to `steered`, keyed by the socket's local
 * port and the family of the listener it reached, which the listener sees as the peer's port.
 *
 * UDP (DNS) and connections to loopback are not steered.
 */
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "egress.h"
#include "agents.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

#define AF_INET     2
#define AF_INET6    10
#define SOCK_STREAM 1

/* set by user space before load: the steering listener's ports (host order); 0: family not steered
 */
const volatile __u16 steer_port4 = 0;
const volatile __u16 steer_port6 = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ww_steer);
} by_cookie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ww_steer);
} steered SEC(".maps");

static __always_inline struct ww_steer *agent_steer(struct ww_steer *o)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tgid = pt >> 32;
	__u32 *tree = bpf_map_lookup_elem(&agents, &tgid);
	if (!tree)
		return 0;
	o->tree = *tree;
	o->pid = tgid;
	o->tid = (__u32)pt;
	__u64 ug = bpf_get_current_uid_gid();
	o->uid = (__u32)ug;
	o->gid = (__u32)(ug >> 32);
	return o;
}

SEC("cgroup/connect4")
int ww_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->type != SOCK_STREAM || !steer_port4)
		return 1;
	__u32 ip = bpf_ntohl(ctx->user_ip4);
	if ((ip >> 24) == 127 || ip == 0)
		return 1;
	struct ww_steer o = {};
	if (!agent_steer(&o))
		return 1;
	o.family = AF_INET;
	o.via = 4;
	o.port = bpf_ntohs((__u16)ctx->user_port);
	o.addr[0] = ctx->user_ip4;
	__u64 c = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&by_cookie, &c, &o, BPF_ANY);
	ctx->user_ip4 = bpf_htonl(0x7f000001);
	ctx->user_port = bpf_htons(steer_port4);
	return 1;
}

SEC("cgroup/connect6")
int ww_connect6(struct bpf_sock_addr *ctx)
{
	if (ctx->type != SOCK_STREAM)
		return 1;
	__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2],
	      a3 = ctx->user_ip6[3];
	int mapped = a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff);
	if (mapped) {
		/* ::ffff:a.b.c.d — an IPv4 connection through a dual-stack socket */
		__u32 ip = bpf_ntohl(a3);
		if ((ip >> 24) == 127 || ip == 0 || !steer_port4)
			return 1;
	} else {
		if (a0 == 0 && a1 == 0 && a2 == 0 && (a3 == 0 || a3 == bpf_htonl(1)))
			return 1; /* :: and ::1 */
		if (!steer_port6)
			return 1;
	}
	struct ww_steer o = {};
	if (!agent_steer(&o))
		return 1;
	o.port = bpf_ntohs((__u16)ctx->user_port);
	__u64 c = bpf_get_socket_cookie(ctx);
	if (mapped) {
		o.family = AF_INET;
		o.via = 4;
		o.addr[0] = a3;
		bpf_map_update_elem(&by_cookie, &c, &o, BPF_ANY);
		ctx->user_ip6[3] = bpf_htonl(0x7f000001);
		ctx->user_port = bpf_htons(steer_port4);
	} else {
		o.family = AF_INET6;
		o.via = 6;
		o.addr[0] = a0;
		o.addr[1] = a1;
		o.addr[2] = a2;
		o.addr[3] = a3;
		bpf_map_update_elem(&by_cookie, &c, &o, BPF_ANY);
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = 0;
		ctx->user_ip6[3] = bpf_htonl(1);
		ctx->user_port = bpf_htons(steer_port6);
	}
	return 1;
}

SEC("sockops")
int ww_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	__u64 c = bpf_get_socket_cookie(skops);
	struct ww_steer *o = bpf_map_lookup_elem(&by_cookie, &c);
	if (!o)
		return 1;
	__u32 k = ww_steer_key(o->via, skops->local_port);
	bpf_map_update_elem(&steered, &k, o, BPF_ANY);
	bpf_map_delete_elem(&by_cookie, &c);
	return 1;
}
