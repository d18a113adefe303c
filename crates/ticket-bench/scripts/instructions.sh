#!/usr/bin/env bash
# Instructions per update under callgrind, every contestant, both providers, in one run:
# (count at N=HI − count at N=LO) / (HI − LO), which removes start-up. Deterministic up to a
# few instructions, however loaded the machine. Prints a Markdown table.
#   crates/ticket-bench/scripts/instructions.sh            # LO=500 HI=1500 (~2 min)
#   LO=20 HI=60 crates/ticket-bench/scripts/instructions.sh   # quick
# A second table: the facade with a rate budget that always has room (local, and shared through
# a redis-server the harness starts; redis-server must be installed), against the facade without.
#   TABLES=budget crates/ticket-bench/scripts/instructions.sh    # the second table only
set -euo pipefail
cd "$(dirname "$0")/../../.."
LO=${LO:-500} HI=${HI:-1500}
cargo bench -p ticket-bench --bench instructions --no-run 2>/dev/null
BIN=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
count() { # VARIANT PROVIDER BUILD N  (BUDGET from the environment, default none)
    VARIANT=$1 PROVIDER=$2 BUILD=$3 N=$4 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$BIN" 2>&1 | sed -n 's/.*Collected : //p'
}
per_update() { echo $(( ($(count "$@" "$HI") - $(count "$@" "$LO")) / (HI - LO) )); }
if [ "${TABLES:-all}" != budget ]; then
echo "| provider | raw floor | hand-written | provider, built once | provider, built per call | facade, built once | facade, built per call | facade per call ÷ floor | facade per call ÷ hand |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in engagelab feishu; do
    raw=$(per_update raw "$p" once); hand=$(per_update hand "$p" call)
    po=$(per_update provider "$p" once); pc=$(per_update provider "$p" call)
    fo=$(per_update facade "$p" once); fc=$(per_update facade "$p" call)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$p" "$raw" "$hand" "$po" "$pc" "$fo" "$fc" \
        "$(echo "scale=3; $fc/$raw" | bc)" "$(echo "scale=3; $fc/$hand" | bc)"
done
echo
fi
echo "| provider | facade, no budget | + local budget | + Redis budget | local ÷ none | Redis ÷ none |"
echo "|---|---:|---:|---:|---:|---:|"
for p in engagelab feishu; do
    none=$(BUDGET=none per_update facade "$p" call)
    loc=$(BUDGET=local per_update facade "$p" call)
    shr=$(BUDGET=redis per_update facade "$p" call)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$p" "$none" "$loc" "$shr" \
        "$(echo "scale=4; $loc/$none" | bc)" "$(echo "scale=4; $shr/$none" | bc)"
done
