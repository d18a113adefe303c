#!/usr/bin/env bash
# What `helpdesk apply` costs the machine, beside the library's own loop: context switches and
# CPU time (`perf stat`) of whole processes against one `ticket-sandbox` process on loopback.
#   send       `helpdesk apply` of N valid lines (check pass, then N updates)
#   check      the same N lines plus one invalid line at the end: the check pass alone (the
#              command stops with exit 2 before sending anything)
#   loop       the library loop in a process of its own (crates/ticket-bench/benches/apply_loop.rs:
#              8 tasks, the update built per call), the same N updates
#   send2, check2  the same with another build of `helpdesk` (OTHER=/path/to/helpdesk)
# Runs are interleaved, ROUNDS of each; each line is one run. A median per kind ends it.
#   crates/ticket-cli/scripts/apply-cpu.sh                  # N=30000 ROUNDS=5
#   OTHER=/path/to/older/helpdesk crates/ticket-cli/scripts/apply-cpu.sh      # against another build
# Needs `perf` (linux-perf). Wall time here is as noisy as the machine; read the counts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
N=${N:-30000}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18099}
OTHER=${OTHER:-}
KINDS="send check loop${OTHER:+ send2 check2}"
. "$ROOT/crates/ticket-bench/scripts/apply-env.sh"
mv "$WORK/updates.jsonl" "$WORK/send.jsonl"
cp "$WORK/send.jsonl" "$WORK/check.jsonl"
echo '{"ticket_id":"t1","titel":"a typo: the line that stops the run"}' >>"$WORK/check.jsonl"
stat() { perf stat -x, -e context-switches,task-clock "$@" 2>&1 >/dev/null |
    awk -F, '/context-switches/ { cs = $1 } /task-clock/ { cpu = $1 } END { printf "%9d context switches %8.0f ms CPU", cs, cpu }'; }
for round in $(seq "$ROUNDS"); do
    for what in $KINDS; do
        start=$(date +%s%N)
        case $what in
        send) out=$(stat "$HELPDESK" apply "$WORK/send.jsonl" --output json) ;;
        check) out=$(stat "$HELPDESK" apply "$WORK/check.jsonl" --output json || true) ;;
        send2) out=$(stat "$OTHER" apply "$WORK/send.jsonl" --output json) ;;
        check2) out=$(stat "$OTHER" apply "$WORK/check.jsonl" --output json || true) ;;
        loop) out=$(stat "$LOOP" --base-url "$TICKET_FEISHU_BASE_URL" --updates "$N") ;;
        esac
        printf 'round %d  %-6s %s %6d ms wall\n' "$round" "$what" "$out" \
            "$((($(date +%s%N) - start) / 1000000))"
    done
done | tee "$WORK/runs"
echo
for what in $KINDS; do
    awk -v w="$what" 'BEGIN { n = 0 } $3 == w { cs[n] = $4; cpu[n] = $7; wall[n] = $10; n++ }
        function med(a, n,   i, j, t) {
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2 }
        END { printf "median %-6s %9d context switches %8.0f ms CPU %6.0f ms wall (%d runs)\n", w, med(cs, n), med(cpu, n), med(wall, n), n }' "$WORK/runs"
done
