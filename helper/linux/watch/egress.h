/*
 * The record bpf/egress.bpf.c keeps for a steered connection, shared with egress.c.
 */
#ifndef WARDEN_EGRESS_H
#define WARDEN_EGRESS_H

struct ww_steer {
	__u32 tree;    /* agents map value of the connecting process */
	__u32 pid;     /* its tgid */
	__u32 tid;     /* the connecting thread */
	__u32 uid;     /* its uid */
	__u32 gid;     /* its gid */
	__u32 addr[4]; /* original destination, network order (IPv4: addr[0]) */
	__u16 port;    /* original destination port, host order */
	__u16 family;  /* AF_INET or AF_INET6 of the original destination */
	__u32 via;     /* 4 or 6: the steering listener it was sent to */
};

/* steered map key: listener family and the client's local port (host order) */
static inline __u32 ww_steer_key(__u32 via, __u32 port)
{
	return (via << 16) | (port & 0xffff);
}

#endif
