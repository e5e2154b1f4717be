/*
 * A growable byte buffer with just enough JSON writing for the event log
 * (WIRE.md §2): strings that are not valid UTF-8 are written as
 * "<key>_hex":"<lowercase hex>".
 */
#ifndef WARDEN_JSON_H
#define WARDEN_JSON_H

#include <stddef.h>

struct jbuf {
	char *b;
	size_t len, cap;
	int oom;   /* set once an allocation failed; the content is then truncated */
	int first; /* no comma before the next key */
};

/* jb_obj_begin / jb_obj_end - open "{" / close "}\n" of one NDJSON line. */
void jb_obj_begin(struct jbuf *j);
void jb_obj_end(struct jbuf *j);

/* jb_str - "key":"value" (S of length N bytes), or "key_hex":"..." if S is not UTF-8. */
void jb_str(struct jbuf *j, const char *key, const char *s, size_t n);

/* jb_cstr - jb_str for a NUL-terminated S; NULL writes "key":null. */
void jb_cstr(struct jbuf *j, const char *key, const char *s);

/* jb_int - "key":V. */
void jb_int(struct jbuf *j, const char *key, long long v);

/* jb_raw - "key":RAW where RAW is already JSON (true, null, [..]). */
void jb_raw(struct jbuf *j, const char *key, const char *raw);

/* jb_key - "key": then the caller appends a value with jb_append / jb_arr_*. */
void jb_key(struct jbuf *j, const char *key);

/* jb_argv - "key":[...] for a NULL-terminated vector; if any element is not
 * UTF-8 the whole array is written as "key_hex":["hex",...]. */
void jb_argv(struct jbuf *j, const char *key, char *const *argv);

struct stat;
/* jb_stat - the pre-image metadata fields of WIRE.md (type, mode, uid, gid, size, mtime, atime as
 * [sec,nsec], dev, ino, nlink) of ST, inside an object the caller opened. */
void jb_stat(struct jbuf *j, const struct stat *st);

/* jb_append - raw bytes. */
void jb_append(struct jbuf *j, const char *s, size_t n);

/* utf8_valid - 1 if S (N bytes) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const unsigned char *s, size_t n);

#endif
