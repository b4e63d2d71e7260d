#!/usr/bin/env bash
# Cross-checks liaison-bench from outside its process: h2load (Debian package nghttp2-client) and the bench's own
# driver send the same GetContact request, with the same connections and calls in flight, to the same running
# all-in-one, one after the other; the script prints both rates. If they differ much, one of the two clients is
# the bottleneck (on a 2-core machine the client shares the cores with the server).
#
#   cargo build --release -p liaison -p liaison-bench
#   crates/bench/h2load.sh [--duration SECONDS] [--connections N] [--concurrency N]
#
# LIAISON_BIN and LIAISON_BENCH_BIN name other binaries (default: target/release/liaison{,-bench}).
# h2load sees HTTP statuses only, not gRPC ones (they travel in trailers), so the script first checks with the
# bench that the encoded request succeeds (errors=0).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

duration=10
connections=4
concurrency=64
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "h2load.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ $((concurrency % connections)) -ne 0 ]; then
    echo "h2load.sh: --concurrency must be a multiple of --connections (h2load runs N streams on each)" >&2
    exit 2
fi
streams=$((concurrency / connections))

liaison="${LIAISON_BIN:-target/release/liaison}"
bench="${LIAISON_BENCH_BIN:-target/release/liaison-bench}"
if ! command -v h2load >/dev/null 2>&1; then
    echo "h2load.sh: h2load is missing; install it with: apt-get update && apt-get install -y nghttp2-client" >&2
    exit 1
fi
for binary in "$liaison" "$bench"; do
    if [ ! -x "$binary" ]; then
        echo "h2load.sh: $binary is missing; build it with: cargo build --release -p liaison -p liaison-bench" >&2
        exit 1
    fi
done

work="$(mktemp -d -t liaison-h2load-XXXXXX)"
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Four consecutive free ports for the all-in-one (contacts is the first).
base_port="$(python3 - <<'EOF'
import socket
for _ in range(200):
    first = socket.socket(); first.bind(("127.0.0.1", 0)); base = first.getsockname()[1]
    others = []
    try:
        for i in range(1, 4):
            s = socket.socket(); s.bind(("127.0.0.1", base + i)); others.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        first.close(); [s.close() for s in others]
EOF
)"
addr="127.0.0.1:$base_port"

env -u DATABASE_URL -u RUST_LOG "$liaison" --data-dir "$work/data" --base-port "$base_port" 2>"$work/liaison.log" &
server=$!
for _ in $(seq 1 100); do
    "$liaison" healthcheck --addr "$addr" --service contacts --timeout-ms 500 >/dev/null 2>&1 && break
    sleep 0.1
done
"$liaison" healthcheck --addr "$addr" --service contacts || { cat "$work/liaison.log" >&2; exit 1; }

name="$("$bench" seed --contacts-addr "http://$addr" --count 1)"
"$bench" encode-get-contact --name "$name" >"$work/get-contact.bin"

check="$("$bench" drive --contacts-addr "http://$addr" --name "$name" --duration 1s --warmup 0s \
    --connections 1 --concurrency 1)"
case "$check" in
    *" errors=0 "*) ;;
    *) echo "h2load.sh: GetContact of $name fails: $check" >&2; exit 1 ;;
esac

echo "GetContact of $name on $addr: $connections connections, $concurrency calls in flight, ${duration} s each" >&2
h2load --duration="$duration" --warm-up-time=2 -c "$connections" -m "$streams" \
    -d "$work/get-contact.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$addr/liaison.contacts.v1.ContactsService/GetContact" >"$work/h2load.txt"
h2load_rate="$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$work/h2load.txt")"
h2load_requests="$(grep '^requests:' "$work/h2load.txt" || true)"
h2load_statuses="$(grep '^status codes:' "$work/h2load.txt" || true)"
h2load_latency="$(grep '^time for request:' "$work/h2load.txt" || true)"

bench_line="$("$bench" drive --contacts-addr "http://$addr" --name "$name" --duration "${duration}s" \
    --warmup 2s --connections "$connections" --concurrency "$concurrency")"
bench_rate="${bench_line#calls/s=}"
bench_rate="${bench_rate%% *}"

echo
echo "| client | GetContact requests/s | details |"
echo "|---|--:|---|"
echo "| h2load | ${h2load_rate:-?} | ${h2load_requests}; ${h2load_statuses}; ${h2load_latency} |"
echo "| liaison-bench drive | ${bench_rate:-?} | ${bench_line} |"
if [ -n "$h2load_rate" ] && [ -n "$bench_rate" ]; then
    awk -v bench="$bench_rate" -v h2load="$h2load_rate" 'BEGIN { printf "\nliaison-bench / h2load = %.2f\n", bench / h2load }'
fi
