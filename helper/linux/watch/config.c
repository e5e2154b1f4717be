/*
 * The helper's config file (WIRE.md §4.1), written by `warden watch` from the policy: one record
 * per line, fields separated by one TAB, `#` comments. Paths with TAB or newline are refused by the
 * writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ww.h"

static int copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/*
 * config_load - read PATH into `cfg`. Returns 0, or -1 with a message naming the line in ERR.
 */
int config_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot open config %s: %s", path, strerror(errno));
		return -1;
	}
	cfg.bulk_count = 50;
	cfg.bulk_window_ms = 10000;
	cfg.ask_timeout_ms = 300000;
	cfg.bulk_deny_kill = 1;
	cfg.preimage_max = 64LL << 20;
	cfg.egress = 1;
	char line[2048];
	int ln = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		ln++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		char *f_[5] = {0};
		int nf = 0;
		char *s = line;
		while (nf < 5) {
			f_[nf++] = s;
			char *tab = strchr(s, '\t');
			if (!tab)
				break;
			*tab = 0;
			s = tab + 1;
		}
		const char *k = f_[0];
		int bad = 0;
		if (ln == 1) {
			bad = strcmp(k, "warden-watch") || nf < 2 || strcmp(f_[1], "1");
		} else if (!strcmp(k, "socket") && nf == 2) {
			bad = copy(cfg.socket, sizeof cfg.socket, f_[1]);
		} else if (!strcmp(k, "shadow") && nf == 2) {
			bad = copy(cfg.shadow, sizeof cfg.shadow, f_[1]);
		} else if (!strcmp(k, "root") && nf == 2 && cfg.nroots < WW_MAX_ROOTS) {
			bad = f_[1][0] != '/' || copy(cfg.roots[cfg.nroots++], 512, f_[1]);
		} else if (!strcmp(k, "deny") && nf == 2 && cfg.ndeny < WW_MAX_ROOTS) {
			bad = f_[1][0] != '/' || copy(cfg.deny[cfg.ndeny++], 512, f_[1]);
		} else if (!strcmp(k, "agent") && nf == 4 && cfg.nsel < WW_MAX_SEL) {
			struct ww_selector *sl = &cfg.sel[cfg.nsel++];
			sl->kind = !strcmp(f_[2], "argv") ? 1 : !strcmp(f_[2], "exe") ? 0 : -1;
			bad = sl->kind < 0 || copy(sl->id, sizeof sl->id, f_[1]) ||
			      copy(sl->pattern, sizeof sl->pattern, f_[3]);
		} else if (!strcmp(k, "user") && nf == 3 && cfg.nusers < WW_MAX_USERS) {
			cfg.users[cfg.nusers].uid = (uid_t)strtoul(f_[1], 0, 10);
			bad = f_[2][0] != '/' ||
			      copy(cfg.users[cfg.nusers++].state, sizeof cfg.users[0].state, f_[2]);
		} else if (!strcmp(k, "bulk") && nf == 3) {
			cfg.bulk_count = atol(f_[1]);
			cfg.bulk_window_ms = atol(f_[2]);
		} else if (!strcmp(k, "bulk_deny") && nf == 2) {
			cfg.bulk_deny_kill = !strcmp(f_[1], "kill");
			bad = !cfg.bulk_deny_kill && strcmp(f_[1], "thaw");
		} else if (!strcmp(k, "ask_timeout_ms") && nf == 2) {
			cfg.ask_timeout_ms = atol(f_[1]);
		} else if (!strcmp(k, "preimage_max") && nf == 2) {
			cfg.preimage_max = atoll(f_[1]);
		} else if (!strcmp(k, "lazy_perm") && nf == 2) {
			cfg.lazy_perm = atoi(f_[1]);
		} else if (!strcmp(k, "egress") && nf == 2) {
			cfg.egress = !strcmp(f_[1], "steer");
			bad = !cfg.egress && strcmp(f_[1], "off");
		} else if (!strcmp(k, "no_bpf") && nf == 2) {
			cfg.no_bpf = atoi(f_[1]);
		} else {
			bad = 1;
		}
		if (bad) {
			snprintf(err, errlen, "%s:%d: bad or unknown record '%s'", path, ln, k);
			rc = -1;
			break;
		}
	}
	fclose(f);
	if (rc == 0 && (!cfg.socket[0] || !cfg.nroots)) {
		snprintf(err, errlen, "%s: needs a socket and at least one root", path);
		rc = -1;
	}
	return rc;
}
