/* The traffic census (capture/census.h) as a configuration describes it
 * (`filter_set` blocks, `top_n`, `top_capacity` in rules/rules.h).
 *
 * rules/ keeps BPF expressions as text; compiling them needs libpcap, so
 * the programs load a configuration through am_config_load_checked(),
 * which adds to the parser's checks a compile of every filter expression
 * and reports failures at the expression's file:line:column.  A
 * configuration with such an error is refused like any other (artmon
 * check, artmond -n, a reload that keeps the previous configuration). */
#ifndef AM_CENSUS_CONF_H
#define AM_CENSUS_CONF_H

#include <stddef.h>
#include "capture/census.h"
#include "rules/rules.h"

/* am_config_load() and then am_config_check_filters() against link type
 * dlt (0: DLT_EN10MB).  NULL when either finds an error. */
struct am_config *am_config_load_checked(const char *path, int dlt, struct am_diags *diags);

/* Compiles every filter expression of cfg for link type dlt (0:
 * DLT_EN10MB); each failure is an error in diags at the expression.
 * Returns the number of failures. */
unsigned am_config_check_filters(const struct am_config *cfg, int dlt, struct am_diags *diags);

/* cfg's filter labels as an array for struct am_census_cfg (cfg's
 * set.nfilters entries pointing into cfg; free() the array), NULL when
 * there are none. */
struct am_census_filter *am_census_filters_from_config(const struct am_config *cfg);

/* A census with cfg's filter sets and top-N settings (cfg may be NULL: no
 * filter sets, defaults), expressions compiled for dlt.  NULL with a
 * message in err. */
struct am_census *am_census_from_config(const struct am_config *cfg, int dlt, char *err,
    size_t errlen);

/* 1 when a and b (either may be NULL) describe the same census: same
 * filter sets, labels and expressions in the same order, same top_n and
 * top_capacity.  A reload keeps the census (and its counters) then. */
int am_census_config_same(const struct am_config *a, const struct am_config *b);

#endif
