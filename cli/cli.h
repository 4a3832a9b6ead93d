/* artmon, the command-line tool: one function per subcommand. */
#ifndef AM_CLI_H
#define AM_CLI_H

/* Each returns the process exit status; argv[0] is the subcommand name. */
int cmd_read(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_mrtg_cfg(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
