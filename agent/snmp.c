/* The AgentX subagent glue: Net-SNMP types in, agent/mib.c answers. */
#include "config.h"
#include "agent/snmp.h"
#include "agent/startup.h"
#include "common/log.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_sysORTable.h>
#include <net-snmp/library/large_fd_set.h>

#include <stdlib.h>
#include <string.h>

static const struct am_mib_state *state;
static netsnmp_handler_registration *reg;
static int initialised;
static char agentx_addr[1024];      /* the master's AgentX address */

/* Net-SNMP's messages go to our logger, without their newline.  The same
 * message repeated (a master that stays away makes the subagent complain
 * every second) is logged once, then counted and summarised at most once a
 * minute. */
#define LOG_REPEAT_US (60 * AM_USEC)

static struct {
	char last[512];
	int prio;
	uint64_t repeats;
	am_time_t since;
} rl;

static void
log_prio(int prio, const char *msg)
{
	if (prio <= LOG_ERR)
		log_errx("snmp", "%s", msg);
	else if (prio <= LOG_WARNING)
		log_warnx("snmp", "%s", msg);
	else if (prio <= LOG_INFO)
		log_info("snmp", "%s", msg);
	else
		log_debug("snmp", "%s", msg);
}

static void
flush_repeats(void)
{
	char buf[600];

	if (rl.repeats == 0)
		return;
	snprintf(buf, sizeof(buf), "%s (repeated %llu times)", rl.last, (unsigned long long)rl.repeats);
	log_prio(rl.prio, buf);
	rl.repeats = 0;
}

static int
agent_log(int major, int minor, void *serverarg, void *clientarg)
{
	const struct snmp_log_message *m = serverarg;
	char buf[512];
	size_t n;
	int prio = m->priority;
	am_time_t now = am_now_mono();

	(void)major;
	(void)minor;
	(void)clientarg;
	snprintf(buf, sizeof(buf), "%s", m->msg ? m->msg : "");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = 0;
	/* Net-SNMP gives no reason when it cannot reach the master: find it
	 * out (no master yet, a stale socket, or no permission to connect). */
	if (strstr(buf, "Failed to connect to the agentx master agent")) {
		char why[512];
		enum startup_level lv = startup_probe_agentx(agentx_addr, why, sizeof(why), NULL);
		if (lv != STARTUP_OK) {
			snprintf(buf, sizeof(buf), "%s", why);
			prio = lv == STARTUP_ERROR ? LOG_ERR : LOG_WARNING;
		}
	}
	if (strcmp(buf, rl.last) == 0) {
		rl.repeats++;
		if (now - rl.since >= LOG_REPEAT_US) {
			flush_repeats();
			rl.since = now;
		}
		return 0;
	}
	flush_repeats();
	snprintf(rl.last, sizeof(rl.last), "%s", buf);
	rl.prio = prio;
	rl.since = now;
	log_prio(prio, buf);
	return 0;
}

static void
set_value(netsnmp_variable_list *vb, const struct am_mib_value *v)
{
	long l;
	u_long u;
	struct counter64 c64;

	switch (v->type) {
	case AM_V_INTEGER:
		l = (long)v->i;
		snmp_set_var_typed_value(vb, ASN_INTEGER, &l, sizeof(l));
		break;
	case AM_V_UNSIGNED:
		u = (u_long)v->u;
		snmp_set_var_typed_value(vb, ASN_UNSIGNED, &u, sizeof(u));
		break;
	case AM_V_GAUGE:
		u = (u_long)v->u;
		snmp_set_var_typed_value(vb, ASN_GAUGE, &u, sizeof(u));
		break;
	case AM_V_COUNTER32:
		u = (u_long)(v->u & 0xffffffffu);
		snmp_set_var_typed_value(vb, ASN_COUNTER, &u, sizeof(u));
		break;
	case AM_V_COUNTER64:
		c64.high = (u_long)(v->u >> 32);
		c64.low = (u_long)(v->u & 0xffffffffu);
		snmp_set_var_typed_value(vb, ASN_COUNTER64, &c64, sizeof(c64));
		break;
	case AM_V_OCTETS:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, v->s, v->len);
		break;
	}
}

static size_t
to_subids(const oid *name, size_t len, am_subid *out)
{
	if (len > AM_OID_MAX)
		len = AM_OID_MAX;
	for (size_t i = 0; i < len; i++)
		out[i] = name[i] > 0xffffffffUL ? 0xffffffffu : (am_subid)name[i];
	return len;
}

/* A varbind's value as mib.c sees it; 0, or an SNMP error. */
static int
get_value(const netsnmp_variable_list *vb, struct am_mib_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (vb->type) {
	case ASN_INTEGER:
		v->type = AM_V_INTEGER;
		v->i = *vb->val.integer;
		return 0;
	case ASN_UNSIGNED:   /* also Gauge32 */
		v->type = AM_V_UNSIGNED;
		v->u = (uint64_t)*vb->val.integer & 0xffffffffu;
		return 0;
	case ASN_OCTET_STR:
		if (vb->val_len > sizeof(v->s))
			return SNMP_ERR_WRONGLENGTH;
		v->type = AM_V_OCTETS;
		memcpy(v->s, vb->val.string, vb->val_len);
		v->len = vb->val_len;
		return 0;
	default:
		return SNMP_ERR_WRONGTYPE;
	}
}

/* SET: RESERVE1 checks each varbind alone, RESERVE2 checks the request as
 * a whole against the alarm table, ACTION applies it (it cannot fail once
 * RESERVE2 passed). */
static void
handle_set(netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	struct am_mib_set_vb vbs[64];
	netsnmp_request_info *reqs[64];
	am_subid q[AM_OID_MAX];
	int n = 0, bad = 0, err;

	for (netsnmp_request_info *r = requests; r; r = r->next) {
		struct am_mib_value v;
		size_t qlen;
		if (r->processed)
			continue;
		if (state->tables.alarm_set == NULL) {
			netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOTWRITABLE);
			return;
		}
		qlen = to_subids(r->requestvb->name, r->requestvb->name_length, q);
		if ((err = get_value(r->requestvb, &v)) == 0)
			err = am_mib_set_decode(q, qlen, &v, &vbs[n]);
		if (err == 0 && n >= 64)
			err = SNMP_ERR_TOOBIG;
		if (err) {
			netsnmp_set_request_error(reqinfo, r, err);
			return;
		}
		reqs[n++] = r;
	}
	if (reqinfo->mode == MODE_SET_RESERVE1 || n == 0)
		return;
	err = state->tables.alarm_set(state->tables.alarm_ctx, vbs, n,
	    reqinfo->mode == MODE_SET_ACTION, &bad);
	if (err)
		netsnmp_set_request_error(reqinfo, reqs[bad >= 0 && bad < n ? bad : 0],
		    reqinfo->mode == MODE_SET_ACTION ? SNMP_ERR_COMMITFAILED : err);
}

static int
artmon_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
    netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	am_subid q[AM_OID_MAX], next[AM_OID_MAX];
	oid nname[AM_OID_MAX];
	struct am_mib_value v;

	(void)handler;
	(void)reginfo;
	for (netsnmp_request_info *r = requests; r; r = r->next) {
		netsnmp_variable_list *vb = r->requestvb;
		size_t qlen, nlen;
		int rc;

		if (r->processed)
			continue;
		qlen = to_subids(vb->name, vb->name_length, q);
		switch (reqinfo->mode) {
		case MODE_GET:
			rc = am_mib_get(state, q, qlen, &v);
			if (rc == AM_MIB_OK)
				set_value(vb, &v);
			else
				netsnmp_set_request_error(reqinfo, r,
				    rc == AM_MIB_NOSUCHOBJECT ? SNMP_NOSUCHOBJECT : SNMP_NOSUCHINSTANCE);
			break;
		case MODE_GETNEXT:
			nlen = am_mib_getnext(state, q, qlen, next, &v);
			/* Nothing after: leave the varbind alone, the agent moves on. */
			if (nlen == 0)
				break;
			for (size_t i = 0; i < nlen; i++)
				nname[i] = next[i];
			snmp_set_var_objid(vb, nname, nlen);
			set_value(vb, &v);
			break;
		default:
			break;
		}
	}
	switch (reqinfo->mode) {
	case MODE_SET_RESERVE1:
	case MODE_SET_RESERVE2:
	case MODE_SET_ACTION:
		handle_set(reqinfo, requests);
		break;
	default:
		break;
	}
	return SNMP_ERR_NOERROR;
}

const char *
agent_default_socket(void)
{
	return NETSNMP_AGENTX_SOCKET;
}

int
agent_init(const char *socket, const struct am_mib_state *st)
{
	static oid objects[AM_OID_MAX], root[AM_OID_MAX];

	state = st;
	snprintf(agentx_addr, sizeof(agentx_addr), "%s", socket ? socket : agent_default_socket());
	for (size_t i = 0; i < am_mib_objects_oid_len; i++)
		objects[i] = am_mib_objects_oid[i];
	for (size_t i = 0; i < am_mib_root_oid_len; i++)
		root[i] = am_mib_root_oid[i];

	snmp_disable_log();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, agent_log, NULL);
	snmp_enable_calllog();

	/* No MIB files, no configuration files, no persistent state. */
	setenv("MIBS", "", 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	if (socket)
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, socket);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, "/nonexistent");

	if (init_agent("artmond") != 0) {
		log_warnx("snmp", "cannot initialise the AgentX subagent");
		return -1;
	}
	/* init_agent resets the ping interval; a short one re-joins a
	 * restarted master quickly. */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 1);

	reg = netsnmp_create_handler_registration("artmon", artmon_handler, objects,
	    am_mib_objects_oid_len, HANDLER_CAN_RWRITE);
	if (reg == NULL || netsnmp_register_handler(reg) != MIB_REGISTERED_OK) {
		log_warnx("snmp", "cannot register ARTMON-MIB");
		return -1;
	}
	register_sysORTable(root, am_mib_root_oid_len, "ARTMON-MIB: application response times (artmond)");
	init_snmp("artmond");
	initialised = 1;
	log_debug("snmp", "subagent initialised (AgentX socket %s)", socket ? socket : "default");
	return 0;
}

int
agent_pollfds(struct pollfd *pfd, int max, int *timeout_ms)
{
	netsnmp_large_fd_set fds;
	struct timeval tv = { 3600, 0 };
	int numfds = 0, block = 1, n = 0;

	if (!initialised)
		return 0;
	netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
	NETSNMP_LARGE_FD_ZERO(&fds);
	snmp_select_info2(&numfds, &fds, &tv, &block);
	for (int fd = 0; fd < numfds && n < max; fd++)
		if (NETSNMP_LARGE_FD_ISSET(fd, &fds)) {
			pfd[n].fd = fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
	netsnmp_large_fd_set_cleanup(&fds);
	if (!block) {
		long ms = tv.tv_sec * 1000L + (tv.tv_usec + 999) / 1000;
		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = (int)ms;
	}
	return n;
}

void
agent_process(const struct pollfd *pfd, int n)
{
	netsnmp_large_fd_set fds;
	int ready = 0;

	if (!initialised)
		return;
	netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
	NETSNMP_LARGE_FD_ZERO(&fds);
	for (int i = 0; i < n; i++)
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			NETSNMP_LARGE_FD_SET(pfd[i].fd, &fds);
			ready++;
		}
	if (ready)
		snmp_read2(&fds);
	else
		snmp_timeout();
	netsnmp_large_fd_set_cleanup(&fds);
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
}

int
agent_notify(const struct am_mib_notification *nt)
{
	static const oid trap_oid_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };   /* snmpTrapOID.0 */
	netsnmp_variable_list *vars = NULL;
	oid name[AM_OID_MAX];

	if (!initialised)
		return -1;
	for (size_t i = 0; i < nt->trap_oid_len; i++)
		name[i] = nt->trap_oid[i];
	snmp_varlist_add_variable(&vars, trap_oid_oid, OID_LENGTH(trap_oid_oid), ASN_OBJECT_ID,
	    (const u_char *)name, nt->trap_oid_len * sizeof(oid));
	for (int k = 0; k < nt->n; k++) {
		const struct am_mib_varbind *vb = &nt->vb[k];
		netsnmp_variable_list *v;
		for (size_t i = 0; i < vb->len; i++)
			name[i] = vb->oid[i];
		v = snmp_varlist_add_variable(&vars, name, vb->len, ASN_NULL, NULL, 0);
		if (v)
			set_value(v, &vb->v);
	}
	send_v2trap(vars);
	snmp_free_varbind(vars);
	log_debug("snmp", "notification %u sent", nt->type);
	return 0;
}

void
agent_shutdown(void)
{
	if (!initialised)
		return;
	snmp_shutdown("artmond");
	shutdown_agent();
	flush_repeats();
	initialised = 0;
}
