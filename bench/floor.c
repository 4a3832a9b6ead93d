/* The read floor: the least any libpcap-based monitor must do per packet.
 *
 * Reads each file with pcap_next_ex (as artmon does), finds the IP header
 * behind the link header (Ethernet with VLAN tags, Linux cooked v1/v2,
 * raw IP, null/loopback), reads the IPv4/IPv6 header and the TCP or UDP
 * ports and flags, and folds them into a checksum so that the compiler
 * cannot skip the work.  Nothing else: no flow state, no allocation.
 *
 *   floor FILE...     prints "packets N tcp N udp N other N sum HEX" on stdout
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t n_pkts, n_tcp, n_udp, n_other, sum;

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
l4(const uint8_t *p, uint32_t len, int proto)
{
	if (proto == 6 && len >= 20) {
		n_tcp++;
		sum += (uint64_t)be16(p) * 31 + be16(p + 2) + p[13] +
		    ((uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | p[7]) +
		    (uint32_t)((p[12] >> 4) * 4);
	} else if (proto == 17 && len >= 8) {
		n_udp++;
		sum += (uint64_t)be16(p) * 37 + be16(p + 2) + be16(p + 4);
	} else
		n_other++;
}

static void
ip(const uint8_t *p, uint32_t len)
{
	if (len < 1) {
		n_other++;
		return;
	}
	if ((p[0] >> 4) == 4 && len >= 20) {
		uint32_t hl = (uint32_t)(p[0] & 15) * 4;
		if (hl < 20 || hl > len || (be16(p + 6) & 0x3fff) != 0) {
			n_other++;
			return;
		}
		sum += be16(p + 12) ^ be16(p + 14) ^ be16(p + 16) ^ be16(p + 18);
		l4(p + hl, len - hl, p[9]);
	} else if ((p[0] >> 4) == 6 && len >= 40) {
		sum += be16(p + 8) ^ be16(p + 22) ^ be16(p + 24) ^ be16(p + 38);
		l4(p + 40, len - 40, p[6]);
	} else
		n_other++;
}

static void
frame(int dlt, const uint8_t *p, uint32_t len)
{
	n_pkts++;
	switch (dlt) {
	case DLT_EN10MB: {
		uint32_t off = 12;
		uint16_t et;
		if (len < 14)
			break;
		et = be16(p + off);
		while ((et == 0x8100 || et == 0x88a8) && off + 6 <= len) {
			off += 4;
			et = be16(p + off);
		}
		off += 2;
		if (et == 0x0800 || et == 0x86dd) {
			ip(p + off, len - off);
			return;
		}
		break;
	}
	case DLT_LINUX_SLL:
		if (len >= 16 && (be16(p + 14) == 0x0800 || be16(p + 14) == 0x86dd)) {
			ip(p + 16, len - 16);
			return;
		}
		break;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		if (len >= 20 && (be16(p) == 0x0800 || be16(p) == 0x86dd)) {
			ip(p + 20, len - 20);
			return;
		}
		break;
#endif
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		ip(p, len);
		return;
	case DLT_NULL:
	case DLT_LOOP:
		if (len >= 4) {
			ip(p + 4, len - 4);
			return;
		}
		break;
	}
	n_other++;
}

int
main(int argc, char **argv)
{
	char ebuf[PCAP_ERRBUF_SIZE];

	if (argc < 2) {
		fprintf(stderr, "usage: floor FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		pcap_t *pc = pcap_open_offline_with_tstamp_precision(argv[i], PCAP_TSTAMP_PRECISION_MICRO, ebuf);
		struct pcap_pkthdr *h;
		const uint8_t *data;
		int rc, dlt;

		if (pc == NULL) {
			fprintf(stderr, "floor: %s\n", ebuf);
			return 1;
		}
		dlt = pcap_datalink(pc);
		while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
			frame(dlt, data, h->caplen);
		if (rc == PCAP_ERROR) {
			fprintf(stderr, "floor: %s: %s\n", argv[i], pcap_geterr(pc));
			pcap_close(pc);
			return 1;
		}
		pcap_close(pc);
	}
	printf("packets %llu tcp %llu udp %llu other %llu sum %llx\n", (unsigned long long)n_pkts,
	    (unsigned long long)n_tcp, (unsigned long long)n_udp, (unsigned long long)n_other,
	    (unsigned long long)sum);
	return 0;
}
