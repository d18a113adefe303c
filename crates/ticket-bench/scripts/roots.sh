#!/usr/bin/env bash
# What root certificates cost one `helpdesk update` process: instructions under callgrind, for
# each git revision given, each built from clean (its own checkout and target dir), in one run.
#   crates/ticket-bench/scripts/roots.sh                  # main against the work tree's HEAD
#   crates/ticket-bench/scripts/roots.sh REV1 REV2 ...    # any revisions
# Per revision, four updates of one EngageLab ticket (each a whole process, start to exit):
#   http         http://127.0.0.1 (ticket-sandbox): no TLS is used at all
#   https        https://127.0.0.1 (socat terminating TLS in front of the sandbox), the test CA
#                trusted through `ca_file`, the system's roots where OpenSSL usually keeps them
#                (SSL_CERT_FILE and SSL_CERT_DIR unset)
#   https-env    the same with SSL_CERT_FILE and SSL_CERT_DIR naming the system's bundle and
#                directory (as this machine's environment does)
#   https-1root  the same with SSL_CERT_FILE = the test CA alone and SSL_CERT_DIR an empty
#                directory: the system's roots are that one certificate
# "root cost" = https − https-1root: what reading and parsing the system's roots costs.
# Needs valgrind, openssl and socat (apt-get install valgrind openssl socat). Takes one clean
# release build of `helpdesk` per revision (~4 min each on 2 cores) and ~2 GB of disk in $WORK.
set -euo pipefail
cd "$(dirname "$0")/../../.."
REPO=$PWD
REVS=("$@")
[ ${#REVS[@]} -gt 0 ] || REVS=(main HEAD)
WORK=${WORK:-$(mktemp -d /tmp/roots-bench.XXXXXX)}
PORT=${PORT:-18480} TLS_PORT=${TLS_PORT:-18443}
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# A test CA and a server certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=roots-bench-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
    >"$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
    -CAcreateserial -days 2 -extfile "$WORK/server.ext" -out "$WORK/server.pem" 2>/dev/null
cat "$WORK/server.pem" "$WORK/server.key" >"$WORK/server-with-key.pem"
mkdir -p "$WORK/empty-dir"

# The sandbox (from this work tree) and a TLS front for it.
cargo build -q -p helpdesk-ticket-sandbox --bin ticket-sandbox
target/debug/ticket-sandbox --port "$PORT" --seed-engagelab tk_20251104_789abc >"$WORK/sandbox.log" 2>&1 &
PIDS+=($!)
socat "OPENSSL-LISTEN:$TLS_PORT,bind=127.0.0.1,reuseaddr,fork,cert=$WORK/server-with-key.pem,verify=0" \
    "TCP:127.0.0.1:$PORT" 2>"$WORK/socat.log" &
PIDS+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break
    sleep 0.1
done

# The system's bundle and directory (Debian's; set SYSTEM_FILE / SYSTEM_DIR elsewhere).
SYSTEM_FILE=${SYSTEM_FILE:-/etc/ssl/certs/ca-certificates.crt} SYSTEM_DIR=${SYSTEM_DIR:-/etc/ssl/certs}
export TICKET_PROVIDER=engagelab TICKET_ENGAGELAB_API_KEY=sandbox-engagelab-key \
    TICKET_ENGAGELAB_API_SECRET=sandbox-engagelab-secret
count() { # BIN BASE_URL [env arguments: -u VAR first, then VAR=value]: instructions of one process
    local bin=$1 url=$2
    shift 2
    env "$@" TICKET_ENGAGELAB_BASE_URL="$url" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$bin" update tk_20251104_789abc --title 'Printer jammed (updated)' \
        --description 'A4 paper is stuck in the output tray.' --priority high 2>"$WORK/callgrind.err" >/dev/null ||
        { echo "helpdesk failed against $url:" >&2; cat "$WORK/callgrind.err" >&2; exit 1; }
    sed -n 's/.*Collected : //p' "$WORK/callgrind.err"
}

echo "| revision | http | https | https-env | https-1root | root cost (https − https-1root) | root cost (https-env − https-1root) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for i in "${!REVS[@]}"; do
    rev=${REVS[$i]}
    commit=$(git -C "$REPO" rev-parse --short "$rev")
    src="$WORK/src-$i"
    mkdir -p "$src"
    git -C "$REPO" archive "$commit" | tar -x -C "$src"
    # A clean build: a fresh checkout and target dir per revision.
    (cd "$src" && CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$WORK/target-$i" \
        cargo build -q --release -p helpdesk-ticket-cli --bin helpdesk)
    bin="$WORK/target-$i/release/helpdesk"
    tls="https://127.0.0.1:$TLS_PORT" ca=TICKET_ENGAGELAB_CA_FILE="$WORK/ca.pem"
    http=$(count "$bin" "http://127.0.0.1:$PORT" -u SSL_CERT_FILE -u SSL_CERT_DIR)
    https=$(count "$bin" "$tls" -u SSL_CERT_FILE -u SSL_CERT_DIR "$ca")
    env_roots=$(count "$bin" "$tls" "$ca" SSL_CERT_FILE="$SYSTEM_FILE" SSL_CERT_DIR="$SYSTEM_DIR")
    one=$(count "$bin" "$tls" "$ca" SSL_CERT_FILE="$WORK/ca.pem" SSL_CERT_DIR="$WORK/empty-dir")
    printf '| %s (`%s`) | %s | %s | %s | %s | %s | %s |\n' "$rev" "$commit" "$http" "$https" \
        "$env_roots" "$one" "$((https - one))" "$((env_roots - one))"
done
echo
echo "(work files, target dirs included: $WORK)"
