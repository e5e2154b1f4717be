/*
 * The delete shadow: fanotify has no permission event for unlink or rename (PLATFORM.md), so a
 * deleted file can only be restored if another link to it exists. The shadow keeps one hardlink per
 * regular file of each watched root at `<shadow>/<root index>/<relative path>` (same filesystem;
 * directories mirrored with their modes), built at start and maintained from name events. When an
 * agent deletes a file, its shadow link becomes the pre-image (linked into the run's stage dir)
 * before the shadow entry goes.
 *
 * The directory cache maps fanotify directory file handles to paths, so events about a directory
 * that is already gone (rm -r runs ahead of the listener) still name their path.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ww.h"

int shadow_active;
long shadow_files;
static int same_fs[WW_MAX_ROOTS];

/* ---- directory cache: handle bytes -> path ---- */
struct dent {
	unsigned long long h;
	unsigned char *key;
	size_t klen;
	char *path;
};
static struct dent *dc;
static size_t dc_cap, dc_n;

static unsigned long long hash(const unsigned char *k, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return h | 1;
}

static struct dent *dc_slot(const unsigned char *k, size_t n, unsigned long long h)
{
	for (size_t i = h & (dc_cap - 1);; i = (i + 1) & (dc_cap - 1)) {
		struct dent *e = &dc[i];
		if (!e->h || (e->h == h && e->klen == n && !memcmp(e->key, k, n)))
			return e;
	}
}

static void dc_grow(void)
{
	struct dent *old = dc;
	size_t oc = dc_cap;
	dc_cap = dc_cap ? dc_cap * 2 : 4096;
	dc = calloc(dc_cap, sizeof *dc);
	for (size_t i = 0; i < oc; i++)
		if (old[i].h)
			*dc_slot(old[i].key, old[i].klen, old[i].h) = old[i];
	free(old);
}

/* dircache_get - the path last known for directory HANDLE (type + bytes), or NULL. */
const char *dircache_get(const void *handle, size_t hlen)
{
	if (!dc_cap)
		return 0;
	struct dent *e = dc_slot(handle, hlen, hash(handle, hlen));
	return e->h ? e->path : 0;
}

void dircache_put(const void *handle, size_t hlen, const char *path)
{
	if (dc_n * 2 >= dc_cap)
		dc_grow();
	unsigned long long h = hash(handle, hlen);
	struct dent *e = dc_slot(handle, hlen, h);
	if (e->h) {
		if (!strcmp(e->path, path))
			return;
		free(e->path);
		e->path = strdup(path);
		return;
	}
	e->h = h;
	e->key = malloc(hlen);
	memcpy(e->key, handle, hlen);
	e->klen = hlen;
	e->path = strdup(path);
	dc_n++;
}

/* dircache_rename - paths at or beneath FROM now live beneath TO. */
void dircache_rename(const char *from, const char *to)
{
	size_t fl = strlen(from);
	for (size_t i = 0; i < dc_cap; i++) {
		struct dent *e = &dc[i];
		if (!e->h || strncmp(e->path, from, fl) || (e->path[fl] && e->path[fl] != '/'))
			continue;
		char *np = malloc(strlen(to) + strlen(e->path + fl) + 1);
		strcpy(np, to);
		strcat(np, e->path + fl);
		free(e->path);
		e->path = np;
	}
}

static void cache_dir(const char *path)
{
	struct {
		struct file_handle fh;
		unsigned char b[128];
	} h;
	int mid;
	h.fh.handle_bytes = sizeof h.b;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mid, 0) < 0)
		return;
	unsigned char key[4 + 128];
	memcpy(key, &h.fh.handle_type, 4);
	memcpy(key + 4, h.fh.f_handle, h.fh.handle_bytes);
	dircache_put(key, 4 + h.fh.handle_bytes, path);
}

/* ---- shadow tree ---- */

/* shadow_path - the shadow entry for PATH. 0, or -1 when PATH is not in a shadowed root. */
int shadow_path(const char *path, char *out, size_t len)
{
	if (!shadow_active || ww_private(path))
		return -1;
	for (int i = 0; i < cfg.nroots; i++) {
		if (!same_fs[i] || !under(path, cfg.roots[i]))
			continue;
		const char *rel = path + strlen(cfg.roots[i]);
		int n = snprintf(out, len, "%s/%d%s", cfg.shadow, i, rel);
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	return -1;
}

static void mkdirs_for(char *p)
{
	char *s = strrchr(p, '/');
	if (!s || s == p)
		return;
	*s = 0;
	if (mkdir(p, 0700) < 0 && errno == ENOENT) {
		mkdirs_for(p);
		mkdir(p, 0700);
	}
	*s = '/';
}

static int build_root;

/* mirror_dir - the shadow of a directory: its mode and owner (a deleted directory is recreated from
 * it); the shadow root itself is 0700, so nothing beneath is reachable for other users. */
static void mirror_dir(const char *sp, const struct stat *st)
{
	if (mkdir(sp, 0700) < 0 && errno != EEXIST)
		return;
	if (lchown(sp, st->st_uid, st->st_gid) < 0 || chmod(sp, st->st_mode & 07777) < 0)
		logmsg("shadow: cannot mirror %s: %s", sp, strerror(errno));
}

static int walk(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (ww_private(fpath))
		return FTW_SKIP_SUBTREE;
	char sp[8192];
	snprintf(sp, sizeof sp, "%s/%d%s", cfg.shadow, build_root,
	         fpath + strlen(cfg.roots[build_root]));
	if (type == FTW_D) {
		mirror_dir(sp, st);
		cache_dir(fpath);
	} else if (type == FTW_F && S_ISREG(st->st_mode)) {
		if (link(fpath, sp) == 0 || errno == EEXIST)
			shadow_files++;
	}
	return FTW_CONTINUE;
}

int shadow_init(void)
{
	if (!cfg.shadow[0])
		return -1;
	mkdir(cfg.shadow, 0700);
	struct stat ss;
	if (lstat(cfg.shadow, &ss) < 0 || !S_ISDIR(ss.st_mode) || ss.st_uid != 0 ||
	    (ss.st_mode & 0077)) {
		logmsg("shadow %s must be a root-owned 0700 directory: deletes are not restorable",
		       cfg.shadow);
		return -1;
	}
	for (int i = 0; i < cfg.nroots; i++) {
		struct stat rs;
		same_fs[i] = stat(cfg.roots[i], &rs) == 0 && rs.st_dev == ss.st_dev;
		if (!same_fs[i])
			logmsg("root %s is not on the shadow's filesystem: its deletes are not "
			       "restorable",
			       cfg.roots[i]);
		else
			shadow_active = 1;
	}
	return shadow_active ? 0 : -1;
}

/* shadow_build - links every regular file of the watched roots into a fresh shadow. */
void shadow_build(void)
{
	for (int i = 0; i < cfg.nroots; i++) {
		if (!same_fs[i]) {
			continue;
		}
		char sp[600];
		snprintf(sp, sizeof sp, "%s/%d", cfg.shadow, i);
		mkdir(sp, 0700);
		build_root = i;
		nftw(cfg.roots[i], walk, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
	}
}

void shadow_created(const char *path, int isdir)
{
	if (isdir)
		cache_dir(path);
	char sp[8192];
	if (shadow_path(path, sp, sizeof sp) < 0)
		return;
	struct stat st;
	if (isdir) {
		if (lstat(path, &st) < 0)
			return;
		if (mkdir(sp, 0700) < 0 && errno == ENOENT)
			mkdirs_for(sp);
		mirror_dir(sp, &st);
		return;
	}
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	unlink(sp);
	if (link(path, sp) < 0 && errno == ENOENT) {
		mkdirs_for(sp);
		if (link(path, sp) < 0)
			return;
	}
	shadow_files++;
}

static int rm_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

void shadow_deleted(const char *path)
{
	char sp[8192];
	if (shadow_path(path, sp, sizeof sp) < 0)
		return;
	if (unlink(sp) == 0) {
		shadow_files--;
		return;
	}
	if (errno == EISDIR && rmdir(sp) < 0 && errno == ENOTEMPTY)
		nftw(sp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void shadow_renamed(const char *from, const char *to)
{
	dircache_rename(from, to);
	char a[8192], b[8192];
	int ha = shadow_path(from, a, sizeof a) == 0, hb = shadow_path(to, b, sizeof b) == 0;
	if (ha && hb) {
		if (rename(a, b) == 0)
			return;
		if (errno == ENOENT) {
			mkdirs_for(b);
			if (rename(a, b) == 0)
				return;
		}
	}
	if (ha)
		shadow_deleted(from);
	if (hb) {
		struct stat st;
		shadow_created(to, lstat(to, &st) == 0 && S_ISDIR(st.st_mode));
	}
}
