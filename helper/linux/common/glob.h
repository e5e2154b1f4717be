/* Path glob matcher with the exact semantics of WIRE.md §1 (rule kind path). */
#ifndef WARDEN_GLOB_H
#define WARDEN_GLOB_H

/*
 * glob_match - does absolute PATH match PATTERN?
 * Syntax: '*' any run of chars except '/', '?' one char except '/',
 * '[...]' / '[!...]' ('^' accepted too) classes that never match '/',
 * '**' as a whole segment matches zero or more segments, a trailing
 * "dir/ **" (no space) also matches the directory itself, '\' escapes the next char.
 * Names starting with '.' get no special treatment. Returns 1 or 0.
 */
int glob_match(const char *pattern, const char *path);

/*
 * glob_match_elem - match one argv element S against PATTERN (WIRE.md §3
 * argv rules): the same syntax, but the whole element is one segment, so
 * '*', '?' and classes also match '/'. Returns 1 or 0.
 */
int glob_match_elem(const char *pattern, const char *s);

#endif
