/* artmon: the command-line tool.  Offline reads of captures, store queries,
 * configuration checks.  It links the same libraries as the daemon. */
#include "config.h"
#include "cli/cli.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "read", cmd_read, "measure transactions in capture files" },
	{ "check", cmd_check, "check a configuration file and list what it loads" },
	{ "store", cmd_store, "list and show what an artmon store holds" },
	{ "mrtg-cfg", cmd_mrtg_cfg, "write an MRTG configuration for the rows an agent serves" },
	{ "report", cmd_report, "write an HTML report (charts) of what an artmon store holds" },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: artmon COMMAND [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\n`artmon COMMAND --help` describes a command; see artmon(1).\n");
}

int
main(int argc, char **argv)
{
	log_init("artmon", 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("artmon %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "artmon: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
