/* The syntax pass: statements (tokens up to ';') and blocks (`head { ... }`),
 * with `include "file";` spliced in where it stands.  What the statements
 * mean is left to the semantic pass (conf_load.c). */
#include "config.h"
#include "rules/conf_int.h"
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BLOCK_DEPTH 32
#define MAX_INCLUDE_DEPTH 16
#define MAX_FILE_SIZE (16u << 20)

static struct node *parse_list(struct parser *p, struct lexer *lx, int depth,
			       const struct tok *open);

static void
add_file(struct parser *p, const char *name)
{
	if (p->nfiles == p->capfiles) {
		uint32_t ncap = p->capfiles ? p->capfiles * 2 : 8;
		p->files = arena_grow(p->keep, p->files, p->nfiles, ncap, sizeof(char *));
		p->capfiles = ncap;
	}
	p->files[p->nfiles++] = arena_strdup(p->keep, name);
}

/* Reads a whole regular file; NULL with errno on failure.  A device or a
 * FIFO would never end (or would block), so only regular files are read. */
static char *
read_all(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t len = 0, cap;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_SIZE) {
		int e = errno;
		if (S_ISDIR(st.st_mode))
			e = EISDIR;
		else if (!S_ISREG(st.st_mode))
			e = EINVAL;
		else if (st.st_size > (off_t)MAX_FILE_SIZE)
			e = EFBIG;
		close(fd);
		errno = e;
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	buf = am_xmalloc(cap);
	for (;;) {
		ssize_t n;
		if (len == cap) {
			if (cap > MAX_FILE_SIZE) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = am_xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*lenp = len;
	return buf;
}

static int
tok_is(const struct tok *t, const char *word)
{
	return t->type == TK_WORD && strcasecmp(t->text, word) == 0;
}

/* Skips a block that is nested too deeply, up to its closing brace. */
static void
skip_block(struct lexer *lx)
{
	struct tok t;
	unsigned level = 1;

	for (;;) {
		lex_next(lx, &t);
		if (t.type == TK_EOF)
			return;
		if (t.type == TK_LBRACE)
			level++;
		else if (t.type == TK_RBRACE && --level == 0)
			return;
	}
}

/* Resolves `name` of an include against the directory of `from`. */
static char *
resolve_include(const char *from, const char *name, size_t namelen)
{
	const char *slash;
	char *out;
	size_t dirlen;

	if (name[0] == '/' || (slash = strrchr(from, '/')) == NULL) {
		out = am_xmalloc(namelen + 1);
		memcpy(out, name, namelen);
		out[namelen] = '\0';
		return out;
	}
	dirlen = (size_t)(slash - from) + 1;
	out = am_xmalloc(dirlen + namelen + 1);
	memcpy(out, from, dirlen);
	memcpy(out + dirlen, name, namelen);
	out[dirlen + namelen] = '\0';
	return out;
}

static struct node *
do_include(struct parser *p, struct node *stmt)
{
	const struct tok *kw = &stmt->toks[0];
	const struct tok *arg;
	char *path;
	struct node *list;
	char desc[96];

	if (stmt->ntoks < 2 || stmt->toks[1].type != TK_STRING) {
		const struct tok *bad = stmt->ntoks < 2 ? &stmt->end : &stmt->toks[1];
		diag_add(p->diags, 1, bad->file, bad->line, bad->col,
			 "expected a file name in double quotes after 'include', got %s",
			 tok_describe(bad, desc, sizeof(desc)));
		return NULL;
	}
	arg = &stmt->toks[1];
	if (stmt->ntoks > 2) {
		const struct tok *bad = &stmt->toks[2];
		diag_add(p->diags, 1, bad->file, bad->line, bad->col,
			 "expected ';' after the file name of 'include', got %s",
			 tok_describe(bad, desc, sizeof(desc)));
	}
	if (arg->len == 0 || memchr(arg->text, '\0', arg->len) != NULL) {
		diag_add(p->diags, 1, arg->file, arg->line, arg->col,
			 "expected a file name after 'include', got an empty or invalid name");
		return NULL;
	}
	path = resolve_include(kw->file, arg->text, arg->len);
	if (path[0] == '/' && access(path, F_OK) != 0 && errno == ENOENT) {
		/* PasTmon's files name their includes by absolute install paths
		 * (/usr/local/pastmon/etc/...): a copy next to the including file
		 * is read instead, with a warning. */
		const char *base = strrchr(path, '/') + 1;
		char *near = resolve_include(kw->file, base, strlen(base));
		if (base[0] != '\0' && strcmp(near, path) != 0 && access(near, F_OK) == 0) {
			diag_add(p->diags, 0, arg->file, arg->line, arg->col,
				 "'%s' does not exist; reading '%s' instead", path, near);
			free(path);
			path = near;
		} else {
			free(near);
		}
	}
	list = parse_file(p, path, arg);
	free(path);
	return list;
}

static struct node *
parse_list(struct parser *p, struct lexer *lx, int depth, const struct tok *open)
{
	struct node *head = NULL, **tail = &head;
	struct tok *toks = NULL;
	uint32_t ntoks = 0, cap = 0;
	struct tok t;
	char desc[96];

	for (;;) {
		struct node *n;

		ntoks = 0;
		lex_next(lx, &t);
		if (t.type == TK_SEMI)
			continue;       /* empty statement, or `};` */
		if (t.type == TK_EOF || t.type == TK_RBRACE)
			goto end_of_list;
		if (t.type == TK_LBRACE) {
			diag_add(p->diags, 1, t.file, t.line, t.col,
				 "expected a block name before '{'");
			skip_block(lx);
			continue;
		}
		while (t.type != TK_SEMI && t.type != TK_LBRACE && t.type != TK_RBRACE &&
		       t.type != TK_EOF) {
			if (ntoks == cap) {
				cap = cap ? cap * 2 : 8;
				toks = am_xrealloc(toks, cap * sizeof(*toks));
			}
			toks[ntoks++] = t;
			lex_next(lx, &t);
		}
		n = arena_alloc(p->arena, sizeof(*n));
		n->toks = arena_alloc(p->arena, ntoks * sizeof(*toks));
		memcpy(n->toks, toks, ntoks * sizeof(*toks));
		n->ntoks = ntoks;
		n->end = t;
		if (t.type == TK_LBRACE) {
			n->block = 1;
			if (depth + 1 >= MAX_BLOCK_DEPTH) {
				diag_add(p->diags, 1, t.file, t.line, t.col,
					 "blocks nested too deeply (more than %d levels)",
					 MAX_BLOCK_DEPTH);
				skip_block(lx);
			} else {
				n->child = parse_list(p, lx, depth + 1, &n->toks[0]);
			}
			*tail = n;
			tail = &n->next;
			continue;
		}
		if (t.type != TK_SEMI) {
			const struct tok *last = &toks[ntoks - 1];
			diag_add(p->diags, 1, t.file, t.line, t.col,
				 "expected ';' after %s, got %s",
				 tok_describe(last, desc, sizeof(desc)),
				 t.type == TK_EOF ? "the end of the file" : "'}'");
		}
		if (tok_is(&n->toks[0], "include")) {
			struct node *inc = do_include(p, n);
			while (inc != NULL) {
				*tail = inc;
				tail = &inc->next;
				inc = inc->next;
			}
		} else {
			*tail = n;
			tail = &n->next;
		}
		if (t.type == TK_SEMI)
			continue;
end_of_list:
		if (t.type == TK_EOF) {
			if (depth > 0)
				diag_add(p->diags, 1, t.file, t.line, t.col,
					 "expected '}' to close the block %s opened at line %u, "
					 "got the end of the file",
					 tok_describe(open, desc, sizeof(desc)), open->line);
			break;
		}
		/* '}' */
		if (depth > 0)
			break;
		diag_add(p->diags, 1, t.file, t.line, t.col,
			 "unexpected '}' with no block open");
	}
	free(toks);
	return head;
}

struct node *
parse_mem(struct parser *p, const char *name, const char *text, size_t len)
{
	struct lexer lx;
	const char *file;
	struct node *list;

	char canon[PATH_MAX];

	add_file(p, name);
	file = p->files[p->nfiles - 1];
	lex_init(&lx, file, text, len, p->arena, p->diags);
	/* a buffer read from a real file takes part in cycle detection */
	p->stack[p->depth++] = realpath(name, canon) != NULL ?
		arena_strdup(p->arena, canon) : file;
	list = parse_list(p, &lx, 0, NULL);
	p->depth--;
	return list;
}

struct node *
parse_file(struct parser *p, const char *path, const struct tok *from)
{
	char canon[PATH_MAX];
	char *buf;
	size_t len = 0;
	struct lexer lx;
	const char *file, *ckey;
	struct node *list;

	if (realpath(path, canon) == NULL || (buf = read_all(path, &len)) == NULL) {
		int e = errno;
		if (from != NULL)
			diag_add(p->diags, 1, from->file, from->line, from->col,
				 "cannot read included file '%s': %s", path,
				 e == EINVAL ? "not a regular file" : strerror(e));
		else
			diag_add(p->diags, 1, path, 0, 0, "cannot read: %s",
				 e == EINVAL ? "not a regular file" : strerror(e));
		return NULL;
	}
	for (uint32_t i = 0; i < p->depth; i++) {
		if (strcmp(p->stack[i], canon) == 0) {
			diag_add(p->diags, 1, from ? from->file : path, from ? from->line : 0,
				 from ? from->col : 0,
				 "include cycle: '%s' is already being read", path);
			free(buf);
			return NULL;
		}
	}
	if (p->depth >= MAX_INCLUDE_DEPTH) {
		diag_add(p->diags, 1, from ? from->file : path, from ? from->line : 0,
			 from ? from->col : 0,
			 "includes nested too deeply (more than %d files)", MAX_INCLUDE_DEPTH);
		free(buf);
		return NULL;
	}
	if (len > MAX_FILE_SIZE) {
		diag_add(p->diags, 1, path, 0, 0, "file too large");
		free(buf);
		return NULL;
	}
	add_file(p, path);
	file = p->files[p->nfiles - 1];
	ckey = arena_strdup(p->arena, canon);
	lex_init(&lx, file, buf, len, p->arena, p->diags);
	p->stack[p->depth++] = ckey;
	list = parse_list(p, &lx, 0, NULL);
	p->depth--;
	free(buf);
	return list;
}
