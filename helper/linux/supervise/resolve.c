/*
 * Path resolution as the target would see it, but race-free for the
 * supervisor: the directory part is opened once with openat2 (man 2
 * openat2) from the target's root/cwd/dirfd taken from /proc/TID, refusing
 * magic links; the op then runs on that trusted dirfd with a final name that
 * is never followed by the kernel. Final symlinks are followed here, so the
 * policy judges the real target (ln -s /outside ws/x; echo > ws/x is caught).
 */
#include "sup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_HOPS 40

static int openat2_dir(int base, const char *path, unsigned long long resolve)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = resolve};
	long fd = syscall(__NR_openat2, base, path, &how, sizeof how);
	return fd < 0 ? -errno : (int)fd;
}

static int fd_path(int fd, char *out)
{
	char l[64];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(l, out, PATH_MAX - 1);
	if (n < 0)
		return -errno;
	out[n] = 0;
	return 0;
}

int proc_cwd(pid_t tid, char *out)
{
	char l[64];
	snprintf(l, sizeof l, "/proc/%d/cwd", tid);
	ssize_t n = readlink(l, out, PATH_MAX - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	out[n] = 0;
	return 0;
}

/* Rewrite the target's self-referring names to /proc/TID/... (in place). */
static int rewrite_self(pid_t tid, pid_t tgid, char *p)
{
	char tmp[PATH_MAX];
	const char *rest = NULL;
	char head[64];
	if (!strncmp(p, "/dev/fd/", 8) || !strcmp(p, "/dev/fd")) {
		snprintf(head, sizeof head, "/proc/%d/fd", tid);
		rest = p + 7;
	} else if (!strcmp(p, "/dev/stdin") || !strcmp(p, "/dev/stdout") ||
	           !strcmp(p, "/dev/stderr")) {
		snprintf(head, sizeof head, "/proc/%d/fd/%d", tid,
		         p[8] == 'i'   ? 0
		         : p[8] == 'o' ? 1
		                       : 2);
		rest = "";
	} else if (!strncmp(p, "/proc/self/", 11) || !strcmp(p, "/proc/self")) {
		snprintf(head, sizeof head, "/proc/%d", tgid);
		rest = p + 10;
	} else if (!strncmp(p, "/proc/thread-self/", 18) || !strcmp(p, "/proc/thread-self")) {
		snprintf(head, sizeof head, "/proc/%d/task/%d", tgid, tid);
		rest = p + 17;
	}
	if (!rest)
		return 0;
	if (snprintf(tmp, sizeof tmp, "%s%s", head, rest) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	strcpy(p, tmp);
	return 0;
}

/* Is P exactly /proc/N/fd/M or /proc/N/task/K/fd/M? */
static int is_fd_link(const char *p)
{
	if (strncmp(p, "/proc/", 6))
		return 0;
	p += 6;
	int parts = 0;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
		if (!*p)
			return parts == 1 || parts == 3;
		if (!strncmp(p, "/fd/", 4) && (parts == 0 || parts == 2)) {
			p += 4;
			parts = parts ? 3 : 1;
		} else if (!strncmp(p, "/task/", 6) && parts == 0) {
			p += 6;
			parts = 2;
		} else
			return 0;
	}
}

/*
 * Length of a leading /proc/N[/task/M]/{cwd,root,fd/K} when more follows
 * (or it stands alone, for cwd/root); 0 otherwise. *ROOTLIKE is set for root.
 */
static size_t magic_dir_prefix(const char *p, int *rootlike)
{
	const char *q = p;
	*rootlike = 0;
	if (strncmp(q, "/proc/", 6))
		return 0;
	q += 6;
	if (!isdigit((unsigned char)*q))
		return 0;
	while (isdigit((unsigned char)*q))
		q++;
	if (!strncmp(q, "/task/", 6) && isdigit((unsigned char)q[6])) {
		q += 6;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (!strncmp(q, "/cwd", 4) && (q[4] == '/' || !q[4]))
		q += 4;
	else if (!strncmp(q, "/root", 5) && (q[5] == '/' || !q[5])) {
		q += 5;
		*rootlike = 1;
	} else if (!strncmp(q, "/fd/", 4) && isdigit((unsigned char)q[4])) {
		q += 4;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q != '/')
			return 0;
	} else
		return 0;
	return (size_t)(q - p) < 64 ? (size_t)(q - p) : 0;
}

static int magic_target(const char *link, struct target *t)
{
	t->magic = 1;
	snprintf(t->magic_path, sizeof t->magic_path, "%s", link);
	if (stat(link, &t->st) == 0)
		t->exists = 1;
	return 0;
}

int resolve_path(pid_t tid, pid_t tgid, int dirfd, const char *path, int follow, struct target *t)
{
	memset(t, 0, sizeof *t);
	t->parent = -1;
	char p[PATH_MAX];
	if (strlen(path) >= sizeof p)
		return -ENAMETOOLONG;
	strcpy(p, path);
	if (!p[0])
		return -ENOENT;
	int base = -1; /* set when a relative symlink continues from a dir */
	for (int hops = 0;; hops++) {
		if (hops > MAX_HOPS) {
			if (base >= 0)
				close(base);
			return -ELOOP;
		}
		int abs = p[0] == '/';
		if (abs) {
			int r = rewrite_self(tid, tgid, p);
			if (r)
				return r;
			if (is_fd_link(p)) {
				char l[PATH_MAX];
				ssize_t n = readlink(p, l, sizeof l - 1);
				if (n < 0)
					return errno == ENOENT ? -ENOENT : -errno;
				l[n] = 0;
				int deleted = n > 10 && !strcmp(l + n - 10, " (deleted)");
				if (l[0] != '/' || deleted) {
					if (base >= 0)
						close(base);
					snprintf(t->canon, sizeof t->canon, "%s", l);
					return magic_target(p, t);
				}
				strcpy(p, l);
			}
			if (base >= 0)
				close(base);
			int rootlike;
			size_t pre = magic_dir_prefix(p, &rootlike);
			if (pre) {
				/* /proc/N/cwd/x, /proc/N/root/x, /proc/N/fd/M/x: open the magic
				 * part ourselves, resolve the rest from it */
				char prefix[64];
				memcpy(prefix, p, pre);
				prefix[pre] = 0;
				base = open(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (base < 0)
					return -errno;
				const char *rest = p + pre;
				while (*rest == '/')
					rest++;
				char tmp[PATH_MAX];
				snprintf(tmp, sizeof tmp, "%s%s", rootlike ? "/" : "",
				         *rest ? rest : (rootlike ? "" : "."));
				strcpy(p, tmp);
				abs = rootlike;
			} else {
				char root[64];
				snprintf(root, sizeof root, "/proc/%d/root", tid);
				base = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
			}
		} else if (base < 0) {
			char l[64];
			if (dirfd == AT_FDCWD)
				snprintf(l, sizeof l, "/proc/%d/cwd", tid);
			else
				snprintf(l, sizeof l, "/proc/%d/fd/%d", tid, dirfd);
			base = open(l, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (base < 0 && errno == ENOENT && dirfd != AT_FDCWD)
				errno = EBADF;
		}
		if (base < 0)
			return errno == ENOENT ? -ESRCH : -errno;
		/* split into directory part and last component */
		size_t len = strlen(p);
		int slash = 0;
		while (len > 1 && p[len - 1] == '/') {
			p[--len] = 0;
			slash = 1;
		}
		char *cut = strrchr(p, '/');
		const char *dir, *last;
		if (!cut) {
			dir = ".";
			last = p;
		} else if (cut == p) {
			dir = "/";
			last = p[1] ? p + 1 : ".";
		} else {
			*cut = 0;
			dir = p;
			last = cut + 1;
		}
		if (strlen(last) > NAME_MAX) {
			close(base);
			return -ENAMETOOLONG;
		}
		int pfd =
		    openat2_dir(base, dir, RESOLVE_NO_MAGICLINKS | (abs ? RESOLVE_IN_ROOT : 0));
		close(base);
		base = -1;
		if (pfd < 0)
			return pfd;
		strcpy(t->last, last);
		t->dot = !strcmp(last, ".") || !strcmp(last, "..");
		if (t->dot) {
			/* name the directory itself: canonicalise and split again */
			int dfd = openat2_dir(pfd, last, 0);
			close(pfd);
			if (dfd < 0)
				return dfd;
			char c[PATH_MAX];
			int r = fd_path(dfd, c);
			close(dfd);
			if (r)
				return r;
			char *s = strrchr(c, '/');
			if (s == c && !c[1]) {
				t->parent = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				strcpy(t->last, ".");
				strcpy(t->canon, "/");
			} else {
				*s = 0;
				t->parent =
				    open(s == c ? "/" : c, O_PATH | O_DIRECTORY | O_CLOEXEC);
				strcpy(t->last, s + 1);
				snprintf(t->canon, sizeof t->canon, "%s/%s", s == c ? "" : c,
				         s + 1);
			}
			if (t->parent < 0)
				return -errno;
			if (fstatat(t->parent, t->last, &t->st, AT_SYMLINK_NOFOLLOW) == 0)
				t->exists = 1;
			return 0;
		}
		if (fstatat(pfd, last, &t->st, AT_SYMLINK_NOFOLLOW) == 0)
			t->exists = 1;
		if ((follow || slash) && t->exists && S_ISLNK(t->st.st_mode)) {
			char l[PATH_MAX];
			ssize_t n = readlinkat(pfd, last, l, sizeof l - 1);
			if (n < 0) {
				int e = errno;
				close(pfd);
				return -e;
			}
			l[n] = 0;
			strcpy(p, l);
			if (p[0] != '/')
				base = pfd; /* continue from the symlink's directory */
			else
				close(pfd);
			continue;
		}
		char pc[PATH_MAX];
		int r = fd_path(pfd, pc);
		if (r) {
			close(pfd);
			return r;
		}
		if (snprintf(t->canon, sizeof t->canon, "%s/%s", strcmp(pc, "/") ? pc : "", last) >=
		    (int)sizeof t->canon) {
			close(pfd);
			return -ENAMETOOLONG;
		}
		t->parent = pfd;
		return 0;
	}
}

int resolve_fd(pid_t tid, int fd, struct target *t)
{
	memset(t, 0, sizeof *t);
	t->parent = -1;
	char l[64];
	snprintf(l, sizeof l, "/proc/%d/fd/%d", tid, fd);
	ssize_t n = readlink(l, t->canon, sizeof t->canon - 1);
	if (n < 0)
		return errno == ENOENT ? -EBADF : -errno;
	t->canon[n] = 0;
	t->pathlike = t->canon[0] == '/';
	return magic_target(l, t);
}

void target_close(struct target *t)
{
	if (t->parent >= 0)
		close(t->parent);
	t->parent = -1;
}
