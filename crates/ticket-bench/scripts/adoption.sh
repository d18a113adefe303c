#!/usr/bin/env bash
# Adoption cost: three minimal downstream binaries, each its own package outside the workspace
# (so no feature unification), with the workspace's Cargo.lock (same versions):
#   facade   helpdesk-ticket-facade, default features: one update from the environment
#   one      helpdesk-ticket-facade, only the `engagelab` and `rustls` features (TLS is a
#            feature of its own: without `rustls` the binary could not speak https)
#   plain    reqwest (the workspace's version and TLS choice: 0.13, `rustls` = aws-lc-rs and
#            the platform's roots) + serde + serde_json + tokio: the same PUT by hand
# Prints, per binary: crates compiled (distinct packages in the normal + build graph, from
# `cargo tree`, deterministic), the stripped release binary size, and the clean release build
# time (`BUILD_TIME=1`: each in its own fresh target dir; only meaningful on an idle machine).
#   crates/ticket-bench/scripts/adoption.sh              # counts + sizes (shared target dir)
#   BUILD_TIME=1 crates/ticket-bench/scripts/adoption.sh # + clean build times
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=${OUT:-$ROOT/target/adoption}
mkdir -p "$OUT"
FACADE_MAIN='fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = ticket_facade::Config::from_env();
    let id = ticket_facade::TicketId::new(std::env::args().nth(1).unwrap_or_default());
    rt.block_on(async {
        match (ticket_facade::connect(&config), id) {
            (Ok(client), Ok(id)) => {
                let update = ticket_facade::TicketUpdate::builder().title("Printer jammed").build().unwrap();
                println!("{}", client.update(&id, &update).await.is_ok());
            }
            (client, id) => println!("{:?} {:?}", client.err(), id.err()),
        }
    });
}'
PLAIN_MAIN='#[derive(serde::Serialize)]
struct Body<'"'"'a> { title: &'"'"'a str }
#[derive(serde::Deserialize)]
struct Answer { code: i64 }
fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let base = std::env::var("ENGAGELAB_BASE_URL").unwrap_or_default();
    let id = std::env::args().nth(1).unwrap_or_default();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let answer = client
            .put(format!("{base}/api/v2/accounts/tickets/{id}"))
            .basic_auth("key", Some("secret"))
            .json(&Body { title: "Printer jammed" })
            .send()
            .await;
        match answer {
            Ok(r) => println!("{:?}", r.json::<Answer>().await.map(|a| a.code)),
            Err(e) => println!("{e}"),
        }
    });
}'
make() { # NAME DEPS MAIN
    mkdir -p "$OUT/$1/src"
    printf '[package]\nname = "adopt-%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[dependencies]\n%s\n\n[profile.release]\nstrip = true\n\n[workspace]\n' "$1" "$2" > "$OUT/$1/Cargo.toml"
    printf '%s\n' "$3" > "$OUT/$1/src/main.rs"
    cp "$ROOT/Cargo.lock" "$OUT/$1/Cargo.lock"
}
TOKIO='tokio = { version = "1", default-features = false, features = ["rt"] }'
make facade "ticket-facade = { path = \"$ROOT/crates/ticket-facade\", package = \"helpdesk-ticket-facade\" }
$TOKIO" "$FACADE_MAIN"
make one "ticket-facade = { path = \"$ROOT/crates/ticket-facade\", package = \"helpdesk-ticket-facade\", default-features = false, features = [\"engagelab\", \"rustls\"] }
$TOKIO" "$FACADE_MAIN"
make plain "reqwest = { version = \"0.13\", default-features = false, features = [\"rustls\", \"json\"] }
serde = { version = \"1\", features = [\"derive\"] }
serde_json = \"1\"
$TOKIO" "$PLAIN_MAIN"
echo "| binary | crates compiled | stripped size (bytes) | clean release build (s) |"
echo "|---|---:|---:|---:|"
for b in facade one plain; do
    cd "$OUT/$b"
    crates=$(cargo tree -q -e normal,build --prefix none --no-dedupe | sed 's/ (.*//; s/ (\*)$//' | sort -u | wc -l)
    if [ "${BUILD_TIME:-0}" = 1 ]; then
        rm -rf "$OUT/target-$b"
        start=$(date +%s.%N)
        CARGO_TARGET_DIR="$OUT/target-$b" cargo build -q --release
        secs=$(echo "$(date +%s.%N) - $start" | bc)
        bin="$OUT/target-$b/release/adopt-$b"
    else
        CARGO_TARGET_DIR="$OUT/target" cargo build -q --release
        secs="not measured"
        bin="$OUT/target/release/adopt-$b"
    fi
    printf '| %s | %s | %s | %s |\n' "$b" "$crates" "$(stat -c %s "$bin")" "$secs"
done
