#!/usr/bin/env bash
# Adoption cost: three minimal downstream binaries, each its own package outside the workspace
# (so no feature unification), with the workspace's Cargo.lock (same versions):
#   facade   helpdesk, default features: one update from the environment
#   one      helpdesk, only the `engagelab` and `rustls` features (TLS is a
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
    let config = helpdesk::Config::from_env();
    let id = helpdesk::TicketId::new(std::env::args().nth(1).unwrap_or_default());
    rt.block_on(async {
        match (helpdesk::connect(&config), id) {
            (Ok(client), Ok(id)) => {
                let update = helpdesk::TicketUpdate::builder().title("Printer jammed").build().unwrap();
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
make facade "helpdesk = { path = \"$ROOT/crates/ticket-facade\", package = \"helpdesk\" }
$TOKIO" "$FACADE_MAIN"
make one "helpdesk = { path = \"$ROOT/crates/ticket-facade\", package = \"helpdesk\", default-features = false, features = [\"engagelab\", \"rustls\"] }
$TOKIO" "$FACADE_MAIN"
make plain "reqwest = { version = \"0.13\", default-features = false, features = [\"rustls\", \"json\"] }
serde = { version = \"1\", features = [\"derive\"] }
serde_json = \"1\"
$TOKIO" "$PLAIN_MAIN"
# BUILD_TIME=1: REPEAT clean builds of each binary (default 1), interleaved (facade, one, plain,
# facade, ...) so a change in the machine's load hits all three alike. Wall time needs an idle
# machine; the CPU time (user + sys of cargo and every rustc it runs) barely moves with other
# load, so it is the figure to compare on a shared machine.
REPEAT=${REPEAT:-1}
declare -A CRATES SIZE WALL CPU
for b in facade one plain; do
    cd "$OUT/$b"
    CRATES[$b]=$(cargo tree -q -e normal,build --prefix none --no-dedupe | sed 's/ (.*//; s/ (\*)$//' | sort -u | wc -l)
    if [ "${BUILD_TIME:-0}" != 1 ]; then
        CARGO_TARGET_DIR="$OUT/target" cargo build -q --release
        SIZE[$b]=$(stat -c %s "$OUT/target/release/adopt-$b")
    fi
done
if [ "${BUILD_TIME:-0}" = 1 ]; then
    for r in $(seq "$REPEAT"); do
        for b in facade one plain; do
            cd "$OUT/$b"
            rm -rf "$OUT/target-$b"
            load=$(cut -d' ' -f1 /proc/loadavg)
            CARGO_TARGET_DIR="$OUT/target-$b" /usr/bin/time -f '%e %U %S' -o "$OUT/time-$b" cargo build -q --release
            read -r wall user sys < "$OUT/time-$b"
            cpu=$(echo "$user + $sys" | bc)
            echo "run $r: $b wall ${wall}s cpu ${cpu}s (load average before: $load)" >&2
            WALL[$b]="${WALL[$b]:+${WALL[$b]} · }$wall"
            CPU[$b]="${CPU[$b]:+${CPU[$b]} · }$cpu"
            SIZE[$b]=$(stat -c %s "$OUT/target-$b/release/adopt-$b")
        done
    done
fi
echo "| binary | crates compiled | stripped size (bytes) | clean release build, wall (s) | clean release build, CPU user+sys (s) |"
echo "|---|---:|---:|---:|---:|"
for b in facade one plain; do
    printf '| %s | %s | %s | %s | %s |\n' "$b" "${CRATES[$b]}" "${SIZE[$b]}" "${WALL[$b]:-not measured}" "${CPU[$b]:-not measured}"
done
