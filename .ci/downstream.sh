#!/usr/bin/env bash
# A fresh crate outside the workspace adds `helpdesk` (by path) as the README says, with one
# backend and rustls, compiles the README's "One backend" example, and runs it against the
# sandbox; built again without a TLS feature, the same program must be refused an https:// URL
# with the Configuration error that names the features. Run by .ci/run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
sandbox_pid=
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# Shares the workspace's target directory, so dependencies built for the tests are reused.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

cargo build -q --manifest-path "$root/Cargo.toml" -p helpdesk-ticket-sandbox --bin ticket-sandbox
"$CARGO_TARGET_DIR/debug/ticket-sandbox" --seed-feishu 6945345902185807891 >"$work/sandbox.out" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 600); do
    grep -q '^ticket-sandbox listening on ' "$work/sandbox.out" && break
    sleep 0.1
done
base=$(sed -n 's/^ticket-sandbox listening on //p' "$work/sandbox.out")
[ -n "$base" ] || { echo "downstream: the sandbox did not start"; cat "$work/sandbox.out"; exit 1; }

cargo new -q --vcs none --bin "$work/app"
cd "$work/app"
cp "$root/Cargo.lock" .   # the versions the workspace is tested with
cargo add -q helpdesk --path "$root/crates/ticket-facade" --no-default-features --features feishu,rustls
cargo add -q tokio --features rt-multi-thread,macros
# The README's "One backend" example, verbatim.
awk '/^### One backend/{f=1} f&&/^```rust/{c=1; next} c&&/^```/{exit} c{print}' "$root/README.md" >src/main.rs
grep -q 'use helpdesk::' src/main.rs || { echo "downstream: README example not found"; exit 1; }

export TICKET_PROVIDER=feishu TICKET_FEISHU_HELPDESK_ID=sandbox-helpdesk-id \
    TICKET_FEISHU_HELPDESK_TOKEN=sandbox-helpdesk-token \
    TICKET_FEISHU_USER_ACCESS_TOKEN=u-sandbox-feishu-user-token
out=$(TICKET_FEISHU_BASE_URL="$base" cargo run -q)
echo "downstream (feishu, rustls): $out"
[ "$out" = "updated 6945345902185807891 on feishu" ] || { echo "downstream: unexpected output"; exit 1; }

cargo remove -q helpdesk
cargo add -q helpdesk --path "$root/crates/ticket-facade" --no-default-features --features feishu
if err=$(TICKET_FEISHU_BASE_URL=https://open.feishu.cn cargo run -q 2>&1); then
    echo "downstream: without TLS an https:// URL was accepted"; exit 1
fi
echo "downstream (feishu, no TLS): $err"
case "$err" in
    *Configuration*rustls*) ;;
    *) echo "downstream: expected the Configuration error naming rustls"; exit 1 ;;
esac
echo "downstream: ok"
