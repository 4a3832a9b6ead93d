/* artmonCensus of ARTMON-MIB (issue 11): the census scalars, the filter
 * set table, the hardwired counters and the top-N tables of the last
 * completed interval, read from st->census (agent/censusd.h).  agent/mib.c
 * places them in its OID tree; these have the signatures of its scalar
 * groups and tables.  No Net-SNMP here. */
#ifndef AM_CENSUS_MIB_H
#define AM_CENSUS_MIB_H

#include "agent/mib.h"

int am_census_mib_scalar(const struct am_mib_state *st, unsigned n, struct am_mib_value *v);
int am_census_mib_filter(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v);
int am_census_mib_hw(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v);
int am_census_mib_topinfo(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v);
int am_census_mib_top(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v);

#endif
