/* Internal to store/: varint and fixed-width byte helpers for the LMDB
 * encodings.  Writers count what they would write past the end of the
 * buffer, so a call with a NULL buffer sizes the output. */
#ifndef AM_STORE_CODEC_H
#define AM_STORE_CODEC_H

#include <stdint.h>
#include <stddef.h>

struct am_hist;
/* An upper bound of am_hist_encode's output. */
size_t am_hist_encode_bound(const struct am_hist *h);
/* Decodes a histogram at the start of buf; *used gets its length. */
int am_hist_decode_part(struct am_hist *h, const uint8_t *buf, size_t len, size_t *used);

struct am_wbuf {
	uint8_t *p;
	size_t len, pos;
};

struct am_rbuf {
	const uint8_t *p;
	size_t len, pos;
};

static inline void
am_put_byte(struct am_wbuf *w, uint8_t b)
{
	if (w->p && w->pos < w->len)
		w->p[w->pos] = b;
	w->pos++;
}

static inline void
am_put_varint(struct am_wbuf *w, uint64_t v)
{
	while (v >= 0x80) {
		am_put_byte(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	am_put_byte(w, (uint8_t)v);
}

/* Rejects truncation, more than 64 bits and encodings that are not the
 * shortest, so that every value has exactly one byte form. */
static inline int
am_get_varint(struct am_rbuf *r, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;
		if (r->pos >= r->len)
			return -1;
		b = r->p[r->pos++];
		if (shift == 63 && (b & 0x7e))
			return -1;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (b == 0 && shift > 0)
				return -1;
			break;
		}
		shift += 7;
		if (shift > 63)
			return -1;
	}
	*out = v;
	return 0;
}

static inline void
am_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
am_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void
am_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
am_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
