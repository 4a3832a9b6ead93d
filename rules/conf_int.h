/* Inside rules/: the arena, the lexer, the syntax tree and the runtime
 * state.  Not for other parts of artmon. */
#ifndef AM_CONF_INT_H
#define AM_CONF_INT_H

#include <stdint.h>
#include <stddef.h>
#include "rules/rules.h"

/* ---- arena: everything of a configuration is freed at once ---- */
struct arena;
struct arena *arena_new(void);
void arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);          /* zeroed */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Grows an array kept in the arena (the old copy is abandoned). */
void *arena_grow(struct arena *a, void *old, size_t oldn, size_t newn, size_t elsz);

/* ---- diagnostics ---- */
void diag_add(struct am_diags *d, int error, const char *file, uint32_t line, uint32_t col,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- tokens ---- */
enum tok_type {
	TK_EOF = 0,
	TK_WORD,      /* letters, digits and _ . $ - / : + */
	TK_STRING,    /* "..." : text holds the raw bytes between the quotes */
	TK_EQ,        /* = */
	TK_MATCH,     /* =~ */
	TK_COMMA,
	TK_SEMI,
	TK_LBRACE,
	TK_RBRACE
};

struct tok {
	enum tok_type type;
	const char *text;   /* arena copy, NUL-terminated (may hold NULs for strings) */
	uint32_t len;
	const char *file;
	uint32_t line, col;
};

struct lexer {
	const char *buf;
	size_t len, pos;
	uint32_t line, col;
	const char *file;
	struct arena *arena;
	struct am_diags *diags;
};

void lex_init(struct lexer *lx, const char *file, const char *buf, size_t len,
	      struct arena *a, struct am_diags *d);
/* Next token; lexical errors are reported and skipped. */
void lex_next(struct lexer *lx, struct tok *t);
const char *tok_describe(const struct tok *t, char *buf, size_t len);

/* ---- syntax tree: statements (tokens up to ';') and blocks ---- */
struct node {
	struct tok *toks;   /* statement tokens, or the block head before '{' */
	uint32_t ntoks;
	uint8_t block;
	struct node *child; /* block contents, includes already spliced in */
	struct node *next;
	struct tok end;     /* the ';' or '}' that ended it */
};

struct parser {
	struct arena *arena;      /* parse tree and token texts */
	struct arena *keep;       /* file names that outlive the parse */
	struct am_diags *diags;
	char **files;             /* every file read (arena `keep`) */
	uint32_t nfiles, capfiles;
	const char *stack[32];    /* canonical names of the files being read */
	uint32_t depth;
};

/* Parses a whole file (path) or buffer; returns the list of top statements. */
struct node *parse_file(struct parser *p, const char *path, const struct tok *from);
struct node *parse_mem(struct parser *p, const char *name, const char *text, size_t len);

/* ---- semantic pass ---- */
struct am_config *conf_build(struct node *top, struct parser *p, const char *path,
			      uint32_t errors_before);

/* ---- runtime (match.c) ---- */
struct am_rules_rt *rt_new(const struct am_config *cfg);
void rt_free(struct am_rules_rt *rt);
/* A fixed signature known at load time. */
int32_t rt_sig_add(struct am_rules_rt *rt, int rule, const char *name, size_t len);
/* Compiles a regex; on failure fills err and errofs and returns NULL. */
void *re_compile(const char *pattern, uint32_t flags, char *err, size_t errlen,
		 size_t *errofs, uint32_t *captures);
void re_free(void *re);

#endif
