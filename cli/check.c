/* artmon check: load a configuration, list what it holds, report every error. */
#include "config.h"
#include "cli/cli.h"
#include "engine/census_conf.h"
#include "rules/rules.h"

#include <stdio.h>
#include <string.h>

static void
check_usage(FILE *out)
{
	fputs("usage: artmon check [-q] [FILE]\n"
	      "Reads an artmon (or PasTmon) configuration with its includes and lists the\n"
	      "settings, rules (with their address and port matches), transactions and\n"
	      "merge blocks it holds.  Errors and warnings go to standard error as\n"
	      "file:line:column: message.  Without FILE, the shipped default\n"
	      "configuration is checked ($ARTMON_CONF or the installed artmon.conf).\n"
	      "  -q, --quiet   print nothing but the errors and warnings\n"
	      "  -h, --help    this text\n"
	      "Exit status: 0 the configuration is good, 1 it has errors, 2 usage.\n", out);
}

int
cmd_check(int argc, char **argv)
{
	const char *path = NULL;
	int quiet = 0;
	struct am_diags diags;
	struct am_config *cfg;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			check_usage(stdout);
			return 0;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			quiet = 1;
		} else if (strcmp(a, "--") == 0 && i + 1 < argc && path == NULL && i + 2 == argc) {
			path = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "artmon check: unknown option '%s'\n", a);
			check_usage(stderr);
			return 2;
		} else if (path == NULL) {
			path = a;
		} else {
			fprintf(stderr, "artmon check: one file at a time ('%s' and '%s')\n", path, a);
			return 2;
		}
	}
	if (path == NULL)
		path = am_config_default_path();
	am_diags_init(&diags);
	cfg = am_config_load_checked(path, 0, &diags);
	am_diags_print(&diags, stderr);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %u error%s, %u warning%s\n", path, diags.errors,
			diags.errors == 1 ? "" : "s", diags.warnings, diags.warnings == 1 ? "" : "s");
		am_diags_free(&diags);
		return 1;
	}
	if (!quiet) {
		am_config_print(cfg, stdout);
		printf("warnings: %u\n", diags.warnings);
	}
	am_config_free(cfg);
	am_diags_free(&diags);
	return 0;
}
