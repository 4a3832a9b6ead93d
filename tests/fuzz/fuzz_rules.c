/* libFuzzer target for the configuration language: the input is a
 * configuration file (includes resolve against the working directory, where
 * the runner puts the shipped rule files).  When it loads, every rule is
 * also run over the input itself as request bytes, so the matcher (literal
 * search, PCRE2 with limits, $n names, merges, the TLS name parser) sees
 * hostile data too. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_diags d;
	struct am_config *cfg;
	char sni[64];

	if (devnull == NULL)
		devnull = fopen("/dev/null", "w");
	am_diags_init(&d);
	cfg = am_config_load_mem("fuzz.conf", (const char *)data, size, &d);
	if (devnull != NULL)
		am_diags_print(&d, devnull);
	am_diags_free(&d);
	(void)am_tls_sni(data, (uint32_t)size, sni, sizeof(sni));
	if (cfg == NULL)
		return 0;
	if (devnull != NULL)
		am_config_print(cfg, devnull);
	for (uint32_t r = 0; r < cfg->nrules && r < 64; r++) {
		struct am_req rq;
		int32_t sig = am_req_begin(cfg, (int)r, &rq, data, (uint32_t)size);
		if (sig >= 0 && am_sig_name(cfg, sig) == NULL)
			abort();
		if (size > 1) {
			/* the same bytes as two segments of one request */
			am_req_begin(cfg, (int)r, &rq, data, (uint32_t)(size / 2));
			am_req_more(cfg, &rq, data + size / 2, (uint32_t)(size - size / 2));
			if (am_req_expected(&rq) != 0 && rq.body_start > rq.seen)
				abort();
		}
	}
	for (uint32_t i = 0; i < am_sig_count(cfg); i++)
		if (am_sig_name(cfg, (int32_t)i) == NULL || am_sig_rule(cfg, (int32_t)i) < 0)
			abort();
	am_config_free(cfg);
	return 0;
}
