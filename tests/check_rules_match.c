/* Unit tests for rules/match.c: connections to rules (first rule wins,
 * CIDR, port lists and ranges), requests to signatures (Offset/Depth
 * window, hex content, regex flags, $n names and their caps, regex limits,
 * Ignore, catch-all), merge blocks with Expect_data_bytes, TLS server names,
 * and the shipped rule sets on typical first requests. */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

static struct am_config *
load(const char *text)
{
	struct am_diags d;
	struct am_config *cfg;

	am_diags_init(&d);
	cfg = am_config_load_mem("m.conf", text, strlen(text), &d);
	if (cfg == NULL)
		am_diags_print(&d, stderr);
	am_diags_free(&d);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

static struct am_addr
A(const char *s)
{
	struct am_addr a;

	ck_assert_int_eq(am_addr_parse(s, &a), 0);
	return a;
}

static int
bind_(const struct am_config *cfg, const char *cli, unsigned cport, const char *srv, unsigned sport)
{
	struct am_addr c = A(cli), s = A(srv);

	return am_rules_bind(cfg, &c, (uint16_t)cport, &s, (uint16_t)sport);
}

static int
rule_index(const struct am_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (strcmp(cfg->rules[i].name, name) == 0)
			return (int)i;
	ck_abort_msg("no rule %s", name);
	return -1;
}

/* The name of the signature a request gets. */
static const char *
name_of(const struct am_config *cfg, int rule, const void *data, size_t len)
{
	int32_t sig = am_classify(cfg, rule, data, (uint32_t)len);

	if (sig == AM_SIG_IGNORE)
		return "IGNORED";
	if (sig == AM_SIG_NONE)
		return "NONE";
	ck_assert_int_eq(am_sig_rule(cfg, sig), rule);
	return am_sig_name(cfg, sig);
}

#define NAME(cfg, rule, str) name_of(cfg, rule, str, sizeof(str) - 1)

/* ------------------------------------------------------------------ */

START_TEST(test_bind_first_rule_wins)
{
	struct am_config *cfg = load(
		"rule narrow { Server_ip = 10.1.0.0/16; Server_port = 80; }\n"
		"rule web { Server_port = 80, 8080, 8000-8010; }\n"
		"rule v6 { Server_ip6 = 2001:db8::/32; }\n"
		"rule ssh_lan { Client_ip = 192.168.0.0/24; Client_port = 1024-65535;"
		" Server_port = 22; }\n"
		"rule host { Server_ip = 172.16.0.9; Server_ip6 = ::1; Server_port = \"5432,6379\"; }\n"
		"tcpsynack { rule hs { Server_port = 443; } }\n");

	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.2.3", 80), 0);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.255.255", 80), 0);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.2.0.1", 80), 1);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.2.3", 8080), 1);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.2.3", 8000), 1);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.2.3", 8010), 1);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.2.3", 8011), -1);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "10.1.2.3", 7999), -1);
	/* IPv6: `web` takes any IPv6 server, `v6` its prefix on any port */
	ck_assert_int_eq(bind_(cfg, "2001:db8::5", 5555, "2001:db9::1", 80), 1);
	ck_assert_int_eq(bind_(cfg, "2001:db8::5", 5555, "2001:db8:ffff::1", 443), 2);
	ck_assert_int_eq(bind_(cfg, "2001:db8::5", 5555, "2001:db9::1", 443), -1);
	/* v6 is restricted to IPv6 servers: no IPv4 server matches it */
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 5555, "9.9.9.9", 443), -1);
	/* client side */
	ck_assert_int_eq(bind_(cfg, "192.168.0.77", 40000, "8.8.8.8", 22), 3);
	ck_assert_int_eq(bind_(cfg, "192.168.0.77", 1000, "8.8.8.8", 22), -1);
	ck_assert_int_eq(bind_(cfg, "192.168.1.77", 40000, "8.8.8.8", 22), -1);
	/* single addresses of both families */
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 1, "172.16.0.9", 6379), 4);
	ck_assert_int_eq(bind_(cfg, "1.1.1.1", 1, "172.16.0.8", 6379), -1);
	ck_assert_int_eq(bind_(cfg, "::2", 1, "::1", 5432), 4);
	ck_assert_int_eq(bind_(cfg, "::2", 1, "::3", 5432), -1);
	/* handshake rules are separate */
	{
		struct am_addr c = A("1.1.1.1"), s = A("2.2.2.2");
		ck_assert_int_eq(am_rules_bind_synack(cfg, &c, 1, &s, 443), 0);
		ck_assert_int_eq(am_rules_bind_synack(cfg, &c, 1, &s, 80), -1);
	}
	am_config_free(cfg);
}
END_TEST

START_TEST(test_window_and_hex)
{
	struct am_config *cfg = load(
		"rule r {\n"
		"  transaction inwin { Offset = 2; Depth = 5; Content = \"ABC\"; }\n"
		"  transaction len4 { Length = 4; }\n"
		"  transaction hex { Content = \"|00 ff|x|0d0a|\"; }\n"
		"  transaction late { Offset = 6; Content = \"Z\"; }\n"
		"}\n");

	ck_assert_str_eq(NAME(cfg, 0, "..ABC...."), "inwin");
	ck_assert_str_eq(NAME(cfg, 0, "....ABC.."), "inwin");    /* ends at the window's end */
	ck_assert_str_eq(NAME(cfg, 0, ".....ABC."), "(other)");  /* one byte past the window */
	ck_assert_str_eq(NAME(cfg, 0, "ABC......"), "(other)");  /* before the offset */
	ck_assert_str_eq(NAME(cfg, 0, "..AB"), "len4");          /* window cut by the data */
	ck_assert_str_eq(NAME(cfg, 0, "abcde"), "(other)");
	ck_assert_str_eq(NAME(cfg, 0, "\x00\xffx\r\n"), "hex");
	ck_assert_str_eq(NAME(cfg, 0, "--\x00\xffx\r\n--"), "hex"); /* anywhere without Depth */
	ck_assert_str_eq(NAME(cfg, 0, "\x00\xfex\r\n"), "(other)");
	ck_assert_str_eq(NAME(cfg, 0, "......Z"), "late");
	ck_assert_str_eq(NAME(cfg, 0, ".....Z"), "(other)");
	/* nothing captured, no rule */
	ck_assert_str_eq(name_of(cfg, 0, "", 0), "(other)");
	ck_assert_str_eq(name_of(cfg, 0, NULL, 0), "(other)");
	ck_assert_str_eq(NAME(cfg, -1, "..ABC"), "NONE");
	ck_assert_str_eq(NAME(cfg, 1, "..ABC"), "NONE");
	am_config_free(cfg);
}
END_TEST

START_TEST(test_regex_flags)
{
	struct am_config *cfg = load(
		"rule f {\n"
		"  transaction cs { Content =~ \"^hello\"; }\n"
		"  transaction ci { Content =~ \"^hello\", i; }\n"
		"  transaction nm { Content =~ \"^line2\"; }\n"
		"  transaction ml { Content =~ \"^line2\", m; }\n"
		"  transaction ns { Content =~ \"^a.b\"; }\n"
		"  transaction ds { Content =~ \"^a.b\", s; }\n"
		"  transaction eo { Content =~ \"^end$\", e; }\n"
		"  transaction de { Content =~ \"^end$\"; }\n"
		"  transaction rx { Content = regex:\"^zz\\d\", \"i\"; }\n"
		"}\n");

	ck_assert_str_eq(NAME(cfg, 0, "hello"), "cs");
	ck_assert_str_eq(NAME(cfg, 0, "HeLLo"), "ci");
	ck_assert_str_eq(NAME(cfg, 0, "line2"), "nm");
	ck_assert_str_eq(NAME(cfg, 0, "line1\nline2"), "ml");
	ck_assert_str_eq(NAME(cfg, 0, "axb"), "ns");
	ck_assert_str_eq(NAME(cfg, 0, "a\nb"), "ds");
	ck_assert_str_eq(NAME(cfg, 0, "end"), "eo");
	ck_assert_str_eq(NAME(cfg, 0, "end\n"), "de");
	ck_assert_str_eq(NAME(cfg, 0, "ZZ7"), "rx");
	ck_assert_str_eq(NAME(cfg, 0, "zzz"), "(other)");
	am_config_free(cfg);
}
END_TEST

START_TEST(test_generated_names)
{
	struct am_config *cfg = load(
		"artmon { max_signatures = 3; max_signature_name = 16; }\n"
		"rule pg {\n"
		"  Server_port = 5432;\n"
		"  transaction Q_$1-$2 {\n"
		"    Offset = 0; Depth = 255;\n"
		"    Content = regex:\"Q(SELECT) .* from (\\w+)\",i;\n"
		"    ConvMatchVars = \"UpperCase\";\n"
		"  }\n"
		"}\n"
		"rule url { transaction GET_$1 { Content =~ \"^GET /(\\S*)\"; } }\n"
		"rule low { transaction $1 { Content =~ \"^(\\w+)\"; ConvMatchVars = LowerCase; } }\n");
	struct am_rules_stats st;
	int32_t a, b;

	ck_assert_str_eq(NAME(cfg, 0, "Qselect * from users where 1"), "Q_SELECT-USERS");
	a = am_classify(cfg, 0, (const uint8_t *)"QSELECT x from users", 20);
	b = am_classify(cfg, 0, (const uint8_t *)"Qselect y FROM Users", 20);
	ck_assert_int_eq(a, b);                 /* one signature for one name */
	ck_assert_str_eq(NAME(cfg, 0, "QSELECT x from orders"), "Q_SELECT-ORDERS");
	/* cut to max_signature_name bytes, counted */
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.name_truncated, 0);
	ck_assert_str_eq(NAME(cfg, 1, "GET /averyveryverylongpath HTTP/1.1"), "GET_averyveryver");
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.name_truncated, 1);
	/* bytes outside printable ASCII become '_' */
	ck_assert_str_eq(NAME(cfg, 1, "GET /a\x01\xc3(b HTTP/1.1"), "GET_a___b");
	/* url now has 2 generated names; one more, then overflow */
	ck_assert_str_eq(NAME(cfg, 1, "GET /c HTTP/1.1"), "GET_c");
	ck_assert_uint_eq(am_rule_overflow(cfg, 1), 0);
	ck_assert_str_eq(NAME(cfg, 1, "GET /d HTTP/1.1"), "(overflow)");
	ck_assert_str_eq(NAME(cfg, 1, "GET /e HTTP/1.1"), "(overflow)");
	ck_assert_uint_eq(am_rule_overflow(cfg, 1), 2);
	ck_assert_int_eq(am_classify(cfg, 1, (const uint8_t *)"GET /d", 6), cfg->rules[1].sig_overflow);
	/* names known before the cap keep their signature */
	ck_assert_str_eq(NAME(cfg, 1, "GET /c"), "GET_c");
	/* the cap is per rule */
	ck_assert_str_eq(NAME(cfg, 2, "HeLLo world"), "hello");
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.name_overflow, 3);
	ck_assert_uint_eq(am_rule_overflow(cfg, 0), 0);
	/* am_sig_intern applies the same caps */
	ck_assert_int_eq(am_sig_intern(cfg, 1, "GET_c", 5), am_classify(cfg, 1, (const uint8_t *)"GET /c", 6));
	ck_assert_int_eq(am_sig_intern(cfg, 1, "zzz", 3), cfg->rules[1].sig_overflow);
	ck_assert_int_eq(am_sig_intern(cfg, 2, "", 0), cfg->rules[2].sig_other);
	ck_assert_int_eq(am_sig_intern(cfg, 7, "x", 1), AM_SIG_NONE);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_regex_limit_counted)
{
	struct am_config *cfg = load(
		"artmon { regex_match_limit = 1000; }\n"
		"rule lim {\n"
		"  transaction slow { Content =~ \"^(a|aa)+$\"; }\n"
		"  transaction fallback { Content = \"a\"; }\n"
		"}\n");
	char buf[64];
	struct am_rules_stats st;

	memset(buf, 'a', 40);
	buf[40] = 'b';
	ck_assert_str_eq(name_of(cfg, 0, buf, 41), "fallback");
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.regex_limit, 1);
	/* a quick failure is not a limit */
	ck_assert_str_eq(NAME(cfg, 0, "ab"), "fallback");
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.regex_limit, 1);
	ck_assert_str_eq(NAME(cfg, 0, "aaaa"), "slow");
	am_config_free(cfg);
}
END_TEST

START_TEST(test_ignore_other_and_stats)
{
	struct am_config *cfg = load(
		"rule r {\n"
		"  transaction quit { Content = \"QUIT\"; Ignore = 1; }\n"
		"  transaction GET { Depth = 4; Content = \"GET \"; }\n"
		"  transaction GET { Depth = 4; Content = \"get \"; }\n"
		"}\n");
	struct am_rules_stats st;
	int32_t sig;

	ck_assert_int_eq(am_classify(cfg, 0, (const uint8_t *)"QUIT\r\n", 6), AM_SIG_IGNORE);
	sig = am_classify(cfg, 0, (const uint8_t *)"GET /", 5);
	ck_assert_int_ge(sig, 0);
	/* a name written twice in a rule is one signature */
	ck_assert_int_eq(am_classify(cfg, 0, (const uint8_t *)"get /", 5), sig);
	ck_assert_str_eq(am_sig_name(cfg, sig), "GET");
	ck_assert_str_eq(NAME(cfg, 0, "PUT /"), "(other)");
	ck_assert_str_eq(am_sig_name(cfg, cfg->rules[0].sig_other), AM_SIG_OTHER_NAME);
	ck_assert_str_eq(am_sig_name(cfg, cfg->rules[0].sig_overflow), AM_SIG_OVERFLOW_NAME);
	ck_assert_ptr_null(am_sig_name(cfg, -1));
	ck_assert_ptr_null(am_sig_name(cfg, (int32_t)am_sig_count(cfg)));
	ck_assert_int_eq(am_sig_rule(cfg, 12345), -1);
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.requests, 4);
	ck_assert_uint_eq(st.ignored, 1);
	ck_assert_uint_eq(st.matched, 2);
	ck_assert_uint_eq(st.other, 1);
	ck_assert_uint_eq(st.signatures, 3);   /* (other), GET, (overflow) */
	am_config_free(cfg);
}
END_TEST

static const char http_rules[] =
	"rule http {\n"
	"  transaction POST {\n"
	"    Offset = 0; Depth = 20; Content = \"POST \";\n"
	"    merge Content-Type { Offset = 0; Depth = 20; Content =~ \"^Content-Type: \", i; }\n"
	"    merge Content-Length { Offset = 0; Depth = 30; Content =~ \"^Content-Length: (\\d+)\", i;"
	" Expect_data_bytes = $1; }\n"
	"  }\n"
	"  transaction GET { Offset = 0; Depth = 4; Content = \"GET \"; }\n"
	"  transaction fixed { Content = \"FIX\"; Expect_data_bytes = 10; }\n"
	"}\n";

START_TEST(test_merge_expect_split)
{
	struct am_config *cfg = load(http_rules);
	struct am_req rq;
	const char *s1 = "POST /form HTTP/1.1\r\nHost: x\r\n";
	const char *s2 = "Content-Type: text/plain\r\n";
	const char *s3 = "Content-Length: 11\r\n\r\nhello";
	const char *s4 = " world";
	uint64_t l1 = strlen(s1), l2 = strlen(s2), l3 = strlen(s3);
	struct am_rules_stats st;

	ck_assert_str_eq(am_sig_name(cfg, am_req_begin(cfg, 0, &rq, (const uint8_t *)s1,
						       (uint32_t)l1)), "POST");
	ck_assert_uint_eq(rq.want_more, 1);
	ck_assert_uint_eq(am_req_expected(&rq), 0);
	am_req_more(cfg, &rq, (const uint8_t *)s2, (uint32_t)l2);
	ck_assert_uint_eq(rq.merged, 1);
	ck_assert_uint_eq(am_req_expected(&rq), 0);
	am_req_more(cfg, &rq, (const uint8_t *)s3, (uint32_t)l3);
	ck_assert_uint_eq(rq.merged, 3);
	ck_assert_uint_eq(rq.body_start, l1 + l2 + l3 - 5);
	ck_assert_uint_eq(am_req_expected(&rq), l1 + l2 + l3 - 5 + 11);
	ck_assert_uint_lt(rq.seen, am_req_expected(&rq));
	am_req_more(cfg, &rq, (const uint8_t *)s4, (uint32_t)strlen(s4));
	ck_assert_uint_eq(rq.seen, am_req_expected(&rq));
	/* the signature does not change */
	ck_assert_str_eq(am_sig_name(cfg, rq.signature), "POST");
	am_rules_stats(cfg, &st);
	ck_assert_uint_eq(st.merges, 2);
	am_config_free(cfg);
}
END_TEST

START_TEST(test_merge_expect_blank_line_split)
{
	struct am_config *cfg = load(http_rules);
	struct am_req rq;
	const char *s1 = "POST / HTTP/1.1\r\n";
	const char *s2 = "Content-Length: 3\r\n\r";
	const char *s3 = "\nabc";

	am_req_begin(cfg, 0, &rq, (const uint8_t *)s1, (uint32_t)strlen(s1));
	am_req_more(cfg, &rq, (const uint8_t *)s2, (uint32_t)strlen(s2));
	ck_assert_uint_eq(am_req_expected(&rq), 0);     /* the headers have not ended */
	am_req_more(cfg, &rq, (const uint8_t *)s3, (uint32_t)strlen(s3));
	ck_assert_uint_eq(am_req_expected(&rq), strlen(s1) + strlen(s2) + 1 + 3);
	ck_assert_uint_eq(rq.seen, am_req_expected(&rq));
	am_config_free(cfg);
}
END_TEST

START_TEST(test_merge_no_expect)
{
	struct am_config *cfg = load(http_rules);
	struct am_req rq;
	const char *get = "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
	const char *fix = "FIX\nabc\n";

	/* merges belong to their transaction: GET has none */
	am_req_begin(cfg, 0, &rq, (const uint8_t *)get, (uint32_t)strlen(get));
	ck_assert_uint_eq(rq.want_more, 0);
	ck_assert_uint_eq(am_req_expected(&rq), 0);
	/* a constant, counted after the empty line */
	am_req_begin(cfg, 0, &rq, (const uint8_t *)fix, (uint32_t)strlen(fix));
	ck_assert_uint_eq(rq.want_more, 1);
	ck_assert_uint_eq(am_req_expected(&rq), 0);
	am_req_more(cfg, &rq, (const uint8_t *)"\n", 1);
	ck_assert_uint_eq(am_req_expected(&rq), strlen(fix) + 1 + 10);
	am_config_free(cfg);
}
END_TEST

/* A ClientHello carrying a server name. */
static size_t
client_hello(uint8_t *b, const char *host)
{
	size_t hl = strlen(host), n = 0, ext, hs;

	b[n++] = 22; b[n++] = 3; b[n++] = 1; n += 2;              /* record, length later */
	b[n++] = 1; n += 3;                                          /* client_hello, length later */
	hs = n;
	b[n++] = 3; b[n++] = 3;                                      /* version */
	memset(b + n, 0x5a, 32); n += 32;                            /* random */
	b[n++] = 0;                                                  /* session id */
	b[n++] = 0; b[n++] = 2; b[n++] = 0x13; b[n++] = 0x01;        /* one cipher suite */
	b[n++] = 1; b[n++] = 0;                                      /* null compression */
	ext = n; n += 2;
	b[n++] = 0x00; b[n++] = 0x0b; b[n++] = 0; b[n++] = 2; b[n++] = 1; b[n++] = 0; /* ec formats */
	b[n++] = 0; b[n++] = 0;                                      /* server_name */
	b[n++] = (uint8_t)((hl + 5) >> 8); b[n++] = (uint8_t)(hl + 5);
	b[n++] = (uint8_t)((hl + 3) >> 8); b[n++] = (uint8_t)(hl + 3);
	b[n++] = 0;
	b[n++] = (uint8_t)(hl >> 8); b[n++] = (uint8_t)hl;
	memcpy(b + n, host, hl); n += hl;
	b[ext] = (uint8_t)((n - ext - 2) >> 8); b[ext + 1] = (uint8_t)(n - ext - 2);
	b[hs - 3] = (uint8_t)((n - hs) >> 16); b[hs - 2] = (uint8_t)((n - hs) >> 8);
	b[hs - 1] = (uint8_t)(n - hs);
	b[3] = (uint8_t)((n - 5) >> 8); b[4] = (uint8_t)(n - 5);
	return n;
}

START_TEST(test_tls_server_name)
{
	struct am_config *cfg = load(
		"rule tls { Server_port = 443; Timing = \"adu\"; Name_by = \"sni\"; }\n"
		"rule ssh { Server_port = 22; Timing = \"adu\"; }\n");
	uint8_t hello[512];
	char name[256];
	size_t n = client_hello(hello, "WWW.Example.org");

	ck_assert_int_eq(am_tls_sni(hello, (uint32_t)n, name, sizeof(name)), 15);
	ck_assert_str_eq(name, "www.example.org");
	ck_assert_str_eq(name_of(cfg, 0, hello, n), "www.example.org");
	/* every cut of the hello gives no name, never a wrong one */
	for (size_t cut = 0; cut < n; cut++)
		ck_assert_int_eq(am_tls_sni(hello, (uint32_t)cut, name, sizeof(name)),
				 cut == n ? 15 : -1);
	ck_assert_str_eq(name_of(cfg, 0, hello, 60), "(other)");
	/* a small buffer cuts the name */
	ck_assert_int_eq(am_tls_sni(hello, (uint32_t)n, name, 4), 3);
	ck_assert_str_eq(name, "www");
	/* not a handshake */
	ck_assert_str_eq(NAME(cfg, 0, "GET / HTTP/1.1\r\n"), "(other)");
	/* payload-free without names */
	ck_assert_str_eq(NAME(cfg, 1, "SSH-2.0-OpenSSH_9.2\r\n"), "(other)");
	am_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the shipped rule sets on typical first requests */

static struct am_config *
load_shipped(void)
{
	const char *src = getenv("top_srcdir");
	char path[1024];
	struct am_diags d;
	struct am_config *cfg;

	snprintf(path, sizeof(path), "%s/rules/conf/artmon.conf", src ? src : "..");
	am_diags_init(&d);
	cfg = am_config_load(path, &d);
	am_diags_print(&d, stderr);
	am_diags_free(&d);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

static int
bind_port(const struct am_config *cfg, unsigned port)
{
	return bind_(cfg, "192.0.2.1", 50000, "198.51.100.7", port);
}

START_TEST(test_shipped_http)
{
	struct am_config *cfg = load_shipped();
	int r = rule_index(cfg, "http");
	struct am_req rq;
	const char *post = "POST /api HTTP/1.1\r\nHost: a\r\ncontent-length: 4\r\n\r\n";

	ck_assert_int_eq(bind_port(cfg, 80), r);
	ck_assert_int_eq(bind_port(cfg, 8080), r);
	ck_assert_int_eq(bind_port(cfg, 3128), r);
	ck_assert_int_eq(bind_port(cfg, 8000), r);
	ck_assert_str_eq(NAME(cfg, r, "GET / HTTP/1.1\r\n"), "GET");
	ck_assert_str_eq(NAME(cfg, r, "HEAD / HTTP/1.1\r\n"), "HEAD");
	ck_assert_str_eq(NAME(cfg, r, "DELETE /x HTTP/1.1\r\n"), "DELETE");
	ck_assert_str_eq(NAME(cfg, r, "OPTIONS * HTTP/1.1\r\n"), "OPTIONS");
	ck_assert_str_eq(NAME(cfg, r, "XGET / HTTP/1.1\r\n"), "(other)");
	/* headers in the first segment, body in the next */
	ck_assert_str_eq(am_sig_name(cfg, am_req_begin(cfg, r, &rq, (const uint8_t *)post,
						       (uint32_t)strlen(post))), "POST");
	ck_assert_uint_eq(am_req_expected(&rq), strlen(post) + 4);
	am_req_more(cfg, &rq, (const uint8_t *)"data", 4);
	ck_assert_uint_eq(rq.seen, am_req_expected(&rq));
	am_config_free(cfg);
}
END_TEST

START_TEST(test_shipped_text_protocols)
{
	struct am_config *cfg = load_shipped();
	int smtp = rule_index(cfg, "smtp"), pop = rule_index(cfg, "pop3");
	int imap = rule_index(cfg, "imap"), ftp = rule_index(cfg, "ftp");
	int redis = rule_index(cfg, "redis"), mc = rule_index(cfg, "memcached");

	ck_assert_int_eq(bind_port(cfg, 25), smtp);
	ck_assert_int_eq(bind_port(cfg, 587), smtp);
	ck_assert_str_eq(NAME(cfg, smtp, "ehlo client.example\r\n"), "EHLO");
	ck_assert_str_eq(NAME(cfg, smtp, "MAIL FROM:<a@b>\r\n"), "MAIL");
	ck_assert_str_eq(NAME(cfg, smtp, "Subject: hi\r\n\r\nbody\r\n.\r\n"), "(other)");
	ck_assert_int_eq(bind_port(cfg, 110), pop);
	ck_assert_str_eq(NAME(cfg, pop, "RETR 1\r\n"), "RETR");
	ck_assert_str_eq(NAME(cfg, pop, "capa\r\n"), "CAPA");
	ck_assert_int_eq(bind_port(cfg, 143), imap);
	ck_assert_str_eq(NAME(cfg, imap, "a1 LOGIN u p\r\n"), "LOGIN");
	ck_assert_str_eq(NAME(cfg, imap, "A0042 uid fetch 1:* (FLAGS)\r\n"), "UID_FETCH");
	ck_assert_str_eq(NAME(cfg, imap, "x select INBOX\r\n"), "SELECT");
	ck_assert_str_eq(NAME(cfg, imap, "DONE\r\n"), "DONE");
	ck_assert_int_eq(bind_port(cfg, 21), ftp);
	ck_assert_str_eq(NAME(cfg, ftp, "PASV\r\n"), "PASV");
	ck_assert_str_eq(NAME(cfg, ftp, "retr file.txt\r\n"), "RETR");
	ck_assert_int_eq(bind_port(cfg, 6379), redis);
	ck_assert_str_eq(NAME(cfg, redis, "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"), "SET");
	ck_assert_str_eq(NAME(cfg, redis, "*1\r\n$4\r\nPING\r\n"), "PING");
	ck_assert_str_eq(NAME(cfg, redis, "info server\r\n"), "INFO");
	ck_assert_int_eq(bind_port(cfg, 11211), mc);
	ck_assert_str_eq(NAME(cfg, mc, "get foo\r\n"), "get");
	ck_assert_str_eq(NAME(cfg, mc, "set foo 0 0 3\r\nbar\r\n"), "set");
	ck_assert_str_eq(NAME(cfg, mc, "quit\r\n"), "IGNORED");
	ck_assert_str_eq(NAME(cfg, mc, "\x80\x00\x00\x03"), "binary");
	am_config_free(cfg);
}
END_TEST

START_TEST(test_shipped_binary_protocols)
{
	struct am_config *cfg = load_shipped();
	int pg = rule_index(cfg, "postgresql"), my = rule_index(cfg, "mysql");
	int ldap = rule_index(cfg, "ldap"), dns = rule_index(cfg, "dns");
	int tls = rule_index(cfg, "tls"), ssh = rule_index(cfg, "ssh");
	uint8_t hello[512];
	size_t n;

	ck_assert_int_eq(bind_port(cfg, 5432), pg);
	ck_assert_str_eq(NAME(cfg, pg, "Q\x00\x00\x00\x16select 1 from t;\x00"), "SELECT");
	ck_assert_str_eq(NAME(cfg, pg, "Q\x00\x00\x00\x13  insert into t\x00"), "INSERT");
	ck_assert_str_eq(NAME(cfg, pg, "P\x00\x00\x00\x20s1\x00UPDATE t SET a=1\x00\x00\x00"), "UPDATE");
	ck_assert_str_eq(NAME(cfg, pg, "P\x00\x00\x00\x20\x00(select 2)\x00\x00\x00"), "SELECT");
	ck_assert_str_eq(NAME(cfg, pg, "Q\x00\x00\x00\x0avacuum\x00"), "VACUUM");
	ck_assert_str_eq(NAME(cfg, pg, "Q\x00\x00\x00\x09""frob;\x00"), "query");
	ck_assert_str_eq(NAME(cfg, pg, "B\x00\x00\x00\x0c\x00s1\x00\x00\x00\x00\x00"), "execute");
	ck_assert_str_eq(NAME(cfg, pg, "\x00\x00\x00\x08\x04\xd2\x16\x2f"), "sslrequest");
	ck_assert_str_eq(NAME(cfg, pg, "\x00\x00\x00\x29\x00\x03\x00\x00user\x00"), "startup");
	ck_assert_str_eq(NAME(cfg, pg, "X\x00\x00\x00\x04"), "IGNORED");

	ck_assert_int_eq(bind_port(cfg, 3306), my);
	ck_assert_str_eq(NAME(cfg, my, "\x09\x00\x00\x00\x03select 1"), "COM_QUERY");
	ck_assert_str_eq(NAME(cfg, my, "\x01\x00\x00\x00\x0e"), "COM_PING");
	ck_assert_str_eq(NAME(cfg, my, "\x05\x00\x00\x00\x16sel"), "COM_STMT_PREPARE");
	ck_assert_str_eq(NAME(cfg, my, "\x01\x00\x00\x00\x01"), "IGNORED");
	ck_assert_str_eq(NAME(cfg, my, "\x40\x00\x00\x01\x8d\xa6\xff\x09"), "login");

	ck_assert_int_eq(bind_port(cfg, 389), ldap);
	/* bind: SEQUENCE, id 1, [APPLICATION 0] */
	ck_assert_str_eq(NAME(cfg, ldap, "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"), "bind");
	/* search with a long-form length and a two-byte id */
	ck_assert_str_eq(NAME(cfg, ldap, "\x30\x81\x90\x02\x02\x01\x00\x63\x81\x89"), "search");
	ck_assert_str_eq(NAME(cfg, ldap, "\x30\x05\x02\x01\x07\x42\x00"), "IGNORED");

	ck_assert_int_eq(bind_port(cfg, 53), dns);
	ck_assert_str_eq(NAME(cfg, dns, "\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			       "\x07""example\x03""org\x00\x00\x01\x00\x01"), "A");
	ck_assert_str_eq(NAME(cfg, dns, "\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			       "\x07""example\x03""org\x00\x00\x1c\x00\x01"), "AAAA");
	ck_assert_str_eq(NAME(cfg, dns, "\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			       "\x07""example\x03""org\x00\x00\x0f\x00\x01"), "MX");

	ck_assert_int_eq(bind_port(cfg, 443), tls);
	ck_assert_int_eq(bind_port(cfg, 8443), tls);
	ck_assert_int_eq(cfg->rules[tls].timing, AM_TIMING_ADU);
	ck_assert_int_eq(cfg->rules[tls].name_by, AM_NAME_BY_SNI);
	n = client_hello(hello, "api.example.net");
	ck_assert_str_eq(name_of(cfg, tls, hello, n), "api.example.net");
	ck_assert_int_eq(bind_port(cfg, 22), ssh);
	ck_assert_int_eq(cfg->rules[ssh].timing, AM_TIMING_ADU);
	/* nothing claims other ports */
	ck_assert_int_eq(bind_port(cfg, 9999), -1);
	am_config_free(cfg);
}
END_TEST

static Suite *
match_suite(void)
{
	Suite *s = suite_create("rules-match");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_bind_first_rule_wins);
	tcase_add_test(tc, test_window_and_hex);
	tcase_add_test(tc, test_regex_flags);
	tcase_add_test(tc, test_generated_names);
	tcase_add_test(tc, test_regex_limit_counted);
	tcase_add_test(tc, test_ignore_other_and_stats);
	tcase_add_test(tc, test_merge_expect_split);
	tcase_add_test(tc, test_merge_expect_blank_line_split);
	tcase_add_test(tc, test_merge_no_expect);
	tcase_add_test(tc, test_tls_server_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("shipped");
	tcase_add_test(tc, test_shipped_http);
	tcase_add_test(tc, test_shipped_text_protocols);
	tcase_add_test(tc, test_shipped_binary_protocols);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(match_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
