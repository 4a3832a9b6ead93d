#!/bin/sh
# Quick validation (make check): a few connections of each kind through two
# network namespaces, compared with the ground truth.  Needs root (exit 77,
# skipped, otherwise or when a tool is missing).  See doc/validation.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
VAL_TOP=${top_srcdir:-$(cd "$here/../.." && pwd)}
builddir=${top_builddir:-$VAL_TOP}
ARTMON=${ARTMON:-$builddir/cli/artmon}
[ -x "$builddir/tests/abt" ] && ABT=${ABT:-$builddir/tests/abt}
[ -x "$builddir/tests/dnsd" ] && DNSD=${DNSD:-$builddir/tests/dnsd}
[ -x "$builddir/tests/tools/sleepd" ] && SLEEPD=${SLEEPD:-$builddir/tests/tools/sleepd}
export ARTMON
VAL_LIB=$here/lib.sh
export VAL_LIB
. "$VAL_LIB"

missing=$(val_missing)
if [ -n "$missing" ]; then
	echo "quick validation skipped, missing:$missing"
	exit 77
fi
VAL_WORK=$(mktemp -d "${TMPDIR:-/tmp}/artmon-val.XXXXXX")
keep=${VAL_KEEP:-}
cleanup() {
	val_teardown
	if [ -z "$keep" ] && [ "$VAL_FAILS" = 0 ]; then rm -rf "$VAL_WORK"; else echo "kept: $VAL_WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
val_tools
val_setup || val_die "cannot set up the namespaces"

# Sizes up to 256k, think up to 300 ms, pauses between writes up to 20 ms.
ABT_OPTS="--exchanges 1-4 --req 1-64k --resp 1-256k --think 0-300ms --cthink 0-50ms --wsize 1k-64k --wpause 0-20ms"
# The scenarios CI guards with the full run's targets (sequential without
# loss; with 1% loss and 10 ms each way): 100 connections each, 10 at once
# (about 10 s each).
CI_CONNS=${VAL_CI_CONNS:-100}

run_abt() {
	name=$1 kind=$2 mode=$3 side=$4 delay=$5 loss=$6 n=$7 par=${8:-4}
	VAL_DIR=$VAL_WORK/$name
	mkdir -p "$VAL_DIR"
	echo "$name: $mode, capture on the $side side, delay ${delay} ms, loss $loss, $n connections, $par at once"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	if ! val_abt_run "$mode" "$side" "$delay" "$loss" "$n" "$par" --seed "${VAL_SEED:-1}" $ABT_OPTS; then
		echo "  FAIL  the run itself"
		VAL_FAILS=$((VAL_FAILS + 1))
		return
	fi
	sh "$here/compare-abt.sh" "$VAL_DIR" "$mode" || { VAL_FAILS=$((VAL_FAILS + 1)); return; }
	val_expect "$VAL_DIR/results" "$n connections ran" 'v["conns"] == '"$n"
	val_check_abt "$VAL_DIR/results" "$kind"
	echo "  ($(val_get "$VAL_DIR/results" conns) connections, $(val_get "$VAL_DIR/results" adus_expected) ADUs, $(($(date +%s) - t0)) s)"
}

run_abt seq seq seq server 0 0 "$CI_CONNS" 10
run_abt seq-client seq-cli seq client 0 0 8
run_abt conc conc conc server 0 0 8
if [ -n "$NFQDELAY" ] && command -v iptables >/dev/null 2>&1; then
	run_abt conc-delay conc-all conc server 5 0 8
	run_abt seq-loss seq-loss seq server 10 0.01 "$CI_CONNS" 10
else
	echo "no nfqdelay or iptables: delay and loss scenarios not run"
fi

VAL_DIR=$VAL_WORK/dns
mkdir -p "$VAL_DIR"
echo "dns: 150 queries, capture on the server side"
if val_dns_run server 0 0 150 3 d0.test d1.test d20.test d150.test nx5.test drop.test; then
	sh "$here/compare-dns.sh" "$VAL_DIR" && val_check_dns "$VAL_DIR/results"
else
	echo "  FAIL  the run itself"
	VAL_FAILS=$((VAL_FAILS + 1))
fi

VAL_DIR=$VAL_WORK/http
mkdir -p "$VAL_DIR"
echo "http: sleepd, 2 x 5 requests per delay (0 5 50 ms), capture on the server side"
if ! command -v curl >/dev/null 2>&1; then
	echo "  no curl: not run"
elif val_http_run server 0 0 2 5 0 5 50 && sh "$here/compare-http.sh" "$VAL_DIR"; then
	val_check_http "$VAL_DIR/results"
else
	echo "  FAIL  the run itself"
	VAL_FAILS=$((VAL_FAILS + 1))
fi

# Real servers with requested service times: 20 requests per delay,
# measured against the servers' own times and (Redis) the requested delays.
run_real() {
	kind=$1 label=$2 sig=$3 strict=${4:-}
	VAL_DIR=$VAL_WORK/$kind
	mkdir -p "$VAL_DIR"
	echo "$kind: $label, 20 requests per delay (0 1 5 20 50 ms), capture on the server side"
	m=$(val_real_missing "$kind")
	if [ -n "$m" ]; then
		echo "  not run, missing:$m"
	elif val_real_run "$kind" 20 0 1 5 20 50 && sh "$here/compare-real.sh" "$VAL_DIR" "$REAL_PORT" "$sig"; then
		val_check_real "$VAL_DIR/results" "$label" $strict
	else
		echo "  FAIL  the run itself"
		VAL_FAILS=$((VAL_FAILS + 1))
	fi
}
run_real pg "PostgreSQL pg_sleep" SELECT srv-only
run_real redis "Redis DEBUG SLEEP" DEBUG

VAL_DIR=$VAL_WORK/dns-then-tcp
mkdir -p "$VAL_DIR"
echo "dns-then-tcp: 3 unanswered queries, then 7 s of TCP only"
if val_mixed_run; then
	val_expect "$VAL_DIR/results" "DNS: queries unanswered for longer than the timeout are timeouts though only TCP followed" \
		'v["dns_queries"] == 3 && v["dns_timeout"] == 3 && v["dns_open"] == 0'
else
	echo "  FAIL  the run itself"
	VAL_FAILS=$((VAL_FAILS + 1))
fi

[ "$VAL_FAILS" = 0 ] || { echo "quick validation: $VAL_FAILS check(s) failed"; exit 1; }
echo "quick validation: all checks passed"
exit 0
