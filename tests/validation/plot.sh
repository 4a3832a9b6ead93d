#!/bin/sh
# CDF plots of actual against measured for the scenarios of a validation run
# (gnuplot, PNG).
#
#   plot.sh WORKDIR OUTDIR SCENARIO:KIND...
#
# For every scenario whose data WORKDIR/SCENARIO holds, writes
# OUTDIR/SCENARIO.png and prints its file name:
#   abt (seq, seq-cli, seq-loss, conc, conc-all): ADU sizes (size-actual,
#       size-measured) and, for sequential ones, server think times
#       (think-actual, think-measured) and their error (err-think, the 1 ms
#       target dashed): three panels
#   dns*: the delay the name asked for against the measured response time
#       (err-dns-delay)
#   http, real: the server's own time against the measured first_us
#       (http-pairs, real-pairs); real also the requested delay
# Prints nothing (and exits 0) without gnuplot.
set -u
work=$1
outdir=$2
shift 2
command -v gnuplot >/dev/null 2>&1 || exit 0
mkdir -p "$outdir"

# cdf FILE COLUMN SCALE: "value fraction" for the numbers in COLUMN, divided
# by SCALE, sorted; at most about 2000 points (every k-th and the last).
cdf() {
	awk -v c="$2" -v s="$3" '$c != "-" && $c != "null" { print $c / s }' "$1" | sort -g |
	awk '{ v[NR] = $1 } END {
		k = int(NR / 2000) + 1
		for (i = 1; i <= NR; i++) if (i % k == 0 || i == NR) printf "%.6f %.6f\n", v[i], i / NR
	}'
}

# Common look: small PNG, two series.
head_png() {  # head_png FILE WIDTH
	cat <<G
set terminal png size $2,360 font ",9"
set output "$1"
set key bottom right
set grid
set ylabel "fraction"
set yrange [0:1]
G
}

for s in "$@"; do
	name=${s%%:*}
	kind=${s#*:}
	d=$work/$name
	[ -d "$d" ] || continue
	t=$d/plot
	mkdir -p "$t"
	png=$outdir/$name.png
	case $kind in
	seq*)
		[ -s "$d/size-actual" ] && [ -s "$d/think-actual" ] || continue
		cdf "$d/size-actual" 1 1024 >"$t/sa"
		cdf "$d/size-measured" 1 1024 >"$t/sm"
		cdf "$d/think-actual" 1 1000 >"$t/ta"
		cdf "$d/think-measured" 1 1000 >"$t/tm"
		# |error| in us, 0 drawn at 1 us (log scale)
		cdf "$d/err-think" 1 1 | awk '{ print ($1 < 1 ? 1 : $1), $2 }' >"$t/te"
		{
			head_png "$png" 1200
			cat <<G
set multiplot layout 1,3 title "$name: actual (logs) and measured (artmon)"
set title "ADU sizes"
set xlabel "KiB"
set logscale x
plot "$t/sa" using 1:2 with lines lw 3 title "actual", "$t/sm" using 1:2 with lines lw 1 title "measured"
unset logscale x
set title "server think time"
set xlabel "ms"
plot "$t/ta" using 1:2 with lines lw 3 title "actual (server)", "$t/tm" using 1:2 with lines lw 1 title "measured think"
set title "|measured - actual| server think"
set xlabel "us (log; 0 drawn at 1)"
set logscale x
set xrange [1:10000<*]
set arrow from 1000, graph 0 to 1000, graph 1 nohead dt 2
plot "$t/te" using 1:2 with lines lw 2 title "error"
unset multiplot
G
		} | gnuplot || continue
		;;
	conc*)
		[ -s "$d/size-actual" ] || continue
		cdf "$d/size-actual" 1 1024 >"$t/sa"
		cdf "$d/size-measured" 1 1024 >"$t/sm"
		{
			head_png "$png" 500
			cat <<G
set title "$name: ADU sizes, written (logs) and measured (artmon)"
set xlabel "KiB"
set logscale x
plot "$t/sa" using 1:2 with lines lw 3 title "written", "$t/sm" using 1:2 with lines lw 1 title "measured ADUs"
G
		} | gnuplot || continue
		;;
	dns*)
		[ -s "$d/err-dns-delay" ] || continue
		# requested ms, measured us; 0 ms drawn at 0.01 ms (log scale)
		cdf "$d/err-dns-delay" 1 1 | awk '{ print ($1 < 0.01 ? 0.01 : $1), $2 }' >"$t/ra"
		cdf "$d/err-dns-delay" 2 1000 | awk '{ print ($1 < 0.01 ? 0.01 : $1), $2 }' >"$t/rm"
		{
			head_png "$png" 500
			cat <<G
set title "$name: DNS response time, asked for and measured"
set xlabel "ms (log; 0 drawn at 0.01)"
set logscale x
plot "$t/ra" using 1:2 with steps lw 3 title "delay asked for", "$t/rm" using 1:2 with lines lw 1 title "measured first"
G
		} | gnuplot || continue
		;;
	http | real*)
		f=$d/http-pairs
		[ "$kind" = http ] || f=$d/real-pairs
		[ -s "$f" ] || continue
		if [ "$kind" = http ]; then sc=3 mc=2; else sc=4 mc=2; fi
		cdf "$f" 1 1 | awk '{ print ($1 < 0.01 ? 0.01 : $1), $2 }' >"$t/ra"
		cdf "$f" "$sc" 1000 | awk '{ print ($1 < 0.01 ? 0.01 : $1), $2 }' >"$t/rs"
		cdf "$f" "$mc" 1000 | awk '{ print ($1 < 0.01 ? 0.01 : $1), $2 }' >"$t/rm"
		{
			head_png "$png" 500
			cat <<G
set title "$name: service time asked for, the server's own, measured"
set xlabel "ms (log; 0 drawn at 0.01)"
set logscale x
plot "$t/ra" using 1:2 with steps lw 1 dt 2 title "asked for", "$t/rs" using 1:2 with lines lw 3 title "server's own", "$t/rm" using 1:2 with lines lw 1 title "measured first"
G
		} | gnuplot || continue
		;;
	*) continue ;;
	esac
	echo "$name.png"
done
exit 0
