/* libFuzzer target for the packet decoder (capture/decode.c).
 *
 * Input: one selector byte, then a frame.  The low 4 bits of the selector
 * (modulo 10) choose the link type (same table as tests/tools/pcapsplit.c);
 * the high 4 bits make the wire length longer than the captured length
 * (snaplen truncation).  The frame is copied into a buffer of exactly its
 * length so that AddressSanitizer sees any read past the captured bytes.
 * Besides "no crash, no undefined behaviour", the target checks what the
 * decoder promises: payload inside the frame, payload_len <= seg_len,
 * a known reason, a TCP or UDP packet of family 4 or 6 when it says OK. */
#include "config.h"
#include "capture/decode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[10] = { 1, 113, 276, 0, 108, 12, 101, 228, 229, 9 };

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct am_decode_stats st;
	struct am_packet pkt;
	enum am_dec r, r2;
	uint8_t *frame;
	uint32_t caplen, wirelen;
	int dlt;

	if (size < 1 || size > 262144)
		return 0;
	dlt = dlts[(data[0] & 0x0f) % 10];
	caplen = (uint32_t)(size - 1);
	wirelen = caplen + (uint32_t)(data[0] >> 4) * 97;
	frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, caplen);

	memset(&pkt, 0xa5, sizeof(pkt));
	r = am_decode(dlt, frame, caplen, wirelen, &pkt);
	CHECK((int)r >= 0 && r < AM_DEC__COUNT);
	CHECK(am_dec_name(r) != NULL);
	if (r == AM_DEC_OK) {
		CHECK(pkt.proto == AM_IPPROTO_TCP || pkt.proto == AM_IPPROTO_UDP);
		CHECK(pkt.src.family == AM_AF_INET || pkt.src.family == AM_AF_INET6);
		CHECK(pkt.dst.family == pkt.src.family);
		CHECK(pkt.payload_len <= pkt.seg_len);
		CHECK(pkt.cap_len == caplen && pkt.wire_len == wirelen);
		if (pkt.payload_len > 0) {
			CHECK(pkt.payload >= frame);
			CHECK(pkt.payload + pkt.payload_len <= frame + caplen);
			/* touch every payload byte: ASan reports any outside the frame */
			{
				volatile uint8_t x = 0;
				uint32_t i;

				for (i = 0; i < pkt.payload_len; i++)
					x ^= pkt.payload[i];
				(void)x;
			}
		}
	}
	/* the counting variant agrees and counts */
	r2 = am_decode_count(&st, dlt, frame, caplen, wirelen, &pkt);
	CHECK(r2 == r);
	CHECK(st.reason[r] > 0);
	CHECK(am_decode_malformed(&st) <= st.packets);
	free(frame);
	return 0;
}
