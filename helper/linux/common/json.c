/* JSON line building. Allocation failure sets j->oom instead of aborting. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void jb_append(struct jbuf *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t nc = j->cap ? j->cap : 4096;
		while (nc < j->len + n + 1)
			nc *= 2;
		char *nb = realloc(j->b, nc);
		if (!nb) {
			j->oom = 1;
			return;
		}
		j->b = nb;
		j->cap = nc;
	}
	memcpy(j->b + j->len, s, n);
	j->len += n;
	j->b[j->len] = 0;
}

static void put(struct jbuf *j, const char *s)
{
	jb_append(j, s, strlen(s));
}

int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t k;
		unsigned min;
		if ((c & 0xe0) == 0xc0) {
			k = 1;
			min = 0x80;
			c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			min = 0x800;
			c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		if (i + k >= n)
			return 0;
		for (size_t m = 1; m <= k; m++) {
			if ((s[i + m] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + m] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static void comma(struct jbuf *j)
{
	if (!j->first)
		put(j, ",");
	j->first = 0;
}

void jb_obj_begin(struct jbuf *j)
{
	put(j, "{");
	j->first = 1;
}

void jb_obj_end(struct jbuf *j)
{
	put(j, "}\n");
}

void jb_key(struct jbuf *j, const char *key)
{
	comma(j);
	put(j, "\"");
	put(j, key);
	put(j, "\":");
}

static void hex(struct jbuf *j, const char *s, size_t n)
{
	static const char d[] = "0123456789abcdef";
	put(j, "\"");
	for (size_t i = 0; i < n; i++) {
		char h[2] = {d[(unsigned char)s[i] >> 4], d[(unsigned char)s[i] & 15]};
		jb_append(j, h, 2);
	}
	put(j, "\"");
}

static void quoted(struct jbuf *j, const char *s, size_t n)
{
	put(j, "\"");
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jb_append(j, s + run, i - run);
		run = i + 1;
		char e[8];
		if (c == '"' || c == '\\')
			snprintf(e, sizeof e, "\\%c", c);
		else if (c == '\n')
			strcpy(e, "\\n");
		else if (c == '\t')
			strcpy(e, "\\t");
		else
			snprintf(e, sizeof e, "\\u%04x", c);
		put(j, e);
	}
	jb_append(j, s + run, n - run);
	put(j, "\"");
}

void jb_str(struct jbuf *j, const char *key, const char *s, size_t n)
{
	comma(j);
	put(j, "\"");
	put(j, key);
	if (utf8_valid((const unsigned char *)s, n)) {
		put(j, "\":");
		quoted(j, s, n);
	} else {
		put(j, "_hex\":");
		hex(j, s, n);
	}
}

void jb_cstr(struct jbuf *j, const char *key, const char *s)
{
	if (!s)
		jb_raw(j, key, "null");
	else
		jb_str(j, key, s, strlen(s));
}

void jb_int(struct jbuf *j, const char *key, long long v)
{
	char n[32];
	snprintf(n, sizeof n, "%lld", v);
	jb_raw(j, key, n);
}

void jb_raw(struct jbuf *j, const char *key, const char *raw)
{
	jb_key(j, key);
	put(j, raw);
}

void jb_argv(struct jbuf *j, const char *key, char *const *argv)
{
	int ok = 1;
	for (int i = 0; argv[i]; i++)
		ok &= utf8_valid((const unsigned char *)argv[i], strlen(argv[i]));
	comma(j);
	put(j, "\"");
	put(j, key);
	put(j, ok ? "\":[" : "_hex\":[");
	for (int i = 0; argv[i]; i++) {
		if (i)
			put(j, ",");
		if (ok)
			quoted(j, argv[i], strlen(argv[i]));
		else
			hex(j, argv[i], strlen(argv[i]));
	}
	put(j, "]");
}

static const char *stat_type_name(mode_t m)
{
	return S_ISREG(m)    ? "file"
	       : S_ISDIR(m)  ? "dir"
	       : S_ISLNK(m)  ? "symlink"
	       : S_ISFIFO(m) ? "fifo"
	                     : "other";
}

void jb_stat(struct jbuf *j, const struct stat *st)
{
	char tv[64];
	jb_cstr(j, "type", stat_type_name(st->st_mode));
	jb_int(j, "mode", st->st_mode);
	jb_int(j, "uid", st->st_uid);
	jb_int(j, "gid", st->st_gid);
	jb_int(j, "size", st->st_size);
	snprintf(tv, sizeof tv, "[%lld,%ld]", (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	jb_raw(j, "mtime", tv);
	snprintf(tv, sizeof tv, "[%lld,%ld]", (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec);
	jb_raw(j, "atime", tv);
	jb_int(j, "dev", (long long)st->st_dev);
	jb_int(j, "ino", (long long)st->st_ino);
	jb_int(j, "nlink", (long long)st->st_nlink);
}
