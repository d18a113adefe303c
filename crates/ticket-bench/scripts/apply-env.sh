# Sourced by the `helpdesk apply` benchmarks (crates/ticket-bench/scripts/apply.sh,
# crates/ticket-cli/scripts/apply-cpu.sh): the one set-up both compare under.
#   in:  ROOT (the workspace), N (updates), PORT (the sandbox's)
#   out: HELPDESK, LOOP (the release binaries), WORK (a temporary directory, removed at exit),
#        a `ticket-sandbox` process (Feishu, t0…t999 seeded, request log off) on PORT, killed at
#        exit, the TICKET_* variables that point `helpdesk` at it, and "$WORK/updates.jsonl":
#        N lines, those of ticket_bench::apply_loop::line (the updates the loop sends).
cd "$ROOT"
cargo build --release -q -p helpdesk-ticket-cli -p helpdesk-ticket-sandbox
LOOP=$(cargo bench -q -p ticket-bench --bench apply_loop --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
# Where cargo put them: CARGO_TARGET_DIR when set (a clean build elsewhere), else target/.
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HELPDESK=$TARGET/release/helpdesk
WORK=$(mktemp -d)
SEEDS=()
for i in $(seq 0 999); do SEEDS+=(--seed-feishu "t$i"); done
"$TARGET/release/ticket-sandbox" --port "$PORT" --request-log-max-bytes 0 "${SEEDS[@]}" \
    >"$WORK/banner" 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do grep -q listening "$WORK/banner" 2>/dev/null && break; sleep 0.1; done
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$WORK/banner"; }
export TICKET_PROVIDER=feishu TICKET_FEISHU_BASE_URL="http://127.0.0.1:$PORT"
TICKET_FEISHU_HELPDESK_ID=$(field helpdesk_id)
TICKET_FEISHU_HELPDESK_TOKEN=$(field helpdesk_token)
TICKET_FEISHU_USER_ACCESS_TOKEN=$(field user_access_token)
export TICKET_FEISHU_HELPDESK_ID TICKET_FEISHU_HELPDESK_TOKEN TICKET_FEISHU_USER_ACCESS_TOKEN
for i in $(seq 0 $((N - 1))); do
    echo "{\"ticket_id\":\"t$((i % 1000))\",\"status\":\"in_progress\",\"tags\":[\"bulk\"]}"
done >"$WORK/updates.jsonl"
