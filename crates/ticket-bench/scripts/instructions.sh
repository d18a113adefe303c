#!/usr/bin/env bash
# Instructions per update under callgrind, every contestant, both providers, in one run:
# (count at N=HI − count at N=LO) / (HI − LO), which removes start-up, for each LO:HI pair of
# PAIRS. One binary counts the same instructions every time (±5); what moves between pairs is
# the heap's state, which follows every allocation of the process (see BENCHMARKS.md §5), so
# every figure is the median of the pairs with their min–max, and every ratio is taken pair by
# pair. Prints a Markdown table.
#   crates/ticket-bench/scripts/instructions.sh                  # PAIRS="300:900 500:1500 700:2100" (~6 min)
#   PAIRS="20:60" crates/ticket-bench/scripts/instructions.sh    # quick
# Contestants (all send the same bytes, tests/same_request.rs): floor (the library's prepared
# request sent the cheapest way, FLOOR_HEADERS=move) and, for the record, the floor's other
# ways (calls: a .header() call per header; clone: .headers(map.clone())), hand-written
# reqwest + serde, the provider client and the facade (update built once or per call).
# A second table: the facade with a rate budget that always has room (local, and shared through
# a redis-server the harness starts; redis-server must be installed), against the facade without.
#   TABLES=budget crates/ticket-bench/scripts/instructions.sh    # the second table only
set -euo pipefail
cd "$(dirname "$0")/../../.."
PAIRS=${PAIRS:-"300:900 500:1500 700:2100"}
# This tree's binary, as cargo names it (not the newest file: another checkout may share target/).
BIN=$(cargo bench -q -p ticket-bench --bench instructions --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
count() { # VARIANT PROVIDER BUILD FLOOR_HEADERS N
    VARIANT=$1 PROVIDER=$2 BUILD=$3 FLOOR_HEADERS=$4 N=$5 valgrind --tool=callgrind \
        --callgrind-out-file=/dev/null "$BIN" 2>&1 | sed -n 's/.*Collected : //p'
}
# One figure per pair, space-separated.
per_update() {
    local out=() pair lo hi
    for pair in $PAIRS; do
        lo=${pair%:*} hi=${pair#*:}
        out+=($((($(count "$@" "$hi") - $(count "$@" "$lo")) / (hi - lo))))
    done
    echo "${out[*]}"
}
# median (min–max) of a list; with two lists A B, of A[i] / B[i].
# Counts are printed whole, ratios to three places.
summary() { echo "$1" | tr ' ' '\n' | sort -g | awk '{ v[NR] = $1; whole = whole && $1 == int($1) }
    BEGIN { whole = 1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    if (whole) printf "%d (%d–%d)", m + 0.5, v[1], v[NR]; else printf "%.3f (%.3f–%.3f)", m, v[1], v[NR] }'; }
ratio() { paste -d' ' <(echo "$1" | tr ' ' '\n') <(echo "$2" | tr ' ' '\n') |
    awk '{ printf "%s%.4f", (NR > 1 ? " " : ""), $1 / $2 }'; }
echo "pairs (LO:HI): $PAIRS; each cell: median (min–max) over the pairs"
echo
if [ "${TABLES:-all}" != budget ]; then
echo "| provider | floor | floor, .header() calls | floor, .headers(clone) | hand-written | provider, built once | provider, built per call | facade, built once | facade, built per call | facade per call ÷ floor | facade per call ÷ hand |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in engagelab feishu; do
    raw=$(per_update raw "$p" once move); calls=$(per_update raw "$p" once calls)
    clone=$(per_update raw "$p" once clone); hand=$(per_update hand "$p" call move)
    po=$(per_update provider "$p" once move); pc=$(per_update provider "$p" call move)
    fo=$(per_update facade "$p" once move); fc=$(per_update facade "$p" call move)
    echo "| $p | $(summary "$raw") | $(summary "$calls") | $(summary "$clone") | $(summary "$hand") | $(summary "$po") | $(summary "$pc") | $(summary "$fo") | $(summary "$fc") | $(summary "$(ratio "$fc" "$raw")") | $(summary "$(ratio "$fc" "$hand")") |"
done
echo
fi
echo "| provider | facade, no budget | + local budget | + Redis budget | local ÷ none | Redis ÷ none |"
echo "|---|---:|---:|---:|---:|---:|"
for p in engagelab feishu; do
    none=$(BUDGET=none per_update facade "$p" call move)
    loc=$(BUDGET=local per_update facade "$p" call move)
    shr=$(BUDGET=redis per_update facade "$p" call move)
    echo "| $p | $(summary "$none") | $(summary "$loc") | $(summary "$shr") | $(summary "$(ratio "$loc" "$none")") | $(summary "$(ratio "$shr" "$none")") |"
done
