/* The LMDB store: see store.h for the layout. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store.h"
#include "store/codec.h"

#define DAY 86400u

enum { DB_META, DB_SIGNAME, DB_SIGID, DB_KEYNAME, DB_KEYID, DB_L1, DB_L2, DB_TOTALS, DB_AUX, DB__COUNT };
static const char *const db_names[DB__COUNT] = {
	"meta", "signame", "sigid", "keyname", "keyid", "l1", "l2", "totals", "aux"
};

struct am_store;

/* A flush's write transaction (one at a time: embedded in the store). */
struct am_store_w {
	struct am_store *st;
	MDB_txn *txn;
	int rc;                   /* first LMDB error, 0 none */
	int active;
	am_time_t t0;             /* when it began (monotonic) */
};

struct am_store {
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	int rdwr;
	int lockfd;               /* the writer's lock (RDWR), -1 */
	int was_clean;            /* meta "clean" at open */
	int last_final;           /* the last flush was final */
	uint64_t flushes_here;    /* flushes since open */
	struct am_store_cfg cfg;
	struct am_store_info info;
	uint32_t next_key, next_sig;
	uint8_t *buf;             /* encoding scratch */
	size_t buflen;
	struct am_rec tmp;        /* decoding scratch for merges */
	struct am_store_w w;      /* the flush in progress */
	/* what an aborted flush must put back */
	struct am_store_info saved;
	uint32_t saved_key, saved_sig;
};


static const uint64_t default_le[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000
};

void
am_store_cfg_default(struct am_store_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->map_size = AM_STORE_MAP_DEFAULT;
	cfg->interval_s = 300;
	cfg->rollup_s = 3600;
	cfg->retain1_s = 32 * DAY;
	cfg->retain2_s = 400 * DAY;
	cfg->prune_budget = 20000;
	cfg->n_le = sizeof(default_le) / sizeof(default_le[0]);
	memcpy(cfg->le, default_le, sizeof(default_le));
}

/* --- small helpers ------------------------------------------------------- */

static uint8_t *
scratch(struct am_store *st, size_t need)
{
	if (need > st->buflen) {
		size_t n = st->buflen ? st->buflen : 4096;
		while (n < need)
			n *= 2;
		st->buf = am_xrealloc(st->buf, n);
		st->buflen = n;
	}
	return st->buf;
}

static int
meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *v)
{
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	if (rc != 0)
		return rc;
	if (d.mv_size != 8)
		return MDB_CORRUPTED;
	*v = am_get_be64(d.mv_data);
	return 0;
}

static int
meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = { strlen(name), (void *)name }, d = { 8, b };

	am_put_be64(b, v);
	return mdb_put(txn, dbi, &k, &d, 0);
}

static void
set_err(char *err, size_t errlen, const char *dir, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", dir, what);
}

/* Interval records are keyed by (start in seconds, key id): one flush
 * writes a contiguous run of keys, retention cuts from the front. */
static void
rec_key(uint8_t *b, uint32_t id, am_time_t start)
{
	am_put_be64(b, start > 0 ? (uint64_t)(start / AM_USEC) : 0);
	am_put_be32(b + 8, id);
}

static uint64_t
rk_time(const MDB_val *k)
{
	return am_get_be64(k->mv_data);
}

static uint32_t
rk_id(const MDB_val *k)
{
	return am_get_be32((const uint8_t *)k->mv_data + 8);
}

/* The counters mirrored in meta. */
struct meta_field {
	const char *name;
	size_t off;
};
#define MF(n, f) { n, offsetof(struct am_store_info, f) }
static const struct meta_field meta_i64[] = {
	MF("created", created), MF("flushed", flushed_clock), MF("newest1", newest1),
	MF("newest2", newest2), MF("discont", discontinuity),
};
static const struct meta_field meta_u64[] = {
	MF("unclean", unclean_stops), MF("flushes", flushes), MF("pruned1", pruned1),
	MF("pruned2", pruned2), MF("prunedfull", pruned_full), MF("mapfull", map_full),
	MF("errors", errors), MF("lost", lost),
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
meta_read_all(struct am_store *st, MDB_txn *txn)
{
	MDB_dbi m = st->dbi[DB_META];
	uint64_t v;
	size_t i;
	int rc;
	MDB_val k = { 2, (void *)"le" }, d;

	if ((rc = meta_get_u64(txn, m, "format", &v)) != 0)
		return rc;
	st->info.format = (uint32_t)v;
	if (v != AM_STORE_FORMAT)
		return 0;
	if ((rc = meta_get_u64(txn, m, "interval", &v)) != 0)
		return rc;
	st->info.interval_s = (uint32_t)v;
	if ((rc = meta_get_u64(txn, m, "rollup", &v)) != 0)
		return rc;
	st->info.rollup_s = (uint32_t)v;
	if ((rc = meta_get_u64(txn, m, "nextkey", &v)) != 0)
		return rc;
	st->next_key = (uint32_t)v;
	if ((rc = meta_get_u64(txn, m, "nextsig", &v)) != 0)
		return rc;
	st->next_sig = (uint32_t)v;
	st->was_clean = meta_get_u64(txn, m, "clean", &v) == 0 && v == 1;
	/* Pointers, not offsets: the compiler can see what each write touches. */
	am_time_t *i64[NELEM(meta_i64)] = { &st->info.created, &st->info.flushed_clock,
		&st->info.newest1, &st->info.newest2, &st->info.discontinuity };
	uint64_t *u64[NELEM(meta_u64)] = { &st->info.unclean_stops, &st->info.flushes,
		&st->info.pruned1, &st->info.pruned2, &st->info.pruned_full, &st->info.map_full,
		&st->info.errors, &st->info.lost };
	for (i = 0; i < NELEM(meta_i64); i++)
		if (meta_get_u64(txn, m, meta_i64[i].name, &v) == 0)
			*i64[i] = (am_time_t)v;
	for (i = 0; i < NELEM(meta_u64); i++)
		if (meta_get_u64(txn, m, meta_u64[i].name, &v) == 0)
			*u64[i] = v;
	if ((rc = mdb_get(txn, m, &k, &d)) != 0)
		return rc;
	if (d.mv_size % 8 || d.mv_size / 8 > AM_LE_MAX)
		return MDB_CORRUPTED;
	st->info.n_le = (uint32_t)(d.mv_size / 8);
	for (i = 0; i < st->info.n_le; i++)
		st->info.le[i] = am_get_be64((const uint8_t *)d.mv_data + 8 * i);
	return 0;
}

static int
meta_write_all(struct am_store *st, MDB_txn *txn, int clean)
{
	MDB_dbi m = st->dbi[DB_META];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < NELEM(meta_i64); i++)
		rc = meta_put_u64(txn, m, meta_i64[i].name,
		    (uint64_t)*(const am_time_t *)((const char *)&st->info + meta_i64[i].off));
	for (i = 0; rc == 0 && i < NELEM(meta_u64); i++)
		rc = meta_put_u64(txn, m, meta_u64[i].name,
		    *(const uint64_t *)((const char *)&st->info + meta_u64[i].off));
	if (rc == 0)
		rc = meta_put_u64(txn, m, "nextkey", st->next_key);
	if (rc == 0)
		rc = meta_put_u64(txn, m, "nextsig", st->next_sig);
	if (rc == 0)
		rc = meta_put_u64(txn, m, "clean", (uint64_t)clean);
	return rc;
}

static int
meta_init(struct am_store *st, MDB_txn *txn, const struct am_store_cfg *cfg)
{
	MDB_dbi m = st->dbi[DB_META];
	uint8_t le[8 * AM_LE_MAX];
	MDB_val k = { 2, (void *)"le" }, d = { 8 * (size_t)cfg->n_le, le };
	int rc;

	for (uint32_t i = 0; i < cfg->n_le; i++)
		am_put_be64(le + 8 * i, cfg->le[i]);
	if ((rc = meta_put_u64(txn, m, "format", AM_STORE_FORMAT)) ||
	    (rc = meta_put_u64(txn, m, "interval", cfg->interval_s)) ||
	    (rc = meta_put_u64(txn, m, "rollup", cfg->rollup_s)) ||
	    (rc = mdb_put(txn, m, &k, &d, 0)))
		return rc;
	st->next_key = st->next_sig = 1;
	st->was_clean = 1;
	return meta_write_all(st, txn, 1);
}

/* --- open / close ---------------------------------------------------------- */

static int
cfg_check(const struct am_store_cfg *c, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (c->interval_s && (c->interval_s < 10 || c->interval_s > 3600))
		bad = "interval must be 10..3600 s";
	else if (c->rollup_s > 86400)
		bad = "rollup must be at most a day";
	else if (c->retain1_s == 0 || c->retain2_s == 0)
		bad = "retention must not be 0";
	else if (c->n_le > AM_LE_MAX)
		bad = "too many le bounds";
	for (uint32_t i = 1; !bad && i < c->n_le; i++)
		if (c->le[i] <= c->le[i - 1])
			bad = "le bounds must ascend";
	if (bad)
		set_err(err, errlen, "store", bad);
	return bad ? -1 : 0;
}

struct am_store *
am_store_open(const char *dir, const struct am_store_cfg *cfgin, int mode, char *err, size_t errlen)
{
	struct am_store *st;
	struct am_store_cfg cfg;
	MDB_txn *txn = NULL;
	unsigned int flags = MDB_NOTLS | MDB_NOMETASYNC;
	int rc, i;
	uint64_t v;

	if (cfgin)
		cfg = *cfgin;
	else
		am_store_cfg_default(&cfg);
	if (cfg_check(&cfg, err, errlen) < 0)
		return NULL;
	/* a rollup period holds whole intervals */
	if (cfg.interval_s) {
		if (cfg.rollup_s < cfg.interval_s)
			cfg.rollup_s = cfg.interval_s;
		cfg.rollup_s += (cfg.interval_s - cfg.rollup_s % cfg.interval_s) % cfg.interval_s;
	}
	st = am_xcalloc(1, sizeof(*st));
	st->cfg = cfg;
	st->rdwr = mode == AM_STORE_RDWR;
	st->lockfd = -1;
	am_rec_init(&st->tmp);
	if (st->rdwr) {
		char path[4096];
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			set_err(err, errlen, dir, strerror(errno));
			goto fail;
		}
		/* one writer: ids are handed out from memory */
		snprintf(path, sizeof(path), "%s/writer.lock", dir);
		st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (st->lockfd < 0) {
			set_err(err, errlen, dir, strerror(errno));
			goto fail;
		}
		if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
			set_err(err, errlen, dir, errno == EWOULDBLOCK ?
			    "in use by another writer (artmond or artmon read --store)" : strerror(errno));
			goto fail;
		}
	} else {
		flags |= MDB_RDONLY;
	}
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto lmdb_fail;
	mdb_env_set_maxdbs(st->env, 16);
	if (st->rdwr && (rc = mdb_env_set_mapsize(st->env, cfg.map_size)) != 0)
		goto lmdb_fail;
	if ((rc = mdb_env_open(st->env, dir, flags, 0640)) != 0)
		goto lmdb_fail;
	if ((rc = mdb_txn_begin(st->env, NULL, st->rdwr ? 0 : MDB_RDONLY, &txn)) != 0)
		goto lmdb_fail;
	for (i = 0; i < DB__COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], st->rdwr ? MDB_CREATE : 0, &st->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			set_err(err, errlen, dir, "not an artmon store");
			goto fail;
		}
		if (rc != 0)
			goto lmdb_fail;
	}
	rc = meta_get_u64(txn, st->dbi[DB_META], "format", &v);
	if (rc == MDB_NOTFOUND && st->rdwr) {
		if (cfg.interval_s == 0) {
			st->cfg.interval_s = 300;
			st->cfg.rollup_s = cfg.rollup_s ? cfg.rollup_s : 3600;
		}
		if ((rc = meta_init(st, txn, &st->cfg)) != 0)
			goto lmdb_fail;
	} else if (rc == MDB_NOTFOUND) {
		set_err(err, errlen, dir, "not an artmon store");
		goto fail;
	} else if (rc != 0) {
		goto lmdb_fail;
	}
	if ((rc = meta_read_all(st, txn)) != 0)
		goto lmdb_fail;
	if (st->info.format != AM_STORE_FORMAT) {
		set_err(err, errlen, dir, "unsupported store format version");
		goto fail;
	}
	if (cfg.interval_s && st->rdwr &&
	    (cfg.interval_s != st->info.interval_s || cfg.rollup_s != st->info.rollup_s))
		log_warnx("store", "%s keeps its interval of %u s and rollup of %u s", dir,
		    st->info.interval_s, st->info.rollup_s);
	st->cfg.interval_s = st->info.interval_s;
	st->cfg.rollup_s = st->info.rollup_s;
	if (st->rdwr) {
		if (!st->was_clean) {
			/* the totals resume from the last flush */
			st->info.unclean_stops++;
			st->info.discontinuity = st->info.flushed_clock;
			log_warnx("store", "%s was not closed cleanly: resuming from the flush at %lld",
			    dir, (long long)st->info.flushed_clock);
		}
		if ((rc = meta_write_all(st, txn, 0)) != 0)
			goto lmdb_fail;
		if ((rc = mdb_txn_commit(txn)) != 0) {
			txn = NULL;
			goto lmdb_fail;
		}
	} else if ((rc = mdb_txn_commit(txn)) != 0) {
		/* commit, not abort: the database handles outlive the transaction */
		txn = NULL;
		goto lmdb_fail;
	}
	txn = NULL;
	st->info.retain1_s = st->cfg.retain1_s;
	st->info.retain2_s = st->cfg.retain2_s;
	return st;

lmdb_fail:
	set_err(err, errlen, dir, mdb_strerror(rc));
fail:
	if (txn)
		mdb_txn_abort(txn);
	if (st->env)
		mdb_env_close(st->env);
	if (st->lockfd >= 0)
		close(st->lockfd);
	am_rec_free(&st->tmp);
	free(st);
	return NULL;
}

void
am_store_close(struct am_store *st)
{
	MDB_txn *txn;

	if (st == NULL)
		return;
	if (st->rdwr && (st->last_final || (st->flushes_here == 0 && st->was_clean)) &&
	    mdb_txn_begin(st->env, NULL, 0, &txn) == 0) {
		if (meta_put_u64(txn, st->dbi[DB_META], "clean", 1) == 0)
			mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(st->env);
	if (st->lockfd >= 0)
		close(st->lockfd);
	am_rec_free(&st->tmp);
	free(st->buf);
	free(st);
}

int
am_store_info(struct am_store *st, struct am_store_info *info)
{
	MDB_envinfo ei;
	MDB_stat ms;

	*info = st->info;
	info->keys = st->next_key ? st->next_key - 1 : 0;
	info->sigs = st->next_sig ? st->next_sig - 1 : 0;
	info->retain1_s = st->cfg.retain1_s;
	info->retain2_s = st->cfg.retain2_s;
	if (mdb_env_info(st->env, &ei) == 0 && mdb_env_stat(st->env, &ms) == 0) {
		info->map_size = ei.me_mapsize;
		info->map_used = (uint64_t)(ei.me_last_pgno + 1) * ms.ms_psize;
	}
	return 0;
}

/* --- reading --------------------------------------------------------------- */

static int
rd_begin(struct am_store *st, MDB_txn **txn)
{
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);

	if (rc == MDB_MAP_RESIZED) {
		/* the writer grew the map: adopt its size */
		mdb_env_set_mapsize(st->env, 0);
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
	}
	if (rc != 0) {
		log_warnx("store", "read transaction: %s", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

static int
key_info_decode(struct am_key_info *ki, uint32_t id, const MDB_val *d)
{
	const uint8_t *p = d->mv_data;
	size_t klen, rlen;

	/* sig id (4), key length (1), key bytes, rule length (1), rule */
	memset(ki, 0, sizeof(*ki));
	if (d->mv_size < 6)
		return -1;
	ki->id = id;
	ki->sig_id = am_get_be32(p);
	klen = p[4];
	if (d->mv_size < 6 + klen)
		return -1;
	if (am_agg_key_decode(&ki->key, p + 5, klen) < 0)
		return -1;
	rlen = p[5 + klen];
	if (rlen > AM_NAME_MAX - 1 || d->mv_size != 6 + klen + rlen)
		return -1;
	memcpy(ki->key.rule, p + 6 + klen, rlen);
	return 0;
}

static int
key_lookup(struct am_store *st, MDB_txn *txn, uint32_t id, MDB_cursor_op op, struct am_key_info *out)
{
	MDB_cursor *cur;
	uint8_t kb[4];
	MDB_val k = { 4, kb }, d;
	int rc;

	am_put_be32(kb, id);
	if ((rc = mdb_cursor_open(txn, st->dbi[DB_KEYID], &cur)) != 0)
		return -1;
	rc = mdb_cursor_get(cur, &k, &d, op);
	if (rc == 0 && op == MDB_SET_RANGE && am_get_be32(k.mv_data) == id)
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0 || k.mv_size != 4)
		return -1;
	return key_info_decode(out, am_get_be32(k.mv_data), &d) < 0 ? -1 : 0;
}

int
am_store_key_get(struct am_store *st, uint32_t id, struct am_key_info *out)
{
	MDB_txn *txn;
	int r;

	if (rd_begin(st, &txn) < 0)
		return -1;
	r = key_lookup(st, txn, id, MDB_SET_KEY, out);
	mdb_txn_abort(txn);
	return r;
}

int
am_store_key_next(struct am_store *st, uint32_t after, struct am_key_info *out)
{
	MDB_txn *txn;
	int r;

	if (rd_begin(st, &txn) < 0)
		return -1;
	r = key_lookup(st, txn, after, MDB_SET_RANGE, out);
	mdb_txn_abort(txn);
	return r;
}

int
am_store_key_find(struct am_store *st, const struct am_agg_key *key, struct am_key_info *out,
    struct am_totals *tot)
{
	uint8_t enc[AM_KEY_ENC_MAX];
	MDB_val k, d;
	MDB_txn *txn;
	int rc, r;

	memset(tot, 0, sizeof(*tot));
	k.mv_size = am_agg_key_encode(key, enc);
	k.mv_data = enc;
	if (rd_begin(st, &txn) < 0)
		return -1;
	rc = mdb_get(txn, st->dbi[DB_KEYNAME], &k, &d);
	if (rc == MDB_NOTFOUND) {
		r = 1;
	} else if (rc != 0 || d.mv_size != 4) {
		r = -1;
	} else {
		uint32_t id = am_get_be32(d.mv_data);
		r = key_lookup(st, txn, id, MDB_SET_KEY, out);
		if (r == 0) {
			uint8_t kb[4];
			MDB_val tk = { 4, kb }, td;
			am_put_be32(kb, id);
			if (mdb_get(txn, st->dbi[DB_TOTALS], &tk, &td) == 0 &&
			    am_totals_decode(tot, td.mv_data, td.mv_size) < 0)
				log_warnx("store", "key %u: malformed totals", id);
		}
	}
	mdb_txn_abort(txn);
	return r;
}

int
am_store_sig_next(struct am_store *st, uint32_t after, uint32_t *id, char *name, size_t len)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t kb[4];
	MDB_val k = { 4, kb }, d;
	int rc, r = -1;

	if (rd_begin(st, &txn) < 0)
		return -1;
	am_put_be32(kb, after);
	if (mdb_cursor_open(txn, st->dbi[DB_SIGID], &cur) == 0) {
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		if (rc == 0 && am_get_be32(k.mv_data) == after)
			rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
		if (rc == MDB_NOTFOUND) {
			r = 1;
		} else if (rc == 0 && k.mv_size == 4) {
			size_t n = d.mv_size < len ? d.mv_size : (len ? len - 1 : 0);
			*id = am_get_be32(k.mv_data);
			if (len) {
				memcpy(name, d.mv_data, n);
				name[n] = 0;
			}
			r = 0;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return r;
}

int
am_store_totals(struct am_store *st, uint32_t key_id, struct am_totals *out)
{
	MDB_txn *txn;
	uint8_t kb[4];
	MDB_val k = { 4, kb }, d;
	int rc, r;

	memset(out, 0, sizeof(*out));
	if (rd_begin(st, &txn) < 0)
		return -1;
	am_put_be32(kb, key_id);
	rc = mdb_get(txn, st->dbi[DB_TOTALS], &k, &d);
	if (rc == MDB_NOTFOUND)
		r = 1;
	else if (rc != 0)
		r = -1;
	else
		r = am_totals_decode(out, d.mv_data, d.mv_size) < 0 ? -1 : 0;
	mdb_txn_abort(txn);
	return r;
}

static MDB_dbi
level_dbi(struct am_store *st, int level)
{
	return st->dbi[level == 2 ? DB_L2 : DB_L1];
}

int
am_store_rec_get(struct am_store *st, int level, uint32_t key_id, am_time_t start, struct am_rec *out)
{
	MDB_txn *txn;
	uint8_t kb[12];
	MDB_val k = { 12, kb }, d;
	int rc, r;

	if (rd_begin(st, &txn) < 0)
		return -1;
	rec_key(kb, key_id, start);
	rc = mdb_get(txn, level_dbi(st, level), &k, &d);
	if (rc == MDB_NOTFOUND)
		r = 1;
	else if (rc != 0)
		r = -1;
	else
		r = am_rec_decode(out, d.mv_data, d.mv_size) < 0 ? -1 : 0;
	mdb_txn_abort(txn);
	return r;
}

/* dir > 0: the key's smallest start > t; dir < 0: its largest start < t.
 * Records are ordered by time, then key: this tries the period starts one
 * by one, bounded by the key's first and last transaction (its totals) and
 * jumping over periods in which no key has a record. */
static int
rec_step(struct am_store *st, int level, uint32_t key_id, am_time_t t, int dir,
    am_time_t *start, struct am_rec *out)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t kb[12], tb[4];
	MDB_val k, d, tk = { 4, tb }, td;
	struct am_totals tot;
	uint64_t len = level == 2 ? st->info.rollup_s : st->info.interval_s;
	uint64_t s, lo, hi;
	int rc, r = 1;

	if (rd_begin(st, &txn) < 0)
		return -1;
	am_put_be32(tb, key_id);
	if (mdb_get(txn, st->dbi[DB_TOTALS], &tk, &td) != 0 ||
	    am_totals_decode(&tot, td.mv_data, td.mv_size) < 0 || tot.count == 0 ||
	    mdb_cursor_open(txn, level_dbi(st, level), &cur) != 0) {
		mdb_txn_abort(txn);
		return 1;
	}
	/* the periods that can hold the key's records */
	lo = tot.first_seen > 0 ? (uint64_t)(tot.first_seen / AM_USEC) : 0;
	lo -= lo % len;
	hi = tot.last_seen > 0 ? (uint64_t)(tot.last_seen / AM_USEC) : 0;
	hi -= hi % len;
	if (dir > 0) {
		s = t < 0 ? 0 : (uint64_t)(t / AM_USEC) + 1;
		s += (len - s % len) % len;
		if (s < lo)
			s = lo;
		while (s <= hi) {
			rec_key(kb, key_id, (am_time_t)s * AM_USEC);
			k.mv_size = 12;
			k.mv_data = kb;
			rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
			if (rc != 0)
				break;
			if (rk_time(&k) == s && rk_id(&k) == key_id) {
				r = 0;
				break;
			}
			/* nothing of this key at s; no key at all until rk_time(&k) */
			s = rk_time(&k) > s ? rk_time(&k) : s + len;
			s += (len - s % len) % len;
		}
	} else {
		if (t <= 0)
			goto done;
		s = (uint64_t)(t / AM_USEC) - (t % AM_USEC == 0);
		s -= s % len;
		if (s > hi)
			s = hi;
		for (;;) {
			if (s < lo)
				break;
			rec_key(kb, key_id, (am_time_t)s * AM_USEC);
			k.mv_size = 12;
			k.mv_data = kb;
			rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
			if (rc == 0 && rk_time(&k) == s && rk_id(&k) == key_id) {
				r = 0;
				break;
			}
			/* the last record before (s, id): no key has one in between */
			rc = rc == 0 ? mdb_cursor_get(cur, &k, &d, MDB_PREV) :
			    mdb_cursor_get(cur, &k, &d, MDB_LAST);
			if (rc != 0)
				break;
			if (rk_time(&k) < s)
				s = rk_time(&k) - rk_time(&k) % len;
			else if (s >= len)
				s -= len;
			else
				break;
		}
	}
	if (r == 0) {
		*start = (am_time_t)s * AM_USEC;
		if (am_rec_decode(out, d.mv_data, d.mv_size) < 0)
			r = -1;
	}
done:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return r;
}

int
am_store_rec_walk(struct am_store *st, int level, am_time_t from, am_time_t to,
    int (*cb)(void *ctx, am_time_t start, uint32_t key_id, const struct am_rec *rec), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t kb[12];
	MDB_val k = { 12, kb }, d;
	struct am_rec rec;
	int rc, r = 0;

	if (rd_begin(st, &txn) < 0)
		return -1;
	if (mdb_cursor_open(txn, level_dbi(st, level), &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	am_rec_init(&rec);
	rec_key(kb, 0, from > 0 ? from + AM_USEC - 1 : 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		am_time_t s;
		if (k.mv_size != 12)
			continue;
		s = (am_time_t)rk_time(&k) * AM_USEC;
		if (s >= to)
			break;
		if (am_rec_decode(&rec, d.mv_data, d.mv_size) < 0) {
			log_warnx("store", "key %u: malformed record at %llu", rk_id(&k),
			    (unsigned long long)rk_time(&k));
			continue;
		}
		if (cb(ctx, s, rk_id(&k), &rec)) {
			r = 1;
			break;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		r = -1;
	am_rec_free(&rec);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return r;
}

int
am_store_rec_next(struct am_store *st, int level, uint32_t key_id, am_time_t after,
    am_time_t *start, struct am_rec *out)
{
	return rec_step(st, level, key_id, after, 1, start, out);
}

int
am_store_rec_prev(struct am_store *st, int level, uint32_t key_id, am_time_t before,
    am_time_t *start, struct am_rec *out)
{
	return rec_step(st, level, key_id, before, -1, start, out);
}

int
am_store_load(struct am_store *st,
    int (*key_cb)(void *ctx, const struct am_key_info *ki, const struct am_totals *tot),
    int (*sig_cb)(void *ctx, uint32_t id, const char *name), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, d, tk, td;
	struct am_key_info ki;
	struct am_totals tot;
	char name[AM_NAME_MAX];
	int rc, r = 0;

	if (rd_begin(st, &txn) < 0)
		return -1;
	if (key_cb && mdb_cursor_open(txn, st->dbi[DB_KEYID], &cur) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && r == 0;
		    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
			if (k.mv_size != 4 || key_info_decode(&ki, am_get_be32(k.mv_data), &d) < 0) {
				log_warnx("store", "skipping a malformed key record");
				continue;
			}
			tk = k;
			memset(&tot, 0, sizeof(tot));
			if (mdb_get(txn, st->dbi[DB_TOTALS], &tk, &td) == 0 &&
			    am_totals_decode(&tot, td.mv_data, td.mv_size) < 0)
				log_warnx("store", "key %u: malformed totals", ki.id);
			if (key_cb(ctx, &ki, &tot))
				r = 1;
		}
		mdb_cursor_close(cur);
		cur = NULL;
	}
	if (sig_cb && r == 0 && mdb_cursor_open(txn, st->dbi[DB_SIGID], &cur) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && r == 0;
		    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
			if (k.mv_size != 4 || d.mv_size >= sizeof(name))
				continue;
			memcpy(name, d.mv_data, d.mv_size);
			name[d.mv_size] = 0;
			if (sig_cb(ctx, am_get_be32(k.mv_data), name))
				r = 1;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return 0;
}

/* --- writing --------------------------------------------------------------- */

static int
w_fail(struct am_store_w *w, int rc)
{
	if (w->rc == 0)
		w->rc = rc;
	return -1;
}

int
am_store_put_sig(struct am_store_w *w, uint32_t id, const char *name)
{
	uint8_t kb[4];
	size_t n = strnlen(name, AM_NAME_MAX - 1);
	MDB_val k = { 4, kb }, d = { n, (void *)name }, nk = { n, (void *)name }, nd = { 4, kb };
	int rc;

	if (w->rc)
		return -1;
	if (id == 0 || n == 0)
		return w_fail(w, EINVAL);
	am_put_be32(kb, id);
	if ((rc = mdb_put(w->txn, w->st->dbi[DB_SIGID], &k, &d, 0)) != 0 ||
	    (rc = mdb_put(w->txn, w->st->dbi[DB_SIGNAME], &nk, &nd, 0)) != 0)
		return w_fail(w, rc);
	if (id >= w->st->next_sig)
		w->st->next_sig = id + 1;
	return 0;
}

int
am_store_put_key(struct am_store_w *w, const struct am_key_info *ki)
{
	uint8_t kb[4], v[4 + 1 + AM_KEY_ENC_MAX + 1 + AM_NAME_MAX];
	size_t kl, rl;
	MDB_val k = { 4, kb }, d, nk, nd = { 4, kb };
	int rc;

	if (w->rc)
		return -1;
	if (ki->id == 0)
		return w_fail(w, EINVAL);
	am_put_be32(kb, ki->id);
	am_put_be32(v, ki->sig_id);
	kl = am_agg_key_encode(&ki->key, v + 5);
	v[4] = (uint8_t)kl;
	rl = strnlen(ki->key.rule, AM_NAME_MAX - 1);
	v[5 + kl] = (uint8_t)rl;
	memcpy(v + 6 + kl, ki->key.rule, rl);
	d.mv_size = 6 + kl + rl;
	d.mv_data = v;
	nk.mv_size = kl;
	nk.mv_data = v + 5;
	if ((rc = mdb_put(w->txn, w->st->dbi[DB_KEYID], &k, &d, 0)) != 0 ||
	    (rc = mdb_put(w->txn, w->st->dbi[DB_KEYNAME], &nk, &nd, 0)) != 0)
		return w_fail(w, rc);
	if (ki->id >= w->st->next_key)
		w->st->next_key = ki->id + 1;
	return 0;
}

/* Merges rec into the record (id, start) of one level. */
static int
merge_put(struct am_store_w *w, MDB_dbi dbi, uint32_t id, am_time_t start, const struct am_rec *rec)
{
	struct am_store *st = w->st;
	uint8_t kb[12];
	MDB_val k = { 12, kb }, d;
	const struct am_rec *out = rec;
	size_t n;
	int rc;

	rec_key(kb, id, start);
	rc = mdb_get(w->txn, dbi, &k, &d);
	if (rc == 0) {
		if (am_rec_decode(&st->tmp, d.mv_data, d.mv_size) < 0) {
			log_warnx("store", "key %u: malformed record at %lld replaced", id,
			    (long long)(start / AM_USEC));
			am_rec_reset(&st->tmp);
		}
		am_rec_merge(&st->tmp, rec);
		out = &st->tmp;
	} else if (rc != MDB_NOTFOUND) {
		return w_fail(w, rc);
	}
	n = am_rec_encode_bound(out);
	d.mv_data = scratch(st, n);
	d.mv_size = am_rec_encode(out, d.mv_data, n);
	if ((rc = mdb_put(w->txn, dbi, &k, &d, 0)) != 0)
		return w_fail(w, rc);
	return 0;
}

int
am_store_put_rec(struct am_store_w *w, uint32_t key_id, am_time_t start, const struct am_rec *rec)
{
	struct am_store *st = w->st;
	am_time_t len1 = (am_time_t)st->cfg.interval_s * AM_USEC;
	am_time_t len2 = (am_time_t)st->cfg.rollup_s * AM_USEC;
	am_time_t start2;

	if (w->rc)
		return -1;
	if (start < 0 || start % len1)
		return w_fail(w, EINVAL);
	start2 = start - start % len2;
	if (merge_put(w, st->dbi[DB_L1], key_id, start, rec) < 0 ||
	    merge_put(w, st->dbi[DB_L2], key_id, start2, rec) < 0)
		return -1;
	if (start > st->info.newest1)
		st->info.newest1 = start;
	if (start2 > st->info.newest2)
		st->info.newest2 = start2;
	return 0;
}

int
am_store_put_totals(struct am_store_w *w, uint32_t key_id, const struct am_totals *t)
{
	uint8_t kb[4];
	MDB_val k = { 4, kb }, d;
	size_t n;
	int rc;

	if (w->rc)
		return -1;
	am_put_be32(kb, key_id);
	n = am_totals_encode(t, NULL, 0);
	d.mv_size = n;
	d.mv_data = scratch(w->st, n);
	am_totals_encode(t, d.mv_data, n);
	if ((rc = mdb_put(w->txn, w->st->dbi[DB_TOTALS], &k, &d, 0)) != 0)
		return w_fail(w, rc);
	return 0;
}

/* One step of retention on a level: deletes from the front the records
 * older than the cutoff, within a budget. */
static int
retention_step(struct am_store *st, MDB_txn *txn, int level, uint64_t *budget)
{
	MDB_cursor *cur;
	am_time_t newest = level == 1 ? st->info.newest1 : st->info.newest2;
	uint32_t len = level == 1 ? st->cfg.interval_s : st->cfg.rollup_s;
	uint32_t keep = level == 1 ? st->cfg.retain1_s : st->cfg.retain2_s;
	uint64_t *pruned = level == 1 ? &st->info.pruned1 : &st->info.pruned2;
	uint64_t cut;
	MDB_val k, d;
	int rc;

	if (newest <= 0)
		return 0;
	/* keep the newest `keep` seconds' worth of periods, the newest included */
	if ((uint64_t)(newest / AM_USEC) + len < keep)
		return 0;
	cut = (uint64_t)(newest / AM_USEC) + len - keep;
	if ((rc = mdb_cursor_open(txn, level_dbi(st, level), &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && *budget > 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size == 12 && rk_time(&k) >= cut)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*pruned)++;
		(*budget)--;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The map is full: remove the oldest records, in their own transaction.
 * Level 1 goes first (one rollup period at a time), then level 2 (a day). */
static int
prune_oldest(struct am_store *st)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, level;
	uint64_t n = 0;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return rc;
	for (level = 1; level <= 2 && n == 0; level++) {
		uint64_t limit = 0;
		if ((rc = mdb_cursor_open(txn, level_dbi(st, level), &cur)) != 0)
			goto out;
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
			if (n == 0)
				limit = rk_time(&k) + (level == 1 ? st->cfg.rollup_s : DAY);
			if (k.mv_size == 12 && rk_time(&k) >= limit)
				break;
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			n++;
		}
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto out;
		rc = 0;
		if (n)
			log_warnx("store", "map nearly full: pruned %llu level-%d records older than %llu",
			    (unsigned long long)n, level, (unsigned long long)limit);
	}
	if (n == 0) {
		mdb_txn_abort(txn);
		return MDB_NOTFOUND;        /* nothing left to prune */
	}
	if ((rc = mdb_txn_commit(txn)) == 0)
		st->info.pruned_full += n;
	return rc;
out:
	mdb_txn_abort(txn);
	return rc;
}

/* Bytes in use: pages up to the high-water mark less those on the free
 * list (the free database, dbi 0, holds lists of page numbers, each with its
 * length first: the way mdb_stat -f counts them). */
static uint64_t
used_bytes(struct am_store *st)
{
	MDB_envinfo ei;
	MDB_stat ms;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t pages, free_pages = 0;
	int rc;

	if (mdb_env_info(st->env, &ei) != 0 || mdb_env_stat(st->env, &ms) != 0)
		return 0;
	pages = ei.me_last_pgno + 1;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return pages * ms.ms_psize;
	if (mdb_cursor_open(txn, 0, &cur) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
			if (d.mv_size >= sizeof(size_t))
				free_pages += d.mv_size / sizeof(size_t) - 1;
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (free_pages > pages)
		free_pages = pages;
	return (pages - free_pages) * ms.ms_psize;
}

/* Keeps room for flushes: above 80% of the map, prunes the oldest records
 * down to 70% (or until nothing is left to prune). */
static void
keep_room(struct am_store *st)
{
	MDB_envinfo ei;
	uint64_t map;
	int i;

	if (mdb_env_info(st->env, &ei) != 0)
		return;
	map = ei.me_mapsize;
	if (used_bytes(st) <= map / 10 * 8)
		return;
	st->info.map_full++;
	log_warnx("store", "map %.0f%% used: pruning the oldest records",
	    100.0 * (double)used_bytes(st) / (double)map);
	for (i = 0; i < 64 && used_bytes(st) > map / 10 * 7; i++)
		if (prune_oldest(st) != 0)
			break;
}

/* Last resort when pruning cannot make room: grow the map by an eighth. */
static int
grow_map(struct am_store *st)
{
	MDB_envinfo ei;
	size_t n;
	int rc;

	if (mdb_env_info(st->env, &ei) != 0)
		return -1;
	n = ei.me_mapsize + ei.me_mapsize / 8;
	if ((rc = mdb_env_set_mapsize(st->env, n)) != 0) {
		log_warnx("store", "cannot grow the map: %s", mdb_strerror(rc));
		return -1;
	}
	log_warnx("store", "map full with nothing left to prune: grown to %zu bytes", n);
	return 0;
}

struct am_store_w *
am_store_begin(struct am_store *st)
{
	struct am_store_w *w = &st->w;
	int rc;

	if (!st->rdwr || w->active)
		return NULL;
	keep_room(st);
	st->saved = st->info;
	st->saved_key = st->next_key;
	st->saved_sig = st->next_sig;
	memset(w, 0, sizeof(*w));
	w->st = st;
	w->t0 = am_now_mono();
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &w->txn)) != 0) {
		log_warnx("store", "write transaction: %s", mdb_strerror(rc));
		return NULL;
	}
	w->active = 1;
	return w;
}

int
am_store_w_status(const struct am_store_w *w)
{
	return w->rc == 0 ? 0 : w->rc == MDB_MAP_FULL ? 1 : -1;
}

/* Puts back what the transaction changed in memory; the health counters
 * (map full, pruning, errors) stay. */
static void
w_undo(struct am_store *st)
{
	struct am_store_info keep = st->info;

	st->info = st->saved;
	st->info.pruned_full = keep.pruned_full;
	st->info.map_full = keep.map_full;
	st->info.errors = keep.errors;
	st->info.lost = keep.lost;
	st->next_key = st->saved_key;
	st->next_sig = st->saved_sig;
	st->w.active = 0;
}

void
am_store_abort(struct am_store_w *w)
{
	if (!w->active)
		return;
	mdb_txn_abort(w->txn);
	w_undo(w->st);
}

int
am_store_commit(struct am_store_w *w, am_time_t clock, int final)
{
	struct am_store *st = w->st;
	uint64_t budget = st->cfg.prune_budget;
	int rc = w->rc;

	if (!w->active)
		return -1;
	if (rc == 0)
		rc = retention_step(st, w->txn, 1, &budget);
	if (rc == 0)
		rc = retention_step(st, w->txn, 2, &budget);
	if (rc == 0) {
		st->info.flushes++;
		st->info.flushed_clock = clock;
		if (st->info.created == 0)
			st->info.created = clock;
		rc = meta_write_all(st, w->txn, final ? 1 : 0);
	}
	if (rc == 0) {
		rc = mdb_txn_commit(w->txn);
		if (rc == 0) {
			st->info.last_flush_us = am_now_mono() - w->t0;
			st->flushes_here++;
			st->last_final = final;
			w->active = 0;
			return 0;
		}
	} else {
		mdb_txn_abort(w->txn);
	}
	w_undo(st);
	w->rc = rc;
	return rc == MDB_MAP_FULL ? 1 : -1;
}

int
am_store_make_room(struct am_store *st)
{
	int rc;

	st->info.map_full++;
	log_warnx("store", "map full during a flush: pruning the oldest records");
	rc = prune_oldest(st);
	if (rc == MDB_NOTFOUND || rc == MDB_MAP_FULL)
		return grow_map(st);
	if (rc != 0) {
		log_warnx("store", "pruning: %s", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

void
am_store_flush_failed(struct am_store *st, am_time_t clock, const struct am_store_w *w)
{
	st->info.errors++;
	st->info.lost++;
	log_warnx("store", "flush at %lld failed: %s", (long long)clock,
	    w && w->rc ? mdb_strerror(w->rc) : "cannot make room");
}

int
am_store_flush(struct am_store *st, am_time_t clock, int final,
    int (*write)(void *ctx, struct am_store_w *w), void *ctx)
{
	struct am_store_w *w = NULL;
	int attempt, r;

	for (attempt = 0; attempt < 12; attempt++) {
		if ((w = am_store_begin(st)) == NULL)
			break;
		if (write(ctx, w) < 0 && w->rc == 0)
			w->rc = EINVAL;
		r = am_store_w_status(w);
		if (r == 0)
			r = am_store_commit(w, clock, final);
		else
			am_store_abort(w);
		if (r == 0)
			return 0;
		if (r < 0 || am_store_make_room(st) < 0)
			break;
	}
	am_store_flush_failed(st, clock, w);
	return -1;
}

/* --- auxiliary tables ---------------------------------------------------------- */

#define AUX_KEY_MAX 480    /* LMDB's key limit is 511 bytes */

static int
aux_key(uint8_t *b, int table, const void *key, size_t klen)
{
	if (table < 1 || table > 255 || klen > AUX_KEY_MAX)
		return -1;
	b[0] = (uint8_t)table;
	if (klen)
		memcpy(b + 1, key, klen);
	return 0;
}

int
am_store_aux_get(struct am_store *st, int table, const void *key, size_t klen,
    void *buf, size_t *len)
{
	uint8_t kb[1 + AUX_KEY_MAX];
	MDB_val k = { 1 + klen, kb }, d;
	MDB_txn *txn;
	int rc, r;

	if (aux_key(kb, table, key, klen) < 0 || rd_begin(st, &txn) < 0)
		return -1;
	rc = mdb_get(txn, st->dbi[DB_AUX], &k, &d);
	if (rc == MDB_NOTFOUND) {
		r = 1;
	} else if (rc != 0) {
		r = -1;
	} else {
		r = 0;
		if (buf && d.mv_size <= *len)
			memcpy(buf, d.mv_data, d.mv_size);
		else if (buf)
			r = -1;
		*len = d.mv_size;
	}
	mdb_txn_abort(txn);
	return r;
}

int
am_store_aux_walk(struct am_store *st, int table,
    int (*cb)(void *ctx, const void *key, size_t klen, const void *val, size_t vlen), void *ctx)
{
	uint8_t kb[1];
	MDB_val k = { 1, kb }, d;
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc, r = 0;

	if (table < 1 || table > 255 || rd_begin(st, &txn) < 0)
		return -1;
	kb[0] = (uint8_t)table;
	if (mdb_cursor_open(txn, st->dbi[DB_AUX], &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		if (k.mv_size < 1 || kp[0] != table)
			break;
		if (cb(ctx, kp + 1, k.mv_size - 1, d.mv_data, d.mv_size)) {
			r = 1;
			break;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		r = -1;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return r;
}

int
am_store_aux_put(struct am_store_w *w, int table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	uint8_t kb[1 + AUX_KEY_MAX];
	MDB_val k = { 1 + klen, kb }, d = { vlen, (void *)val };
	int rc;

	if (w->rc)
		return -1;
	if (aux_key(kb, table, key, klen) < 0)
		return w_fail(w, EINVAL);
	if (val == NULL) {
		rc = mdb_del(w->txn, w->st->dbi[DB_AUX], &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	} else {
		rc = mdb_put(w->txn, w->st->dbi[DB_AUX], &k, &d, 0);
	}
	return rc ? w_fail(w, rc) : 0;
}

int
am_store_aux_write(struct am_store *st, int table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct am_store_w w = { .st = st };
	int rc;

	if (!st->rdwr || st->w.active)
		return -1;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &w.txn)) != 0) {
		log_warnx("store", "write transaction: %s", mdb_strerror(rc));
		return -1;
	}
	if (am_store_aux_put(&w, table, key, klen, val, vlen) < 0) {
		log_warnx("store", "auxiliary table %d: %s", table, mdb_strerror(w.rc));
		mdb_txn_abort(w.txn);
		st->info.errors++;
		return -1;
	}
	if ((rc = mdb_txn_commit(w.txn)) != 0) {
		log_warnx("store", "auxiliary table %d: %s", table, mdb_strerror(rc));
		st->info.errors++;
		return -1;
	}
	return 0;
}
