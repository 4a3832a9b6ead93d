/* Unit tests for the configuration parser (rules/): every error path with
 * its file:line:column, warnings for PasTmon-only constructs, includes
 * (nesting, relative paths, cycles), values and defaults. */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "rules/rules.h"
#include "engine/census_conf.h"
#include "common/util.h"

static struct am_diags D;

static struct am_config *
load_text(const char *text)
{
	am_diags_free(&D);
	am_diags_init(&D);
	return am_config_load_mem("t.conf", text, strlen(text), &D);
}

static void
dump_diags(void)
{
	am_diags_print(&D, stderr);
}

/* 1 if a message of that kind stands at line:col and holds `sub`. */
static int
has_diag(int error, unsigned line, unsigned col, const char *sub)
{
	for (size_t i = 0; i < D.n; i++) {
		const struct am_diag *g = &D.v[i];
		if (g->error == error && g->line == line && g->col == col && strstr(g->msg, sub))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* every error, with its place */

struct errcase {
	const char *text;
	unsigned line, col;
	const char *msg;
};

static const struct errcase errcases[] = {
	/* lexical */
	{ "artmon { filter = \"tcp;\n}", 1, 19, "unterminated string" },
	{ "artmon { }\n/* open", 2, 1, "unterminated comment" },
	{ "artmon { snaplen = 100 # comment\n; }", 1, 24, "unexpected character '#'" },
	{ "artmon { snaplen = \x01; }", 1, 20, "unexpected byte 0x01" },
	{ "rule a { transaction t { Content =\xcb\x9c \"x\"; } }", 1, 35, "a PDF's rendering of '~'): write '=~'" },
	/* structure */
	{ "artmon { snaplen = 100 }", 1, 24, "expected ';' after '100', got '}'" },
	{ "artmon { snaplen = 100", 1, 23, "expected ';' after '100', got the end of the file" },
	{ "generic {\n rule r {\n", 3, 1, "expected '}' to close the block 'rule' opened at line 2" },
	{ "artmon { }\n}", 2, 1, "unexpected '}' with no block open" },
	{ "{ snaplen = 1; }", 1, 1, "expected a block name before '{'" },
	/* census: filter sets and top-N settings */
	{ "artmon { filter_set { a = \"tcp\"; } }", 1, 10, "expected 'filter_set NAME {" },
	{ "artmon { filter_set a b { x = \"tcp\"; } }", 1, 10, "expected 'filter_set NAME {" },
	{ "artmon { filter_set hw.x { a = \"tcp\"; } }", 1, 21, "not begin with 'hw.'" },
	{ "artmon { filter_set \"a b\" { x = \"tcp\"; } }", 1, 21, "a filter set name must be" },
	{ "artmon { filter_set w { a = tcp; } }", 1, 29, "expected a BPF expression in double quotes" },
	{ "artmon { filter_set w { a = \"\"; } }", 1, 29, "is empty" },
	{ "artmon { filter_set w { a = \"tcp port 1 or tcp port 2 or tcp port 3 or tcp port 4 or "
	  "tcp port 5 or tcp port 6 or tcp port 7 or tcp port 8 or tcp port 9 or tcp port 10 or "
	  "tcp port 11 or tcp port 12 or tcp port 13 or tcp port 14 or tcp port 15 or tcp port 16 or "
	  "tcp port 17 or tcp port 18 or tcp port 19\"; } }", 1, 29, "longer than 255 bytes" },
	{ "artmon { filter_set w { a = \"tcp\", \"udp\"; } }", 1, 36, "expected a single value" },
	{ "artmon { filter_set w {\n a = \"tcp\";\n a = \"udp\"; } }", 3, 2,
	  "label 'a' is given twice in filter set 'w' (first at line 2)" },
	{ "artmon { filter_set w { a = \"tcp\"; }\n filter_set w { b = \"udp\"; } }", 2, 13,
	  "filter set 'w' is defined twice" },
	{ "artmon { filter_set w { x { } } }", 1, 25, "unexpected block 'x' in filter set 'w'" },
	{ "artmon { top_n = 1001; }", 1, 18, "expected a number from 0 to 1000 for 'top_n'" },
	{ "artmon { top_capacity = 8; }", 1, 25, "from 16 to 65536" },
	{ "artmon { top_n = 100;\n top_capacity = 50; }", 2, 17, "top_capacity (50) must be at least top_n (100)" },
	{ "snaplen = 1;", 1, 1, "at the top level" },
	{ "artmon extra { }", 1, 8, "expected '{' after the section name 'artmon'" },
	{ "artmon { include; }", 1, 17, "expected a file name in double quotes after 'include'" },
	{ "artmon { include x; }", 1, 18, "expected a file name in double quotes" },
	{ "artmon { include \"a\" \"b\"; }", 1, 22, "expected ';' after the file name of 'include'" },
	{ "artmon { include \"\"; }", 1, 18, "empty or invalid name" },
	{ "include \"/nonexistent/artmon-test.conf\";", 1, 9, "cannot read included file" },
	{ "include \"/dev/null\";", 1, 9, "not a regular file" },
	{ "include \"/\";", 1, 9, "Is a directory" },
	{ "a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{a{}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}",
	  1, 64, "nested too deeply" },
	/* statements and values */
	{ "artmon { snaplen 100; }", 1, 18, "expected '=' after 'snaplen', got '100'" },
	{ "artmon { snaplen; }", 1, 17, "expected '=' after 'snaplen', got ';'" },
	{ "artmon { \"snaplen\" = 1; }", 1, 10, "expected a setting name" },
	{ "artmon { snaplen = ; }", 1, 20, "expected a value after '=', got ';'" },
	{ "artmon { interface = \"a\", ; }", 1, 27, "expected a value after ',', got ';'" },
	{ "artmon { interface = ,\"a\"; }", 1, 22, "expected a value after '=', got ','" },
	{ "artmon { snaplen = 1 = 2; }", 1, 22, "expected ';' or ','" },
	{ "artmon { snaplen = 100, 200; }", 1, 25, "expected a single value for 'snaplen'" },
	{ "artmon { snaplen = 100 200; }", 1, 24, "expected ';' after the value of 'snaplen'" },
	{ "artmon { snaplen =~ 100; }", 1, 18, "'=~' is only for Content" },
	{ "artmon { snaplen = big; }", 1, 20, "expected a number for 'snaplen'" },
	{ "artmon { snaplen = 10; }", 1, 20, "expected a number from 64 to 262144" },
	{ "artmon { snaplen = 99999999999999999999999; }", 1, 20, "expected a number" },
	{ "artmon { interval = 5x; }", 1, 21, "expected a duration unit" },
	{ "artmon { interval = soon; }", 1, 21, "expected a duration for 'interval'" },
	{ "artmon { interval = 0; }", 1, 21, "duration out of range" },
	{ "artmon { buffer = lots; }", 1, 19, "expected a size for 'buffer'" },
	{ "artmon { buffer = 1K; }", 1, 19, "expected a size from 65536" },
	{ "artmon { interface = {; }", 1, 10, "unexpected block 'interface' in the artmon section" },
	{ "artmon { bogus = 1; }", 1, 10, "unknown setting 'bogus' in the artmon section" },
	{ "artmon { limits { } }", 1, 10, "unexpected block 'limits' in the artmon section" },
	{ "artmon { filter = \"a\\\"b\", \"c\"; }", 1, 27, "expected a single value" },
	/* plugin sections */
	{ "generic { Offset = 0; }", 1, 11, "unknown setting 'Offset' in the generic section" },
	{ "generic { frob { } }", 1, 11, "unexpected block 'frob' in the generic section" },
	{ "generic { transaction T { } }", 1, 11, "transaction outside a rule" },
	{ "transaction T { }", 1, 1, "transaction outside a rule" },
	{ "generic { WaitforSYN = 2; }", 1, 24, "expected 0 or 1 for 'WaitforSYN'" },
	{ "generic { Cutoff = 0; }", 1, 20, "expected a number from 1" },
	{ "generic { netmasklen = 33; }", 1, 24, "expected a number from 0 to 32" },
	{ "ICMP { redirects = 1; }", 1, 8, "unknown setting 'redirects' in the ICMP section" },
	{ "ICMP { x { } }", 1, 8, "unexpected block 'x' in the ICMP section" },
	{ "ICMP { redirect = maybe; }", 1, 19, "expected 0 or 1 for 'redirect'" },
	/* rules */
	{ "rule { }", 1, 6, "expected a name for the rule before '{'" },
	{ "rule a b { }", 1, 8, "expected '{' after the rule name" },
	{ "rule \"(x)\" { }", 1, 6, "parentheses" },
	{ "rule a { }\nrule a { }", 2, 6, "rule 'a' is already defined at t.conf:1" },
	{ "rule a { Server_port = 70000; }", 1, 24, "expected ports from 0 to 65535" },
	{ "rule a { Server_port = 90-80; }", 1, 24, "expected ports from 0 to 65535 (low-high)" },
	{ "rule a { Server_port = http; }", 1, 24, "expected any, a port, a list of ports or a range" },
	{ "rule a { Client_port = \"80,x\"; }", 1, 24, "expected any, a port" },
	{ "rule a { Server_ip = 10.0.0.300; }", 1, 22, "expected any, an address or an address/prefix" },
	{ "rule a { Server_ip = 10.0.0.0/33; }", 1, 22, "expected a prefix length from 0 to 32" },
	{ "rule a { Server_ip6 = 2001:db8::/129; }", 1, 23, "expected a prefix length from 0 to 128" },
	{ "rule a { Server_ip = 2001:db8::1; }", 1, 22, "expected an IPv4 address for 'Server_ip'" },
	{ "rule a { Client_ip6 = 10.1.2.3; }", 1, 23, "expected an IPv6 address for 'Client_ip6'" },
	{ "rule a { Summarise_by = \"host\"; }", 1, 25, "expected \"ip\" or \"port\"" },
	{ "rule a { Timing = \"fast\"; }", 1, 19, "expected \"signature\" or \"adu\"" },
	{ "rule a { Framing = \"smtp\"; }", 1, 20, "expected \"none\", \"http\"" },
	{ "rule a { frob = 1; }", 1, 10, "unknown setting 'frob' in rule" },
	{ "rule a { merge m { } }", 1, 10, "unexpected block 'merge' inside rule" },
	{ "rule a { transaction { } }", 1, 22, "expected a name for the transaction" },
	/* transactions */
	{ "rule a { transaction t { Offset = -1; } }", 1, 35, "expected a number for 'Offset'" },
	{ "rule a { transaction t { Depth = 70000; } }", 1, 34, "expected a number from 0 to 65535" },
	{ "rule a { transaction t { Length = x; } }", 1, 35, "expected a number for 'Length'" },
	{ "rule a { transaction t { Ignore = 3; } }", 1, 35, "expected 0 or 1 for 'Ignore'" },
	{ "rule a { transaction t { ConvMatchVars = \"Title\"; } }", 1, 42,
	  "expected \"none\", \"UpperCase\" or \"LowerCase\"" },
	{ "rule a { transaction t { Frob = 1; } }", 1, 26, "unknown setting 'Frob' in transaction" },
	{ "rule a { transaction t { x { } } }", 1, 26, "unexpected block 'x' inside transaction" },
	{ "rule a { transaction t { merge { } } }", 1, 32, "expected a name for the merge" },
	{ "rule a { transaction t { merge m { Ignore = 1; } } }", 1, 36, "unknown setting 'Ignore' in merge" },
	{ "rule a { transaction t { merge m { y { } } } }", 1, 36, "unexpected block 'y' inside merge" },
	{ "rule a { transaction t { Content = GET; } }", 1, 36, "expected a string, =~ \"regex\" or regex:\"regex\"" },
	{ "rule a { transaction t { Content = \"\"; } }", 1, 36, "Content is empty" },
	{ "rule a { transaction t { Content = \"a\" \"b\"; } }", 1, 40, "expected ',' or ';' after the Content string" },
	{ "rule a { transaction t { Content = \"a\", i; } }", 1, 41, "regex flags given for a literal Content" },
	{ "rule a { transaction t { Content = \"a|0g|\"; } }", 1, 40, "expected a hex digit or '|' in hex bytes, got 'g'" },
	{ "rule a { transaction t { Content = \"a|0d0|\"; } }", 1, 42, "expected an even number of hex digits" },
	{ "rule a { transaction t { Content = \"a|0 d|\"; } }", 1, 40, "expected a second hex digit, got a blank" },
	{ "rule a { transaction t { Content = \"a|0d\"; } }", 1, 38, "expected '|' to end the hex bytes" },
	{ "rule a { transaction t { Content = \"a||\"; } }", 1, 38, "expected hex bytes between '|' and '|'" },
	{ "rule a { transaction t { Content =~ \"(a\"; } }", 1, 40, "invalid regex" },
	{ "rule a { transaction t { Content =~ \"\"; } }", 1, 37, "expected a regex, got an empty string" },
	{ "rule a { transaction t { Content =~ \"a\", q; } }", 1, 42, "expected a regex flag (i, m, s or e), got 'q'" },
	{ "rule a { transaction t { Content =~ \"a\", \"iz\"; } }", 1, 44, "got 'z'" },
	{ "rule a { transaction t { Content =~ \"a\", ,; } }", 1, 42, "expected a value after ','" },
	{ "rule a { transaction t { Content = regex:x; } }", 1, 36, "expected a string, =~" },
	{ "rule a { transaction t { Content = regex: 5; } }", 1, 43, "expected a regex in double quotes after 'regex:'" },
	{ "rule a { transaction t { Content = regex: \"a\" \"b\"; } }", 1, 47, "expected ',' or ';' after the regex" },
	{ "rule a { transaction t { Content = regex : ; } }", 1, 42, "expected a regex in double quotes after 'regex:'" },
	{ "rule a { transaction t { Content = regex \"x\"; } }", 1, 36, "expected a string" },
	{ "rule a { transaction t_$1 { Content = \"x\"; } }", 1, 22, "uses $1 but the transaction has no regex Content" },
	{ "rule a { transaction t_$2 { Content =~ \"(x)\"; } }", 1, 22, "uses $2 but the regex has 1 capturing group" },
	{ "rule a { transaction t { Content = \"x\"; Expect_data_bytes = $1; } }", 1, 61,
	  "Expect_data_bytes = $1 needs a regex Content" },
	{ "rule a { transaction t { Content =~ \"x\"; Expect_data_bytes = $1; } }", 1, 62,
	  "the regex has 0 capturing groups" },
	{ "rule a { transaction t { Expect_data_bytes = many; } }", 1, 46,
	  "expected $1..$9 or a number for 'Expect_data_bytes'" },
	{ "rule a { transaction t { merge m { Content =~ \"(a)\"; Expect_data_bytes = $2; } } }", 1, 74,
	  "the regex has 1 capturing group" },
};

START_TEST(test_error_paths)
{
	const struct errcase *c = &errcases[_i];
	struct am_config *cfg = load_text(c->text);

	if (cfg != NULL || !has_diag(1, c->line, c->col, c->msg)) {
		fprintf(stderr, "case %d: %s\n", _i, c->text);
		dump_diags();
	}
	ck_assert_ptr_null(cfg);
	ck_assert_uint_ge(D.errors, 1);
	ck_assert_msg(has_diag(1, c->line, c->col, c->msg),
		      "case %d: no error at %u:%u holding \"%s\"", _i, c->line, c->col, c->msg);
}
END_TEST

/* filter_set blocks and top-N settings: values, order, printing; BPF
 * expressions are compiled by am_config_check_filters (engine/), which
 * reports a bad one at its own file:line:column. */
START_TEST(test_census_settings)
{
	struct am_config *cfg = load_text(
		"artmon {\n"
		"  top_n = 20; top_capacity = 8192;\n"
		"  filter_set web {\n"
		"    http = \"tcp port 80\";\n"
		"    tls  = \"tcp port 443 or tcp port 8443\";\n"
		"  }\n"
		"  filter_set \"dns\" { q = \"udp dst port 53\"; }\n"
		"}\n");
	const struct am_settings *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	s = &cfg->set;
	ck_assert_uint_eq(s->top_n, 20);
	ck_assert_uint_eq(s->top_capacity, 8192);
	ck_assert_uint_eq(s->nfilters, 3);
	ck_assert_str_eq(s->filters[0].set, "web");
	ck_assert_str_eq(s->filters[0].label, "http");
	ck_assert_str_eq(s->filters[0].expr, "tcp port 80");
	ck_assert_uint_eq(s->filters[0].loc.line, 4);
	ck_assert_uint_eq(s->filters[0].loc.col, 12);
	ck_assert_str_eq(s->filters[1].label, "tls");
	ck_assert_str_eq(s->filters[1].expr, "tcp port 443 or tcp port 8443");
	ck_assert_str_eq(s->filters[2].set, "dns");
	ck_assert_str_eq(s->filters[2].label, "q");
	ck_assert_uint_eq(am_config_check_filters(cfg, 0, &D), 0);
	ck_assert_uint_eq(D.errors, 0);
	fp = open_memstream(&buf, &len);
	am_config_print(cfg, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(buf, "  top_n 20, top_capacity 8192\n"
		"  filter_set web\n    http \"tcp port 80\" (t.conf:4)\n"
		"    tls \"tcp port 443 or tcp port 8443\" (t.conf:5)\n"
		"  filter_set dns\n    q \"udp dst port 53\" (t.conf:7)\n"));
	free(buf);
	/* the same census, and not after a change */
	struct am_config *same = load_text(
		"artmon { top_n = 20; top_capacity = 8192;\n"
		" filter_set web { http = \"tcp port 80\"; tls = \"tcp port 443 or tcp port 8443\"; }\n"
		" filter_set dns { q = \"udp dst port 53\"; } }\n");
	struct am_config *other = load_text(
		"artmon { top_n = 20; top_capacity = 8192;\n"
		" filter_set web { http = \"tcp port 8080\"; tls = \"tcp port 443 or tcp port 8443\"; }\n"
		" filter_set dns { q = \"udp dst port 53\"; } }\n");
	ck_assert_ptr_nonnull(same);
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(am_census_config_same(cfg, same), 1);
	ck_assert_int_eq(am_census_config_same(cfg, other), 0);
	ck_assert_int_eq(am_census_config_same(cfg, NULL), 0);
	ck_assert_int_eq(am_census_config_same(NULL, NULL), 1);
	/* a census built from it has the sets, labels and expressions */
	char err[256];
	struct am_census *c = am_census_from_config(cfg, 0, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(am_census_nsets(c), 2);
	ck_assert_str_eq(am_census_set_name(c, 1), "dns");
	ck_assert_str_eq(am_census_expr(c, 0, 1), "tcp port 443 or tcp port 8443");
	ck_assert_uint_eq(am_topn_n(am_census_topn(c, AM_TOP_TALKER_PKTS)), 20);
	ck_assert_uint_eq(am_topn_capacity(am_census_topn(c, AM_TOP_TALKER_PKTS)), 8192);
	am_census_free(c);
	am_config_free(same);
	am_config_free(other);
	am_config_free(cfg);
	/* defaults, and top_n = 0: no top-N tables */
	cfg = load_text("artmon { top_n = 0; }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->set.top_n, 0);
	ck_assert_uint_eq(cfg->set.top_capacity, 4096);
	ck_assert_uint_eq(cfg->set.nfilters, 0);
	c = am_census_from_config(cfg, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(am_census_topn(c, AM_TOP_TALKER_PKTS));
	am_census_free(c);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_census_bpf_errors)
{
	/* every bad expression reported at its place, the good ones not */
	struct am_config *cfg = load_text(
		"artmon {\n"
		"  filter_set web {\n"
		"    ok = \"tcp port 80\";\n"
		"    bad = \"tcp port eighty\";\n"
		"  }\n"
		"  filter_set x { also = \"host 300.1.2.3\"; fine = \"ip6\"; }\n"
		"}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(am_config_check_filters(cfg, 0, &D), 2);
	if (!has_diag(1, 4, 11, "filter set 'web', label 'bad': the BPF expression does not compile") ||
	    !has_diag(1, 6, 25, "filter set 'x', label 'also'"))
		dump_diags();
	ck_assert(has_diag(1, 4, 11, "filter set 'web', label 'bad': the BPF expression does not compile"));
	ck_assert(has_diag(1, 6, 25, "filter set 'x', label 'also'"));
	ck_assert_uint_eq(D.errors, 2);
	/* an expression for another link type */
	am_diags_free(&D);
	am_diags_init(&D);
	am_config_free(cfg);
	cfg = load_text("artmon { filter_set l { b = \"ether broadcast\"; } }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(am_config_check_filters(cfg, 0, &D), 0);
	ck_assert_uint_eq(am_config_check_filters(cfg, 12 /* DLT_RAW */, &D), 1);
	ck_assert(has_diag(1, 1, 29, "label 'b'"));
	am_config_free(cfg);
}
END_TEST

START_TEST(test_all_errors_reported)
{
	const char *text =
		"artmon { snaplen = 1; }\n"
		"rule a { Server_port = x; frob = 2;\n"
		"  transaction t { Content =~ \"(\"; }\n"
		"}\n"
		"artmon { interval = -; }\n";
	struct am_config *cfg = load_text(text);

	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(D.errors, 5);
	ck_assert(has_diag(1, 1, 20, "snaplen"));
	ck_assert(has_diag(1, 2, 24, "Server_port"));
	ck_assert(has_diag(1, 2, 27, "frob"));
	ck_assert(has_diag(1, 3, 32, "invalid regex"));
	ck_assert(has_diag(1, 5, 21, "interval"));
	/* in the order of the text */
	for (size_t i = 1; i < D.n; i++)
		ck_assert(D.v[i - 1].line < D.v[i].line ||
			  (D.v[i - 1].line == D.v[i].line && D.v[i - 1].col <= D.v[i].col));
}
END_TEST

START_TEST(test_diags_print)
{
	char buf[512];
	FILE *f;
	size_t n;

	ck_assert_ptr_null(load_text("artmon { snaplen = 1; }"));
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	am_diags_print(&D, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_str_eq(buf, "t.conf:1:20: error: expected a number from 64 to 262144 "
			 "for 'snaplen', got 1\n");
}
END_TEST

/* ------------------------------------------------------------------ */
/* warnings: accepted, one each */

START_TEST(test_pastmon_warnings)
{
	const char *text =
		"pastmon {\n"
		"  load \"/usr/lib/libplugin_generic.so\";\n"
		"  output \"/usr/lib/liboutput_DBI.so\";\n"
		"  user = \"pm\"; group = \"pmg\";\n"
		"  netmasklen = 24; netmasklen6 = 64;\n"
		"  collect_internal = 1;\n"
		"  enable_p0f = 0;\n"
		"  summary_interval = 60;\n"
		"  something_else = 3;\n"
		"}\n"
		"output_DBI { driver = \"pgsql\"; ipc_msg_key = 0xa0a0a0a0; }\n"
		"active_agents {\n"
		"  system {\n"
		"    syscpu: cpuuser,cpunice = \"sar -u 60 300\", daemon=1, columns=\"3-8\";\n"
		"  }\n"
		"}\n"
		"dns { }\n"
		"tcpsynack { rule s { Server_port = 80; transaction T { Content = \"x\"; } } }\n"
		"rule r { Server_port = 1; transaction T { Content = \"x\"; ConvMatchVars = \"UpperCase\";"
		" Content = \"y\"; } }\n"
		"rule q { Timing = \"adu\"; Name_by = \"sni\"; transaction T { } }\n"
		"rule p { Name_by = \"sni\"; }\n"
		"rule o { transaction t { Content =~ \"\xcb\x86GET\"; } }\n";
	struct am_config *cfg = load_text(text);

	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(D.errors, 0);
	ck_assert(has_diag(0, 2, 3, "'load'"));
	ck_assert(has_diag(0, 3, 3, "'output'"));
	ck_assert(has_diag(0, 6, 3, "collect_internal"));
	ck_assert(has_diag(0, 7, 3, "p0f"));
	ck_assert(has_diag(0, 9, 3, "something_else"));
	ck_assert(has_diag(0, 11, 1, "output_DBI"));
	ck_assert(has_diag(0, 12, 1, "active_agents"));
	ck_assert(has_diag(0, 17, 1, "unknown section 'dns'"));
	ck_assert(has_diag(0, 18, 40, "tcpsynack rule"));
	ck_assert(has_diag(0, 19, 27, "ConvMatchVars has no effect"));
	ck_assert(has_diag(0, 19, 87, "Content given again"));
	ck_assert(has_diag(0, 20, 1, "transactions are not used"));
	ck_assert(has_diag(0, 21, 1, "payload-free"));
	ck_assert(has_diag(0, 22, 37, "U+02C6/U+02DC"));
	ck_assert_uint_eq(D.warnings, 14);
	/* honoured from the pastmon section */
	ck_assert_str_eq(cfg->set.user, "pm");
	ck_assert_str_eq(cfg->set.group, "pmg");
	ck_assert_uint_eq(cfg->set.netmasklen, 24);
	ck_assert_uint_eq(cfg->set.netmasklen6, 64);
	ck_assert_int_eq(cfg->set.interval, 60 * AM_USEC);
	ck_assert_uint_eq(cfg->nsynack, 1);
	ck_assert_uint_eq(cfg->synack[0].ntx, 0);
	/* the literal given last wins */
	ck_assert_uint_eq(cfg->rules[0].tx[0].c.litlen, 1);
	ck_assert_int_eq(cfg->rules[0].tx[0].c.lit[0], 'y');
	am_config_free(cfg);
}
END_TEST

START_TEST(test_artmon_wins_over_pastmon)
{
	/* whatever the order */
	struct am_config *cfg = load_text(
		"artmon { user = \"a\"; netmasklen = 16; }\n"
		"pastmon { user = \"p\"; group = \"pg\"; netmasklen = 24; }\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->set.user, "a");
	ck_assert_str_eq(cfg->set.group, "pg");
	ck_assert_uint_eq(cfg->set.netmasklen, 16);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_artmon_settings)
{
	struct am_config *cfg = load_text(
		"artmon {\n"
		"  interface = \"eth0\", eth1;\n"
		"  filter = \"tcp port 80 and host \\\"x\\\"\";\n"
		"  snaplen = 1500; buffer = 64M; interval = 1m; store = \"/srv/am\";\n"
		"  agentx_socket = \"tcp:localhost:705\"; user = u; group = g; sensor = \"s1\";\n"
		"  netmasklen = 24; netmasklen6 = 48; max_sessions = 1000; memcap = 1G;\n"
		"  max_keys = 5000; max_signatures = 10; max_signature_name = 16;\n"
		"  regex_match_limit = 500; regex_depth_limit = 50; adu_quiet = 250ms;\n"
		"  merge_window = 35ms; max_exchanges = 64;\n"
		"}\n");
	const struct am_settings *s;

	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	s = &cfg->set;
	ck_assert_uint_eq(s->ninterfaces, 2);
	ck_assert_str_eq(s->interfaces[0], "eth0");
	ck_assert_str_eq(s->interfaces[1], "eth1");
	ck_assert_ptr_null(s->interfaces[2]);
	ck_assert_str_eq(s->filter, "tcp port 80 and host \"x\"");
	ck_assert_uint_eq(s->snaplen, 1500);
	ck_assert_uint_eq(s->buffer, 64u << 20);
	ck_assert_int_eq(s->interval, 60 * AM_USEC);
	ck_assert_str_eq(s->store, "/srv/am");
	ck_assert_str_eq(s->agentx, "tcp:localhost:705");
	ck_assert_str_eq(s->user, "u");
	ck_assert_str_eq(s->group, "g");
	ck_assert_str_eq(s->sensor, "s1");
	ck_assert_uint_eq(s->netmasklen, 24);
	ck_assert_uint_eq(s->netmasklen6, 48);
	ck_assert_uint_eq(s->max_sessions, 1000);
	ck_assert_uint_eq(s->memcap, 1ull << 30);
	ck_assert_uint_eq(s->max_keys, 5000);
	ck_assert_uint_eq(s->max_signatures, 10);
	ck_assert_uint_eq(s->max_signature_name, 16);
	ck_assert_uint_eq(s->regex_match_limit, 500);
	ck_assert_uint_eq(s->regex_depth_limit, 50);
	ck_assert_int_eq(s->adu_quiet, 250000);
	ck_assert_int_eq(s->merge_window, 35000);
	ck_assert_uint_eq(s->max_exchanges, 64);
	am_config_free(cfg);
	/* max_exchanges: 0 (as many as sessions) by default */
	cfg = load_text("artmon { }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->set.max_exchanges, 0);
	am_config_free(cfg);
	ck_assert_ptr_null(load_text("artmon { max_exchanges = -1; }\n"));
}
END_TEST

/* The reorder window of several live interfaces: 20 ms by default, 0 turns
 * it off, at most 1 s; `artmon check` shows it. */
START_TEST(test_merge_window)
{
	struct am_config *cfg = load_text("artmon { }\n");
	char buf[4096];
	size_t n;
	FILE *f;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->set.merge_window, 20000);
	am_config_free(cfg);
	cfg = load_text("artmon { merge_window = 0; }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->set.merge_window, 0);
	am_config_free(cfg);
	cfg = load_text("artmon { merge_window = 1500us; }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->set.merge_window, 1500);
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	am_config_print(cfg, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "merge_window 1500us"));
	am_config_free(cfg);
	ck_assert_ptr_null(load_text("artmon { merge_window = 2s; }\n"));
	ck_assert(has_diag(1, 1, 10, "merge_window is at most 1s"));
	ck_assert_ptr_null(load_text("artmon { merge_window = soon; }\n"));
	ck_assert(has_diag(1, 1, 25, "merge_window"));
}
END_TEST

START_TEST(test_defaults)
{
	struct am_config *cfg = load_text("// nothing but a comment\n");
	struct am_settings def;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(D.errors, 0);
	ck_assert(has_diag(0, 0, 0, "no rules"));
	am_settings_default(&def);
	ck_assert_uint_eq(cfg->set.snaplen, def.snaplen);
	ck_assert_int_eq(cfg->set.interval, 300 * AM_USEC);
	ck_assert_uint_eq(cfg->set.netmasklen, 32);
	ck_assert_uint_eq(cfg->set.netmasklen6, 128);
	ck_assert_uint_eq(cfg->set.ninterfaces, 0);
	ck_assert_uint_eq(cfg->nrules, 0);
	ck_assert(!cfg->icmp.present);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_rule_values)
{
	struct am_config *cfg = load_text(
		"pastmon { netmasklen = 20; }\n"
		"generic {\n"
		"  Cutoff = 30; SessionHashSize = 7919; netmasklen6 = 56; ClientRSTasFIN = 1;\n"
		"  rule a {\n"
		"    Summarise_by = \"port\"; WaitforSYN = 0; DelSessionOnCutoff = no;\n"
		"    Server_ip = 10.0.0.0/8, 192.168.1.7; Server_port = 80, 8000-8010, \"3128 3129\";\n"
		"    Client_ip6 = 2001:db8::/32; Client_port = any;\n"
		"    netmasklen = 28;\n"
		"  }\n"
		"  rule b { ClientRSTasFIN = 0; Cutoff = 5; Server_ip = any; }\n"
		"}\n"
		"ICMP { source_quench = 0; }\n");
	const struct am_rule *a, *b;

	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->nrules, 2);
	a = &cfg->rules[0];
	b = &cfg->rules[1];
	ck_assert_str_eq(a->name, "a");
	ck_assert_int_eq(a->summarise, AM_SUMMARISE_PORT);
	ck_assert_uint_eq(a->wait_for_syn, 0);
	ck_assert_uint_eq(a->wait_for_syn_given, 1);
	ck_assert_uint_eq(b->wait_for_syn, 1);           /* not said: waits, */
	ck_assert_uint_eq(b->wait_for_syn_given, 0);     /* unless --midstream */
	ck_assert_uint_eq(a->del_session_on_cutoff, 0);
	ck_assert_uint_eq(a->client_rst_as_fin, 1);       /* from the section */
	ck_assert_int_eq(a->cutoff, 30 * AM_USEC);
	ck_assert_uint_eq(a->session_hash_size, 7919);
	ck_assert_uint_eq(a->netmasklen, 28);              /* own */
	ck_assert_uint_eq(a->netmasklen6, 56);             /* section */
	ck_assert_uint_eq(b->netmasklen, 20);              /* pastmon */
	ck_assert_uint_eq(b->netmasklen6, 56);
	ck_assert_uint_eq(b->client_rst_as_fin, 0);
	ck_assert_int_eq(b->cutoff, 5 * AM_USEC);
	/* Server_ip restricted, Server_ip6 unmentioned: no IPv6 server */
	ck_assert_uint_eq(a->server.any4, 0);
	ck_assert_uint_eq(a->server.any6, 0);
	ck_assert_uint_eq(a->server.n, 2);
	ck_assert_uint_eq(a->server.v[1].bits, 32);
	/* Client_ip6 restricted, Client_ip unmentioned: no IPv4 client */
	ck_assert_uint_eq(a->client.any4, 0);
	ck_assert_uint_eq(a->client.n, 1);
	ck_assert_uint_eq(a->client.v[0].bits, 32);
	ck_assert_uint_eq(a->server_port.any, 0);
	ck_assert_uint_eq(a->server_port.n, 4);
	ck_assert_uint_eq(a->server_port.v[1].lo, 8000);
	ck_assert_uint_eq(a->server_port.v[1].hi, 8010);
	ck_assert_uint_eq(a->server_port.v[3].lo, 3129);
	ck_assert_uint_eq(a->client_port.any, 1);
	/* any IPv4, IPv6 unmentioned: any IPv6 too */
	ck_assert_uint_eq(b->server.any4, 1);
	ck_assert_uint_eq(b->server.any6, 1);
	ck_assert_uint_eq(b->server_port.any, 1);
	/* ICMP: given switches, others on */
	ck_assert(cfg->icmp.present);
	ck_assert_uint_eq(cfg->icmp.source_quench, 0);
	ck_assert_uint_eq(cfg->icmp.redirect, 1);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_content_forms)
{
	struct am_config *cfg = load_text(
		"rule r {\n"
		"  transaction lit { Offset = 2; Depth = 10; Length = 12; Content = \"A|0d0a|B|0d 0a|\\\"\\|\\\\\"; }\n"
		"  transaction re1 { Content =~ \"^x(\\d+)\", i; }\n"
		"  transaction re2 { Content = regex:\"y\", m, s; }\n"
		"  transaction re3 { Content = regex : \"z\\\"\", \"ie\"; }\n"
		"  transaction none { }\n"
		"  transaction X_$1 { Content =~ \"(a)\"; ConvMatchVars = LowerCase; Ignore = 1; }\n"
		"}\n");
	const struct am_rule *r;

	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	r = &cfg->rules[0];
	ck_assert_uint_eq(r->ntx, 6);
	ck_assert_int_eq(r->tx[0].c.kind, AM_CONTENT_LITERAL);
	ck_assert_uint_eq(r->tx[0].c.offset, 2);
	ck_assert_uint_eq(r->tx[0].c.depth, 10);
	ck_assert_uint_eq(r->tx[0].c.has_length, 1);
	ck_assert_uint_eq(r->tx[0].c.length, 12);
	ck_assert_uint_eq(r->tx[0].c.litlen, 9);
	ck_assert_mem_eq(r->tx[0].c.lit, "A\r\nB\r\n\"|\\", 9);
	ck_assert_int_eq(r->tx[1].c.kind, AM_CONTENT_REGEX);
	ck_assert_str_eq(r->tx[1].c.pattern, "^x(\\d+)");
	ck_assert_uint_eq(r->tx[1].c.re_flags, AM_RE_CASELESS);
	ck_assert_uint_eq(r->tx[1].c.captures, 1);
	ck_assert_uint_eq(r->tx[2].c.re_flags, AM_RE_MULTILINE | AM_RE_DOTALL);
	ck_assert_str_eq(r->tx[3].c.pattern, "z\"");
	ck_assert_uint_eq(r->tx[3].c.re_flags, AM_RE_CASELESS | AM_RE_DOLLAR_ENDONLY);
	ck_assert_int_eq(r->tx[4].c.kind, AM_CONTENT_NONE);
	ck_assert_uint_eq(r->tx[5].has_vars, 1);
	ck_assert_int_eq(r->tx[5].conv, AM_CONV_LOWER);
	ck_assert_uint_eq(r->tx[5].ignore, 1);
	ck_assert_int_eq(r->tx[5].sig, AM_SIG_IGNORE);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_comments_and_names)
{
	struct am_config *cfg = load_text(
		"/* a block\n comment */ rule r/*x*/{ // line comment\n"
		"  Server_port = 80;// no blank before\n"
		"  transaction Content-Type { Content = \"a//b/*c*/\"; }\n"
		"  transaction \"quoted name\" { }\n"
		"};\n");

	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->rules[0].name, "r");
	ck_assert_str_eq(cfg->rules[0].tx[0].name, "Content-Type");
	ck_assert_uint_eq(cfg->rules[0].tx[0].c.litlen, 9);
	ck_assert_str_eq(cfg->rules[0].tx[1].name, "quoted name");
	ck_assert_str_eq(cfg->rules[0].loc.file, "t.conf");
	ck_assert_uint_eq(cfg->rules[0].loc.line, 2);
	ck_assert_uint_eq(cfg->rules[0].loc.col, 13);
	am_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* includes */

static char tmpdir[64];

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static struct am_config *
load_tmp(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	am_diags_free(&D);
	am_diags_init(&D);
	return am_config_load(path, &D);
}

static void
setup_tmp(void)
{
	char dir[300];

	strcpy(tmpdir, "/tmp/check_rules.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/sub", tmpdir);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/sub/deeper", tmpdir);
	mkdir(dir, 0700);
}

static void
teardown_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

START_TEST(test_include_nested_relative)
{
	struct am_config *cfg;

	put("main.conf", "generic {\n  include \"sub/rules.inc\";\n}\n");
	/* relative to sub/, not to the working directory or to main.conf */
	put("sub/rules.inc", "rule web {\n  Server_port = 80;\n  include \"deeper/sigs.inc\";\n}\n"
	    "include \"more.inc\";\n");
	put("sub/deeper/sigs.inc", "transaction GET { Content = \"GET \"; }\n"
	    "transaction POST { Content = \"POST \"; }\n");
	put("sub/more.inc", "rule other { Server_port = 81; }\n");
	cfg = load_tmp("main.conf");
	if (cfg == NULL)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->nrules, 2);
	ck_assert_str_eq(cfg->rules[0].name, "web");
	ck_assert_uint_eq(cfg->rules[0].ntx, 2);
	ck_assert_str_eq(cfg->rules[0].tx[1].name, "POST");
	ck_assert_ptr_nonnull(strstr(cfg->rules[0].tx[1].loc.file, "sub/deeper/sigs.inc"));
	ck_assert_uint_eq(cfg->rules[0].tx[1].loc.line, 2);
	ck_assert_str_eq(cfg->rules[1].name, "other");
	ck_assert_uint_eq(cfg->nfiles, 4);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_include_errors_in_included_file)
{
	struct am_config *cfg;

	put("main.conf", "rule a {\n  include \"sub/bad.inc\";\n}\n");
	put("sub/bad.inc", "transaction t {\n  Offset = x;\n}\n");
	cfg = load_tmp("main.conf");
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(D.errors, 1);
	ck_assert_ptr_nonnull(strstr(D.v[0].file, "sub/bad.inc"));
	ck_assert_uint_eq(D.v[0].line, 2);
	ck_assert_uint_eq(D.v[0].col, 12);
}
END_TEST

START_TEST(test_include_cycle)
{
	struct am_config *cfg;

	put("a.conf", "generic {\n include \"sub/b.inc\";\n}\n");
	put("sub/b.inc", "rule r { Server_port = 1; }\ninclude \"../a.conf\";\n");
	cfg = load_tmp("a.conf");
	ck_assert_ptr_null(cfg);
	ck_assert_uint_ge(D.errors, 1);
	ck_assert(has_diag(1, 2, 9, "include cycle"));
	ck_assert_ptr_nonnull(strstr(D.v[0].file, "sub/b.inc"));
}
END_TEST

START_TEST(test_include_self)
{
	put("self.conf", "rule r { }\ninclude \"self.conf\";\n");
	ck_assert_ptr_null(load_tmp("self.conf"));
	ck_assert(has_diag(1, 2, 9, "include cycle"));
}
END_TEST

START_TEST(test_include_twice_is_not_a_cycle)
{
	struct am_config *cfg;

	put("two.conf", "rule a { include \"sigs.inc\"; }\nrule b { include \"sigs.inc\"; }\n");
	put("sigs.inc", "transaction T { Content = \"t\"; }\n");
	cfg = load_tmp("two.conf");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->rules[0].ntx, 1);
	ck_assert_uint_eq(cfg->rules[1].ntx, 1);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_include_pastmon_absolute_path)
{
	struct am_config *cfg;

	/* a PasTmon file names its includes where PasTmon was installed */
	put("pm.conf", "generic {\n include \"/nonexistent/pastmon/etc/pastmon-http-rules.inc\";\n}\n");
	put("pastmon-http-rules.inc", "rule http_80 { Server_port = 80; }\n");
	cfg = load_tmp("pm.conf");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->nrules, 1);
	ck_assert_uint_eq(D.warnings, 1);
	ck_assert(has_diag(0, 2, 10, "does not exist; reading"));
	am_config_free(cfg);
	/* without a copy nearby it is an error */
	put("pm2.conf", "include \"/nonexistent/pastmon/etc/other.inc\";\n");
	ck_assert_ptr_null(load_tmp("pm2.conf"));
	ck_assert(has_diag(1, 1, 9, "cannot read included file"));
}
END_TEST

START_TEST(test_include_too_deep)
{
	char name[32], text[64];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "include \"d%d.conf\";\n", i + 1);
		put(name, text);
	}
	put("d20.conf", "rule r { }\n");
	ck_assert_ptr_null(load_tmp("d0.conf"));
	ck_assert_uint_eq(D.errors, 1);
	ck_assert_ptr_nonnull(strstr(D.v[0].msg, "nested too deeply"));
}
END_TEST

START_TEST(test_include_missing_and_unreadable_top)
{
	put("m.conf", "rule a { }\ninclude \"nothere.inc\";\nrule b { frob = 1; }\n");
	ck_assert_ptr_null(load_tmp("m.conf"));
	ck_assert_uint_eq(D.errors, 2);     /* both reported */
	ck_assert(has_diag(1, 2, 9, "cannot read included file"));
	ck_assert(has_diag(1, 3, 10, "frob"));
	ck_assert_ptr_null(load_tmp("no-such.conf"));
	ck_assert_uint_eq(D.errors, 1);
	ck_assert_ptr_nonnull(strstr(D.v[0].msg, "cannot read"));
}
END_TEST

START_TEST(test_include_unbalanced_file)
{
	/* an included file must close the blocks it opens */
	put("u.conf", "generic { include \"half.inc\"; }\n");
	put("half.inc", "rule a {\n");
	ck_assert_ptr_null(load_tmp("u.conf"));
	ck_assert_ptr_nonnull(strstr(D.v[0].file, "half.inc"));
	ck_assert_ptr_nonnull(strstr(D.v[0].msg, "expected '}'"));
}
END_TEST

START_TEST(test_shipped_default_loads)
{
	const char *src = getenv("top_srcdir");
	char path[1024];
	struct am_config *cfg;

	snprintf(path, sizeof(path), "%s/rules/conf/artmon.conf", src ? src : "..");
	am_diags_free(&D);
	am_diags_init(&D);
	cfg = am_config_load(path, &D);
	if (cfg == NULL || D.warnings > 0)
		dump_diags();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(D.warnings, 0);
	ck_assert_uint_ge(cfg->nrules, 13);
	ck_assert_uint_ge(cfg->nsynack, 1);
	am_config_free(cfg);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules-parser");
	TCase *tc = tcase_create("errors");

	tcase_add_loop_test(tc, test_error_paths, 0, (int)(sizeof(errcases) / sizeof(errcases[0])));
	tcase_add_test(tc, test_all_errors_reported);
	tcase_add_test(tc, test_census_settings);
	tcase_add_test(tc, test_census_bpf_errors);
	tcase_add_test(tc, test_diags_print);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_pastmon_warnings);
	tcase_add_test(tc, test_artmon_wins_over_pastmon);
	tcase_add_test(tc, test_artmon_settings);
	tcase_add_test(tc, test_merge_window);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_rule_values);
	tcase_add_test(tc, test_content_forms);
	tcase_add_test(tc, test_comments_and_names);
	tcase_add_test(tc, test_shipped_default_loads);
	suite_add_tcase(s, tc);

	tc = tcase_create("includes");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, test_include_nested_relative);
	tcase_add_test(tc, test_include_errors_in_included_file);
	tcase_add_test(tc, test_include_cycle);
	tcase_add_test(tc, test_include_self);
	tcase_add_test(tc, test_include_twice_is_not_a_cycle);
	tcase_add_test(tc, test_include_too_deep);
	tcase_add_test(tc, test_include_pastmon_absolute_path);
	tcase_add_test(tc, test_include_missing_and_unreadable_top);
	tcase_add_test(tc, test_include_unbalanced_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	am_diags_free(&D);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
