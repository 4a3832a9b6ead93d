/* The arena, the diagnostics list and the lexer of the configuration language. */
#include "config.h"
#include "rules/conf_int.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* arena */

struct chunk {
	struct chunk *next;
	size_t size, used;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

#define ARENA_CHUNK 16384

struct arena *
arena_new(void)
{
	return am_xcalloc(1, sizeof(struct arena));
}

void
arena_free(struct arena *a)
{
	struct chunk *c, *n;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t al = sizeof(max_align_t);
	void *p;

	n = (n + al - 1) / al * al;
	if (n == 0)
		n = al;
	if (c == NULL || c->size - c->used < n) {
		size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = am_xmalloc(sizeof(struct chunk) + sz);
		c->size = sz;
		c->used = 0;
		if (n > ARENA_CHUNK && a->head != NULL) {
			/* a big one: keep filling the current chunk afterwards */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void *
arena_grow(struct arena *a, void *old, size_t oldn, size_t newn, size_t elsz)
{
	void *p = arena_alloc(a, newn * elsz);

	if (old != NULL && oldn > 0)
		memcpy(p, old, oldn * elsz);
	return p;
}

/* ------------------------------------------------------------------ */
/* diagnostics */

void
am_diags_init(struct am_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
am_diags_free(struct am_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void
diag_add(struct am_diags *d, int error, const char *file, uint32_t line, uint32_t col,
	 const char *fmt, ...)
{
	va_list ap;
	char buf[512];
	struct am_diag *g;

	if (error)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= AM_DIAGS_MAX) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = am_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	g = &d->v[d->n++];
	g->file = am_xstrdup(file ? file : "");
	g->line = line;
	g->col = col;
	g->error = error ? 1 : 0;
	g->msg = am_xstrdup(buf);
}

void
am_diags_add(struct am_diags *d, int error, const struct am_loc *loc, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag_add(d, error, loc ? loc->file : NULL, loc ? loc->line : 0, loc ? loc->col : 0, "%s", buf);
}

void
am_diags_print(const struct am_diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct am_diag *g = &d->v[i];
		const char *kind = g->error ? "error" : "warning";
		if (g->line > 0)
			fprintf(out, "%s:%u:%u: %s: %s\n", g->file, g->line, g->col, kind, g->msg);
		else if (g->file[0] != '\0')
			fprintf(out, "%s: %s: %s\n", g->file, kind, g->msg);
		else
			fprintf(out, "%s: %s\n", kind, g->msg);
	}
	if (d->dropped > 0)
		fprintf(out, "(%u more messages not shown)\n", d->dropped);
}

/* ------------------------------------------------------------------ */
/* lexer */

void
lex_init(struct lexer *lx, const char *file, const char *buf, size_t len,
	 struct arena *a, struct am_diags *d)
{
	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->file = file;
	lx->arena = a;
	lx->diags = d;
}

static int
peek(const struct lexer *lx, size_t ahead)
{
	if (lx->pos + ahead >= lx->len)
		return -1;
	return (unsigned char)lx->buf[lx->pos + ahead];
}

static void
advance(struct lexer *lx)
{
	if (lx->pos >= lx->len)
		return;
	if (lx->buf[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static int
is_word_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '.' || c == '$' || c == '-' || c == '/' || c == ':' || c == '+';
}

/* Skips blanks and comments; reports an unterminated block comment. */
static void
skip_space(struct lexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			advance(lx);
		} else if (c == '/' && peek(lx, 1) == '/') {
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			uint32_t line = lx->line, col = lx->col;
			advance(lx);
			advance(lx);
			for (;;) {
				if (peek(lx, 0) == -1) {
					diag_add(lx->diags, 1, lx->file, line, col,
						 "unterminated comment: expected '*/' before the end of the file");
					return;
				}
				if (peek(lx, 0) == '*' && peek(lx, 1) == '/') {
					advance(lx);
					advance(lx);
					break;
				}
				advance(lx);
			}
		} else {
			return;
		}
	}
}

void
lex_next(struct lexer *lx, struct tok *t)
{
	for (;;) {
		int c;
		size_t start;

		skip_space(lx);
		memset(t, 0, sizeof(*t));
		t->file = lx->file;
		t->line = lx->line;
		t->col = lx->col;
		c = peek(lx, 0);
		start = lx->pos;
		if (c == -1) {
			t->type = TK_EOF;
			t->text = "";
			return;
		}
		switch (c) {
		case '{': t->type = TK_LBRACE; break;
		case '}': t->type = TK_RBRACE; break;
		case ';': t->type = TK_SEMI; break;
		case ',': t->type = TK_COMMA; break;
		case '=':
			t->type = TK_EQ;
			if (peek(lx, 1) == '~') {
				advance(lx);
				t->type = TK_MATCH;
			}
			break;
		default:
			break;
		}
		if (t->type != TK_EOF) {
			advance(lx);
			t->len = (uint32_t)(lx->pos - start);
			t->text = arena_strndup(lx->arena, lx->buf + start, t->len);
			return;
		}
		if (c == '"') {
			advance(lx);
			start = lx->pos;
			for (;;) {
				int d = peek(lx, 0);
				if (d == -1 || d == '\n') {
					diag_add(lx->diags, 1, lx->file, t->line, t->col,
						 "unterminated string: expected '\"' before the end of the line");
					break;
				}
				if (d == '\\' && peek(lx, 1) != -1 && peek(lx, 1) != '\n') {
					advance(lx);
					advance(lx);
					continue;
				}
				if (d == '"')
					break;
				advance(lx);
			}
			t->type = TK_STRING;
			t->len = (uint32_t)(lx->pos - start);
			t->text = arena_strndup(lx->arena, lx->buf + start, t->len);
			if (peek(lx, 0) == '"')
				advance(lx);
			return;
		}
		if (is_word_char(c)) {
			while (is_word_char(peek(lx, 0))) {
				/* a comment may follow a word without a blank */
				if (peek(lx, 0) == '/' && (peek(lx, 1) == '/' || peek(lx, 1) == '*'))
					break;
				advance(lx);
			}
			t->type = TK_WORD;
			t->len = (uint32_t)(lx->pos - start);
			t->text = arena_strndup(lx->arena, lx->buf + start, t->len);
			return;
		}
		if (c == 0xcb && (peek(lx, 1) == 0x9c || peek(lx, 1) == 0x86)) {
			/* text copied from a PDF: U+02DC small tilde, U+02C6 modifier circumflex */
			int tilde = peek(lx, 1) == 0x9c;
			diag_add(lx->diags, 1, lx->file, t->line, t->col,
				 "unexpected '%s' (U+%s, a PDF's rendering of '%c'): write '%s'",
				 tilde ? "\xcb\x9c" : "\xcb\x86", tilde ? "02DC" : "02C6",
				 tilde ? '~' : '^', tilde ? "=~" : "^");
			advance(lx);
		} else if (c >= 0x21 && c < 0x7f)
			diag_add(lx->diags, 1, lx->file, t->line, t->col,
				 "unexpected character '%c'", c);
		else
			diag_add(lx->diags, 1, lx->file, t->line, t->col,
				 "unexpected byte 0x%02x", (unsigned)c);
		advance(lx);
	}
}

const char *
tok_describe(const struct tok *t, char *buf, size_t len)
{
	switch (t->type) {
	case TK_EOF:
		snprintf(buf, len, "the end of the file");
		break;
	case TK_STRING:
		snprintf(buf, len, "string \"%.40s%s\"", t->text, t->len > 40 ? "..." : "");
		break;
	default:
		snprintf(buf, len, "'%.40s%s'", t->text, t->len > 40 ? "..." : "");
		break;
	}
	return buf;
}
