/* What `artmon check` prints: the loaded configuration in a stable text form
 * (tests compare it line by line). */
#include "config.h"
#include "rules/conf_int.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void
print_hosts(FILE *out, const char *fam, const struct am_hostmatch *m, int family, int any)
{
	char buf[AM_ADDRSTRLEN];
	int first = 1;

	fprintf(out, " %s ", fam);
	if (any) {
		fputs("any", out);
		return;
	}
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->v[i].net.family != family)
			continue;
		fprintf(out, "%s%s/%u", first ? "" : ",", am_addr_fmt(&m->v[i].net, buf, sizeof(buf)),
			m->v[i].bits);
		first = 0;
	}
	if (first)
		fputs("none", out);
}

static void
print_ports(FILE *out, const struct am_portmatch *m)
{
	fputs(" port ", out);
	if (m->any) {
		fputs("any", out);
		return;
	}
	if (m->n == 0) {
		fputs("none", out);
		return;
	}
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->v[i].lo == m->v[i].hi)
			fprintf(out, "%s%u", i ? "," : "", m->v[i].lo);
		else
			fprintf(out, "%s%u-%u", i ? "," : "", m->v[i].lo, m->v[i].hi);
	}
}

static void
print_side(FILE *out, const char *side, const struct am_hostmatch *h, const struct am_portmatch *p)
{
	fprintf(out, "    %s", side);
	print_hosts(out, "ip", h, AM_AF_INET, h->any4);
	print_hosts(out, "ip6", h, AM_AF_INET6, h->any6);
	print_ports(out, p);
	fputc('\n', out);
}

static void
print_literal(FILE *out, const uint8_t *p, uint32_t n)
{
	int inhex = 0;

	fputc('"', out);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int printable = c >= 0x20 && c < 0x7f;
		if (!printable) {
			fprintf(out, inhex ? " %02x" : "|%02x", c);
			inhex = 1;
			continue;
		}
		if (inhex) {
			fputc('|', out);
			inhex = 0;
		}
		if (c == '"' || c == '\\' || c == '|')
			fputc('\\', out);
		fputc(c, out);
	}
	if (inhex)
		fputc('|', out);
	fputc('"', out);
}

static void
print_content(FILE *out, const struct am_content *c)
{
	fprintf(out, " offset %u depth %u", c->offset, c->depth);
	if (c->has_length)
		fprintf(out, " length %u", c->length);
	switch (c->kind) {
	case AM_CONTENT_NONE:
		fputs(" any", out);
		break;
	case AM_CONTENT_LITERAL:
		fputs(" content ", out);
		print_literal(out, c->lit, c->litlen);
		break;
	case AM_CONTENT_REGEX:
		fprintf(out, " regex \"%s\"", c->pattern);
		if (c->re_flags) {
			fputs(" flags ", out);
			if (c->re_flags & AM_RE_CASELESS)
				fputc('i', out);
			if (c->re_flags & AM_RE_MULTILINE)
				fputc('m', out);
			if (c->re_flags & AM_RE_DOTALL)
				fputc('s', out);
			if (c->re_flags & AM_RE_DOLLAR_ENDONLY)
				fputc('e', out);
		}
		break;
	}
	if (c->expect_var > 0)
		fprintf(out, " expect_data_bytes $%d", c->expect_var);
	else if (c->expect_var < 0)
		fprintf(out, " expect_data_bytes %" PRIu64, c->expect_const);
}

static void
print_rule(FILE *out, const struct am_config *cfg, const struct am_rule *r)
{
	static const char *const conv[] = { "", " conv upper", " conv lower" };

	fprintf(out, "  rule %s (%s:%u)\n", r->name, r->loc.file, r->loc.line);
	print_side(out, "server", &r->server, &r->server_port);
	print_side(out, "client", &r->client, &r->client_port);
	fprintf(out, "    summarise_by %s, waitforsyn %u, delsessiononcutoff %u, "
		"clientrstasfin %u, cutoff %" PRId64 "s, sessionhashsize %u, "
		"netmasklen %u/%u\n",
		r->summarise == AM_SUMMARISE_PORT ? "port" : "ip", r->wait_for_syn,
		r->del_session_on_cutoff, r->client_rst_as_fin, (int64_t)(r->cutoff / AM_USEC),
		r->session_hash_size, r->netmasklen, r->netmasklen6);
	if (r->timing == AM_TIMING_ADU || r->name_by != AM_NAME_BY_SIGNATURE ||
	    r->framing != AM_FRAMING_NONE)
		fprintf(out, "    timing %s, name_by %s, framing %s\n",
			r->timing == AM_TIMING_ADU ? "adu" : "signature",
			r->name_by == AM_NAME_BY_SNI ? "sni" : "signature",
			am_framing_name(r->framing));
	for (uint32_t j = 0; j < r->ntx; j++) {
		const struct am_txdef *tx = &r->tx[j];
		fprintf(out, "    transaction %s%s:", tx->name, tx->ignore ? " (ignored)" : "");
		print_content(out, &tx->c);
		fprintf(out, "%s\n", conv[tx->conv]);
		for (uint32_t k = 0; k < tx->nmerge; k++) {
			fprintf(out, "      merge %s:", tx->merge[k].name);
			print_content(out, &tx->merge[k].c);
			fputc('\n', out);
		}
	}
	if (r->plugin == AM_PLUGIN_GENERIC && cfg->rt != NULL)
		fprintf(out, "    signatures: catch-all %d, overflow %d\n", r->sig_other,
			r->sig_overflow);
}

void
am_config_print(const struct am_config *cfg, FILE *out)
{
	const struct am_settings *s = &cfg->set;
	char b1[32];

	fprintf(out, "config %s\n", cfg->path);
	for (uint32_t i = 1; i < cfg->nfiles; i++)
		fprintf(out, "  includes %s\n", cfg->files[i]);
	fputs("settings\n", out);
	fputs("  interface", out);
	if (s->ninterfaces == 0)
		fputs(" (none)", out);
	for (uint32_t i = 0; i < s->ninterfaces; i++)
		fprintf(out, " %s", s->interfaces[i]);
	fputc('\n', out);
	fprintf(out, "  filter %s\n", s->filter ? s->filter : "(none)");
	if (s->merge_window % 1000)
		snprintf(b1, sizeof(b1), "%" PRId64 "us", s->merge_window);
	else
		snprintf(b1, sizeof(b1), "%" PRId64 "ms", s->merge_window / 1000);
	fprintf(out, "  snaplen %u, buffer %" PRIu64 ", merge_window %s, interval %" PRId64 "s\n",
		s->snaplen, s->buffer, b1, (int64_t)(s->interval / AM_USEC));
	fprintf(out, "  store %s, agentx %s, sensor %s\n", s->store,
		s->agentx ? s->agentx : "(default)", s->sensor ? s->sensor : "(host name)");
	fprintf(out, "  user %s, group %s, netmasklen %u/%u\n", s->user ? s->user : "(unchanged)",
		s->group ? s->group : "(unchanged)", s->netmasklen, s->netmasklen6);
	snprintf(b1, sizeof(b1), "%" PRId64 "ms", s->adu_quiet / 1000);
	fprintf(out, "  max_sessions %u, max_pending %u, max_exchanges %u, memcap %" PRIu64 ", max_keys %u, "
		"max_signatures %u, max_signature_name %u\n", s->max_sessions, s->max_pending,
		s->max_exchanges, s->memcap, s->max_keys, s->max_signatures, s->max_signature_name);
	fprintf(out, "  regex_match_limit %u, regex_depth_limit %u, adu_quiet %s\n",
		s->regex_match_limit, s->regex_depth_limit, b1);
	fprintf(out, "  loss_bound %u, anomaly_bound %u, anomaly_intervals %u, anomaly_min_history %u, "
		"anomaly_min_transactions %u, anomaly_days %u\n", s->loss_bound, s->anomaly_bound,
		s->anomaly_intervals, s->anomaly_min_history, s->anomaly_min_txns, s->anomaly_days);
	for (uint32_t i = 0; i < s->nalarms; i++) {
		static const char *const stats[] = { "?", "p50", "p90", "p99", "mean", "max",
			"transactions", "error_rate", "capture_loss" };
		static const char *const timings[] = { "?", "none", "first", "last", "ack", "think", "rtt" };
		static const char *const startups[] = { "?", "rising", "falling", "both" };
		const struct am_alarm_conf *a = &s->alarms[i];
		char addr[AM_ADDRSTRLEN];
		fprintf(out, "  alarm %u \"%s\": %s of %s, server %s port %u signature \"%s\", "
			"rising %u falling %u, startup %s, min_transactions %u, rate_limit %us\n",
			a->index, a->descr, stats[a->statistic > 0 && a->statistic <= 8 ? a->statistic : 0],
			timings[a->timing > 0 && a->timing <= 6 ? a->timing : 0],
			a->server.family ? am_addr_fmt(&a->server, addr, sizeof(addr)) : "*", a->port,
			a->signature, a->rising, a->falling,
			startups[a->startup > 0 && a->startup <= 3 ? a->startup : 0], a->min_txns,
			a->rate_limit);
	}
	if (s->top_n != 10 || s->top_capacity != 4096 || s->nfilters > 0)
		fprintf(out, "  top_n %u, top_capacity %u\n", s->top_n, s->top_capacity);
	for (uint32_t i = 0; i < s->nfilters; i++) {
		const struct am_filter_conf *f = &s->filters[i];
		if (i == 0 || strcmp(f->set, s->filters[i - 1].set) != 0)
			fprintf(out, "  filter_set %s\n", f->set);
		fprintf(out, "    %s \"%s\" (%s:%u)\n", f->label, f->expr, f->loc.file, f->loc.line);
	}
	fprintf(out, "generic: %u rule%s\n", cfg->nrules, cfg->nrules == 1 ? "" : "s");
	for (uint32_t i = 0; i < cfg->nrules; i++)
		print_rule(out, cfg, &cfg->rules[i]);
	fprintf(out, "tcpsynack: %u rule%s\n", cfg->nsynack, cfg->nsynack == 1 ? "" : "s");
	for (uint32_t i = 0; i < cfg->nsynack; i++)
		print_rule(out, cfg, &cfg->synack[i]);
	if (cfg->icmp.present) {
		const struct am_icmp *ic = &cfg->icmp;
		fprintf(out, "icmp: destination_unreachable %u, source_quench %u, redirect %u, "
			"time_exceeded %u, parameter_problem %u, conversion_error %u, the_rest %u\n",
			ic->destination_unreachable, ic->source_quench, ic->redirect,
			ic->time_exceeded, ic->parameter_problem, ic->conversion_error, ic->the_rest);
	} else {
		fputs("icmp: (not configured)\n", out);
	}
	if (cfg->rt != NULL)
		fprintf(out, "signatures: %u\n", am_sig_count(cfg));
}
