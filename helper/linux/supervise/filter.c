/*
 * The seccomp filter, written by hand as classic BPF (no libseccomp).
 * Read-only opens are allowed in-kernel by testing the flags argument, so
 * read-heavy workloads never leave the kernel; mutating path syscalls go to
 * the supervisor (USER_NOTIF); bypass routes (io_uring, handle-based opens,
 * ptrace, ...) fail with EPERM; a foreign ABI kills the process.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452 /* same number on all arches (asm-generic) */
#endif

#if defined(__x86_64__)
#define WARDEN_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define WARDEN_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "unsupported architecture"
#endif

/* glibc's __O_TMPFILE includes O_DIRECTORY; the kernel flag alone is 020000000 */
#define WRITE_INTENT (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | 020000000)
#define MAXPROG      256

static struct sock_filter prog[MAXPROG];
static unsigned plen;

static void emit(struct sock_filter f)
{
	if (plen < MAXPROG)
		prog[plen++] = f;
}

/* if (nr == NR) return ACTION; */
static void on(int nr, __u32 action)
{
	emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, 1));
	emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* if (nr == NR) return (args[ARG] & WRITE_INTENT) ? USER_NOTIF : ALLOW; */
static void on_open(int nr, int arg)
{
	emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, 4));
	/* low 32 bits of the 64-bit argument (little-endian) */
	emit((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                  offsetof(struct seccomp_data, args) + 8 * arg));
	emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, WRITE_INTENT, 0, 1));
	emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

static void build(void)
{
	const __u32 eperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
	const __u32 notify = SECCOMP_RET_USER_NOTIF;
	plen = 0;
	emit((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                  offsetof(struct seccomp_data, arch)));
	emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WARDEN_AUDIT_ARCH, 1, 0));
	emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                  offsetof(struct seccomp_data, nr)));
#ifdef __X32_SYSCALL_BIT
	/* x32 shares AUDIT_ARCH_X86_64; its numbers carry this bit */
	emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1));
	emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	static const int denied[] = {
	    __NR_io_uring_setup,    __NR_io_uring_enter,
	    __NR_io_uring_register, __NR_open_by_handle_at,
	    __NR_name_to_handle_at, __NR_ptrace,
	    __NR_process_vm_writev, __NR_bpf,
	    __NR_perf_event_open,   __NR_kexec_load,
#ifdef __NR_kexec_file_load
	    __NR_kexec_file_load,
#endif
	};
	for (unsigned i = 0; i < sizeof denied / sizeof denied[0]; i++)
		on(denied[i], eperm);
#ifdef __NR_open
	on_open(__NR_open, 1);
#endif
	on_open(__NR_openat, 2);
	static const int trapped[] = {
#ifdef __NR_creat
	    __NR_creat,
#endif
#ifdef __NR_unlink
	    __NR_unlink,    __NR_rmdir,    __NR_rename,    __NR_link,      __NR_symlink,
	    __NR_mkdir,     __NR_mknod,    __NR_chmod,     __NR_chown,     __NR_lchown,
	    __NR_utime,     __NR_utimes,   __NR_futimesat,
#endif
#ifdef __NR_renameat
	    __NR_renameat,
#endif
	    __NR_openat2,   __NR_truncate, __NR_unlinkat,  __NR_renameat2, __NR_linkat,
	    __NR_symlinkat, __NR_mkdirat,  __NR_mknodat,   __NR_fchmod,    __NR_fchmodat,
	    __NR_fchmodat2, __NR_fchown,   __NR_fchownat,  __NR_utimensat, __NR_execve,
	    __NR_execveat,  __NR_connect,
	};
	for (unsigned i = 0; i < sizeof trapped / sizeof trapped[0]; i++)
		on(trapped[i], notify);
	emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

int filter_install(void)
{
	build();
	if (plen >= MAXPROG)
		return -E2BIG;
	struct sock_fprog fp = {.len = (unsigned short)plen, .filter = prog};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	long fd =
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
	            SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &fp);
	return fd < 0 ? -errno : (int)fd;
}
