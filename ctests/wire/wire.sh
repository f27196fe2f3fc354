# shellcheck shell=bash
# ctests/wire/wire.sh — the wire mode of ctests/run (`ctests/run --wire`), sourced by it.
#
# Around each run of a case: reset the neighbour caches of the world (wire_reset_neighbours),
# capture on the peer's eth0 (scripts/capture), and after both worlds compare the two captures
# normalised (ctests/wire/normalize.py).
# Expects CTESTS_DIR, REPO_DIR and OUT_DIR from ctests/run.

WIRE_CAPTURE="$REPO_DIR/scripts/capture"
WIRE_NORMALIZE="$CTESTS_DIR/wire/normalize.py"

# wire_check_tools: the wire mode needs tcpdump, python3 and the standard topology.
wire_check_tools() {
    if [ -n "${IPSHIM_CTESTS_LAUNCHER:-}" ]; then
        echo "ctests/run: --wire captures in the scripts/netns topology; IPSHIM_CTESTS_LAUNCHER is set" >&2
        return 1
    fi
    local tool
    for tool in tcpdump python3; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "ctests/run: --wire needs $tool" >&2
            return 1
        fi
    done
}

# wire_ns WORLD ROLE: the namespace name (scripts/lib/topology.sh).
wire_ns() {
    IPSHIM_NETNS_PREFIX=${IPSHIM_NETNS_PREFIX:-ipshim} bash -c \
        'source "$1/scripts/lib/topology.sh" && ns_name "$2" "$3"' _ "$REPO_DIR" "$1" "$2"
}

# wire_reset_neighbours WORLD: the same neighbour state in both worlds before every case.
# The host starts empty: the shim is a new process with an empty ARP cache, and the kernel
# world's host would otherwise reuse an entry from an earlier case. The peer and the remote get
# STALE entries for their neighbours (what they hold after any earlier exchange): a STALE entry
# is used at once (NUD_STALE -> NUD_DELAY, neigh_event_send), so the peer never queues frames
# behind an ARP resolution of its own, whose end (the host's reply) would reorder them by timing.
wire_reset_neighbours() {
    # shellcheck disable=SC2016 # the inner shell expands them, after sourcing topology.sh
    IPSHIM_NETNS_PREFIX=${IPSHIM_NETNS_PREFIX:-ipshim} bash -c '
        set -e
        source "$1/scripts/lib/topology.sh"
        host=$(ns_name "$2" host) peer=$(ns_name "$2" peer) remote=$(ns_name "$2" remote)
        for ns in "$host" "$peer" "$remote"; do ip -n "$ns" neigh flush all; done
        ip -n "$peer" neigh replace "$HOST_ADDR" lladdr "$HOST_MAC" dev eth0 nud stale
        ip -n "$peer" neigh replace "$REMOTE_ADDR" lladdr "$REMOTE_MAC" dev eth1 nud stale
        ip -n "$remote" neigh replace "$PEER_ETH1_ADDR" lladdr "$PEER_ETH1_MAC" dev eth0 nud stale
    ' _ "$REPO_DIR" "$1"
}

# wire_begin NAME WORLD: reset the neighbour caches, then start capturing on the peer's eth0.
wire_begin() {
    local n=$1 w=$2
    wire_reset_neighbours "$w" 2>"$OUT_DIR/$n.$w.pcap.err" || return 1
    "$WIRE_CAPTURE" start --world "$w" --ns peer --iface eth0 "$OUT_DIR/$n.$w.pcap" 2>>"$OUT_DIR/$n.$w.pcap.err"
}

# wire_end NAME WORLD: stop the capture (after a short grace for frames in flight).
wire_end() {
    "$WIRE_CAPTURE" stop "$OUT_DIR/$1.$2.pcap" 2>>"$OUT_DIR/$1.$2.pcap.err"
}

# wire_tcp_mode NAME: the case's TCP comparison mode from ctests/wire/tcp-modes.txt
# ("NAME MODE # reason"), exact when it is not listed.
wire_tcp_mode() {
    local name mode rest
    if [ -f "$CTESTS_DIR/wire/tcp-modes.txt" ]; then
        while read -r name mode rest; do
            case "$name" in ''|'#'*) continue ;; esac
            if [ "$name" = "$1" ]; then echo "$mode"; return; fi
        done <"$CTESTS_DIR/wire/tcp-modes.txt"
    fi
    echo exact
}

# wire_compare NAME: diff of the normalised captures to NAME.wire.diff; 0 when equal.
# NAME.kernel.wire and NAME.shim.wire keep the normalised lines.
wire_compare() {
    local n=$1 range
    range=$(ip netns exec "$(wire_ns kernel host)" cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) ||
        range="32768 60999"
    # shellcheck disable=SC2086 # two numbers
    python3 "$WIRE_NORMALIZE" --compare --port-range $range --tcp-mode "$(wire_tcp_mode "$n")" --out-dir "$OUT_DIR" \
        "$OUT_DIR/$n.kernel.pcap" "$OUT_DIR/$n.shim.pcap" >"$OUT_DIR/$n.wire.diff" 2>&1
}

# wire_run_in_world NAME WORLD: run_in_world between wire_begin and wire_end. A capture that
# fails leaves NAME.WORLD.pcap.err non-empty, which wire_verdict reports.
wire_run_in_world() {
    local n=$1 w=$2
    rm -f "$OUT_DIR/$n.$w.pcap.err"
    if ! wire_begin "$n" "$w"; then
        echo "capture did not start" >>"$OUT_DIR/$n.$w.pcap.err"
        run_in_world "$n" "$w"
        return 1
    fi
    run_in_world "$n" "$w"
    wire_end "$n" "$w" || echo "capture did not stop cleanly" >>"$OUT_DIR/$n.$w.pcap.err"
}

# wire_verdict NAME: print PASS NAME or FAIL NAME with the diff of the normalised frames;
# 0 when they are equal. The traces are diffed too (NAME.diff) but only mentioned: the trace
# verdict is the default mode's business.
wire_verdict() {
    local n=$1 w note=""
    for w in kernel shim; do
        if [ -s "$OUT_DIR/$n.$w.pcap.err" ]; then
            echo "FAIL $n (capture in the $w world)"
            sed 's/^/    /' "$OUT_DIR/$n.$w.pcap.err"
            return 1
        fi
    done
    if ! diff -u --label "$n (kernel world)" --label "$n (shim world)" \
        "$OUT_DIR/$n.kernel" "$OUT_DIR/$n.shim" >"$OUT_DIR/$n.diff"; then
        note=" (the traces differ too: $OUT_DIR/$n.diff)"
    else
        rm -f "$OUT_DIR/$n.diff"
    fi
    if wire_compare "$n"; then
        echo "PASS $n$note"
        rm -f "$OUT_DIR/$n.wire.diff"
        return 0
    fi
    echo "FAIL $n$note"
    cat "$OUT_DIR/$n.wire.diff"
    return 1
}
