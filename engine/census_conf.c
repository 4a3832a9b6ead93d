/* The census from a configuration; see census_conf.h. */
#include "config.h"
#include "engine/census_conf.h"
#include "common/util.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

unsigned
am_config_check_filters(const struct am_config *cfg, int dlt, struct am_diags *diags)
{
	const struct am_settings *s;
	unsigned bad = 0;
	pcap_t *pd;

	if (cfg == NULL || cfg->set.nfilters == 0)
		return 0;
	s = &cfg->set;
	pd = pcap_open_dead(dlt ? dlt : DLT_EN10MB, 65535);
	if (pd == NULL) {
		am_diags_add(diags, 1, &s->filters[0].loc, "cannot check BPF expressions: "
		    "pcap_open_dead failed");
		return 1;
	}
	for (uint32_t i = 0; i < s->nfilters; i++) {
		const struct am_filter_conf *f = &s->filters[i];
		struct bpf_program prog;
		if (pcap_compile(pd, &prog, f->expr, 1, PCAP_NETMASK_UNKNOWN) == 0) {
			pcap_freecode(&prog);
			continue;
		}
		am_diags_add(diags, 1, &f->loc, "filter set '%s', label '%s': the BPF expression "
		    "does not compile for link type %s: %s", f->set, f->label,
		    pcap_datalink_val_to_name(dlt ? dlt : DLT_EN10MB) ?
		    pcap_datalink_val_to_name(dlt ? dlt : DLT_EN10MB) : "?", pcap_geterr(pd));
		bad++;
	}
	pcap_close(pd);
	return bad;
}

struct am_config *
am_config_load_checked(const char *path, int dlt, struct am_diags *diags)
{
	struct am_config *cfg = am_config_load(path, diags);

	if (cfg != NULL && am_config_check_filters(cfg, dlt, diags) > 0) {
		am_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct am_census_filter *
am_census_filters_from_config(const struct am_config *cfg)
{
	const struct am_settings *s;
	struct am_census_filter *v;

	if (cfg == NULL || cfg->set.nfilters == 0)
		return NULL;
	s = &cfg->set;
	v = am_xcalloc(s->nfilters, sizeof(*v));
	for (uint32_t i = 0; i < s->nfilters; i++) {
		v[i].set = s->filters[i].set;
		v[i].label = s->filters[i].label;
		v[i].expr = s->filters[i].expr;
	}
	return v;
}

struct am_census *
am_census_from_config(const struct am_config *cfg, int dlt, char *err, size_t errlen)
{
	struct am_census_cfg cc;
	struct am_census_filter *v = NULL;
	struct am_census *c;

	am_census_cfg_default(&cc);
	if (dlt)
		cc.dlt = dlt;
	if (cfg != NULL) {
		const struct am_settings *s = &cfg->set;
		v = am_census_filters_from_config(cfg);
		cc.filters = v;
		cc.nfilters = s->nfilters;
		cc.topn = s->top_n > 0;
		if (s->top_n > 0) {
			cc.top.n = s->top_n;
			cc.top.capacity = s->top_capacity;
		}
	}
	c = am_census_new(&cc, err, errlen);
	free(v);
	return c;
}

static int
str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

int
am_census_config_same(const struct am_config *a, const struct am_config *b)
{
	struct am_settings da, db;
	const struct am_settings *sa, *sb;

	am_settings_default(&da);
	am_settings_default(&db);
	sa = a ? &a->set : &da;
	sb = b ? &b->set : &db;
	if (sa->nfilters != sb->nfilters || sa->top_n != sb->top_n ||
	    sa->top_capacity != sb->top_capacity)
		return 0;
	for (uint32_t i = 0; i < sa->nfilters; i++)
		if (!str_eq(sa->filters[i].set, sb->filters[i].set) ||
		    !str_eq(sa->filters[i].label, sb->filters[i].label) ||
		    !str_eq(sa->filters[i].expr, sb->filters[i].expr))
			return 0;
	return 1;
}
