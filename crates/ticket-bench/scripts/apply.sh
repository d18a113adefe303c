#!/usr/bin/env bash
# `helpdesk apply` against the library's own loop, both as processes of their own, against one
# `ticket-sandbox` process (Feishu, t0…t999 seeded, request log off), the same N updates:
#   helpdesk   target/release/helpdesk apply FILE --concurrency 8 --output json (N lines)
#   loop       benches/apply_loop.rs: 8 tasks, one facade client, the update built per call
# Per round, interleaved: instructions of each whole process under callgrind (the sandbox is
# not counted), then the wall time of each whole process (start to exit, no callgrind).
# Every round is kept: no round is dropped for host steal or anything else.
# Prints one line per round and, per figure, median (min–max) and the ratio loop ÷ helpdesk
# (≥ 0.9 is the goal: helpdesk does at least 0.9 of the loop's work per instruction / second).
#   crates/ticket-bench/scripts/apply.sh                 # N=10000 ROUNDS=5
#   N=200 ROUNDS=1 crates/ticket-bench/scripts/apply.sh  # quick
# With PER_UPDATE=LO:HI (N is then HI), instead: each process's instructions per update, free of
# start-up and the check pass's fixed costs, (count with HI lines − count with LO) / (HI − LO):
#   PER_UPDATE=1000:3000 crates/ticket-bench/scripts/apply.sh   # ~2 minutes
# Needs valgrind.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
N=${N:-10000}
if [ -n "${PER_UPDATE:-}" ]; then N=${PER_UPDATE#*:}; fi
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18098}
. "$ROOT/crates/ticket-bench/scripts/apply-env.sh"
BASE=$TICKET_FEISHU_BASE_URL
run() { # helpdesk | loop
    case $1 in
    helpdesk) "$HELPDESK" apply "$WORK/updates.jsonl" --concurrency 8 --output json >"$WORK/out" ;;
    loop) "$LOOP" --base-url "$BASE" --updates "$N" >"$WORK/out" ;;
    esac
}
check() { # what ran must have sent every update
    case $1 in
    helpdesk) grep -q "\"applied\": *$N" "$WORK/out" && grep -q '"failed": *0' "$WORK/out" ;;
    loop) grep -q ' 0$' "$WORK/out" ;;
    esac || { echo "$1 did not apply all $N updates:" >&2; cat "$WORK/out" >&2; exit 1; }
}
instructions() { # helpdesk | loop [LINES]: LINES (default N) of the input, or updates
    local cmd n=${2:-$N}
    head -n "$n" "$WORK/updates.jsonl" >"$WORK/input.jsonl"
    case $1 in
    helpdesk) cmd=("$HELPDESK" apply "$WORK/input.jsonl" --concurrency 8 --output json) ;;
    loop) cmd=("$LOOP" --base-url "$BASE" --updates "$n") ;;
    esac
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "${cmd[@]}" 2>"$WORK/cg" >"$WORK/out"
    N=$n check "$1"
    sed -n 's/.*Collected : //p' "$WORK/cg"
}
wall_ms() { local t0; t0=$(date +%s%N); run "$1"; check "$1"; echo $((($(date +%s%N) - t0) / 1000000)); }
run helpdesk; run loop # warm-up: the sandbox's tickets and page cache, not counted
if [ -n "${PER_UPDATE:-}" ]; then
    lo=${PER_UPDATE%:*} hi=${PER_UPDATE#*:}
    h=$((($(instructions helpdesk "$hi") - $(instructions helpdesk "$lo")) / (hi - lo)))
    l=$((($(instructions loop "$hi") - $(instructions loop "$lo")) / (hi - lo)))
    echo "instructions per update ($hi − $lo lines): helpdesk apply $h, library loop $l," \
        "loop ÷ helpdesk $(awk -v l="$l" -v h="$h" 'BEGIN { printf "%.3f", l / h }')"
    exit 0
fi
echo "N=$N updates, concurrency 8, $ROUNDS rounds, every round kept"
for r in $(seq "$ROUNDS"); do
    hi=$(instructions helpdesk); li=$(instructions loop)
    hw=$(wall_ms helpdesk); lw=$(wall_ms loop)
    echo "round $r  helpdesk $hi instr $hw ms  loop $li instr $lw ms" | tee -a "$WORK/rounds"
done
awk '{ hi[NR] = $4; hw[NR] = $6; li[NR] = $9; lw[NR] = $11; ri[NR] = $9 / $4; rw[NR] = $11 / $6 }
    function sort(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } }
    function med(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function line(name, a, n, fmt) { sort(a, n); printf "%-40s median " fmt " (min " fmt ", max ", name, med(a, n), a[1]; printf fmt ")\n", a[n] }
    END { n = NR
        line("helpdesk apply, instructions", hi, n, "%d"); line("library loop, instructions", li, n, "%d")
        line("loop ÷ helpdesk, instructions", ri, n, "%.3f")
        line("helpdesk apply, wall ms", hw, n, "%d"); line("library loop, wall ms", lw, n, "%d")
        line("loop ÷ helpdesk, wall", rw, n, "%.3f") }' "$WORK/rounds"
