/*
 * Reading the target's memory. process_vm_readv (man 2 process_vm_readv)
 * fails a whole iovec at an unmapped page, so strings are read one page at a
 * time: a path that ends just before an unmapped page still reads fine.
 */
#include "sup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

int mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		struct iovec l = {(char *)buf + done, len - done};
		struct iovec r = {(void *)(uintptr_t)(addr + done), len - done};
		ssize_t n = process_vm_readv(tid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return n == 0 ? -EFAULT : (errno == ESRCH ? -ESRCH : -EFAULT);
		done += (size_t)n;
	}
	return 0;
}

long mem_read_str(pid_t tid, uint64_t addr, char *buf, size_t cap)
{
	if (!addr)
		return -EFAULT;
	size_t ps = page_size(), got = 0;
	while (got < cap) {
		uint64_t a = addr + got;
		size_t chunk = ps - (size_t)(a % ps);
		if (chunk > cap - got)
			chunk = cap - got;
		struct iovec l = {buf + got, chunk}, r = {(void *)(uintptr_t)a, chunk};
		ssize_t n = process_vm_readv(tid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return errno == ESRCH ? -ESRCH : -EFAULT;
		char *z = memchr(buf + got, 0, (size_t)n);
		if (z)
			return z - buf;
		got += (size_t)n;
	}
	return -ENAMETOOLONG;
}

char **mem_read_argv(pid_t tid, uint64_t addr)
{
	enum { MAXARGS = 4096, MAXBYTES = 256 * 1024 };
	uint64_t ptrs[MAXARGS];
	int n = 0;
	if (addr) {
		for (; n < MAXARGS; n++) {
			int r = mem_read(tid, addr + 8 * (uint64_t)n, &ptrs[n], 8);
			if (r) {
				errno = -r;
				return NULL;
			}
			if (!ptrs[n])
				break;
		}
	}
	char *strings = malloc(MAXBYTES);
	char **v = malloc(((size_t)n + 1) * sizeof *v);
	if (!strings || !v) {
		free(strings);
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		if (used >= MAXBYTES) {
			n = i; /* truncated: the policy sees the first MAXBYTES */
			break;
		}
		long l = mem_read_str(tid, ptrs[i], strings + used, MAXBYTES - used);
		if (l < 0) {
			if (l == -ENAMETOOLONG) {
				strings[MAXBYTES - 1] = 0;
				l = (long)(MAXBYTES - 1 - used);
			} else {
				free(strings);
				free(v);
				errno = (int)-l;
				return NULL;
			}
		}
		used += (size_t)l + 1;
	}
	/* one block: vector first, then the strings */
	char **out = malloc(((size_t)n + 1) * sizeof *out + used);
	if (!out) {
		free(strings);
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	char *s = (char *)(out + n + 1);
	memcpy(s, strings, used);
	for (int i = 0; i < n; i++) {
		out[i] = s;
		s += strlen(s) + 1;
	}
	out[n] = NULL;
	free(strings);
	free(v);
	return out;
}
