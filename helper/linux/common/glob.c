/*
 * Segment-wise glob matching. Patterns and paths are split at '/'; '**'
 * segments are handled by trying every split point, other segments by a
 * classic star-backtracking matcher confined to one segment.
 */
#include "glob.h"

#include <stddef.h>

/* End of the pattern segment starting at P (the unescaped '/' or NUL). */
static const char *pseg_end(const char *p)
{
	while (*p && *p != '/') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return p;
}

static const char *sseg_end(const char *s)
{
	while (*s && *s != '/')
		s++;
	return s;
}

/*
 * Match a class starting at P ('['); C is the candidate char. Sets *NEXT to
 * the char after ']'. Returns -1 if the class is unterminated ('[' is then a
 * literal), else 1/0.
 */
static int class_match(const char *p, const char *pe, char c, const char **next)
{
	const char *q = p + 1;
	int neg = 0, hit = 0;
	if (q < pe && (*q == '!' || *q == '^')) {
		neg = 1;
		q++;
	}
	int first = 1;
	while (q < pe && (*q != ']' || first)) {
		first = 0;
		unsigned char lo = (unsigned char)*q;
		if (*q == '\\' && q + 1 < pe)
			lo = (unsigned char)*++q;
		q++;
		unsigned char hi = lo;
		if (q + 1 < pe && *q == '-' && q[1] != ']') {
			q++;
			hi = (unsigned char)*q;
			if (*q == '\\' && q + 1 < pe)
				hi = (unsigned char)*++q;
			q++;
		}
		if ((unsigned char)c >= lo && (unsigned char)c <= hi)
			hit = 1;
	}
	if (q >= pe)
		return -1;
	*next = q + 1;
	return hit != neg;
}

/* Match one segment: pattern [p, pe) against string [s, se). */
static int seg_match(const char *p, const char *pe, const char *s, const char *se)
{
	const char *star_p = NULL, *star_s = NULL;
	while (s < se) {
		if (p < pe) {
			if (*p == '*') {
				star_p = ++p;
				star_s = s;
				continue;
			}
			if (*p == '?') {
				p++;
				s++;
				continue;
			}
			if (*p == '[') {
				const char *next;
				int r = class_match(p, pe, *s, &next);
				if (r == 1) {
					p = next;
					s++;
					continue;
				}
				if (r == 0)
					goto backtrack;
				/* unterminated: literal '[' */
			}
			char lit = *p;
			const char *after = p + 1;
			if (*p == '\\' && p + 1 < pe) {
				lit = p[1];
				after = p + 2;
			}
			if (lit == *s) {
				p = after;
				s++;
				continue;
			}
		}
	backtrack:
		if (!star_p)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

static int is_globstar(const char *p)
{
	return p[0] == '*' && p[1] == '*' && (p[2] == '/' || p[2] == 0);
}

/* P and S each point at the start of a segment. */
static int match_from(const char *p, const char *s)
{
	for (;;) {
		if (is_globstar(p)) {
			if (p[2] == 0)
				return 1; /* trailing '**' eats the rest, even nothing */
			const char *rest = p + 3;
			/* zero segments, then one more each time */
			for (;;) {
				if (match_from(rest, s))
					return 1;
				const char *e = sseg_end(s);
				if (!*e)
					return 0;
				s = e + 1;
			}
		}
		const char *pe = pseg_end(p), *se = sseg_end(s);
		if (!seg_match(p, pe, s, se))
			return 0;
		if (!*pe && !*se)
			return 1;
		if (!*se)
			/* a trailing globstar segment also matches the dir itself */
			return pe[0] == '/' && pe[1] == '*' && pe[2] == '*' && pe[3] == 0;
		if (!*pe)
			return 0;
		p = pe + 1;
		s = se + 1;
	}
}

int glob_match(const char *pattern, const char *path)
{
	return match_from(pattern, path);
}

int glob_match_elem(const char *pattern, const char *s)
{
	const char *pe = pattern, *se = s;
	while (*pe)
		pe++;
	while (*se)
		se++;
	return seg_match(pattern, pe, s, se);
}
