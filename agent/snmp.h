/* The AgentX subagent: the only part of artmon that includes Net-SNMP.
 *
 * The daemon calls agent_init once, then in its loop adds the descriptors
 * from agent_pollfds to its own poll set and hands the result to
 * agent_process; agent_shutdown at the end.  Requests are answered from
 * the struct am_mib_state given to agent_init (through agent/mib.c). */
#ifndef AM_AGENT_SNMP_H
#define AM_AGENT_SNMP_H

#include <poll.h>
#include "agent/mib.h"

/* Joins the master on `socket` (NULL: Net-SNMP's default).  Works before
 * the master runs; the subagent connects, and reconnects after a master
 * restart, on its own within about a second.  When it cannot, the log says
 * why (startup_probe_agentx: no master yet, or no permission).  0, or -1
 * on failure. */
int agent_init(const char *socket, const struct am_mib_state *st);
/* Net-SNMP's AgentX socket when none is given (/var/agentx/master). */
const char *agent_default_socket(void);
/* Fills up to max pollfds with Net-SNMP's descriptors; lowers *timeout_ms
 * (-1: infinite) to Net-SNMP's next timer.  Returns the count. */
int agent_pollfds(struct pollfd *pfd, int max, int *timeout_ms);
/* After poll: reads what is ready, runs timers and pending requests. */
void agent_process(const struct pollfd *pfd, int n);
void agent_shutdown(void);
/* Sends a notification through the master agent's trap sinks.  0, or -1
 * when the subagent is not initialised. */
int agent_notify(const struct am_mib_notification *nt);

#endif
