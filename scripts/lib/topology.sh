# shellcheck shell=bash disable=SC2034 # the constants are used by the scripts that source this
# The two-world test network of DESIGN.md ("The network the tests use"), as shell constants.
# Sourced by scripts/netns, scripts/run, scripts/demo, scripts/bench and scripts/test.
#
# Both worlds are built from the same constants, so interface indexes, MACs and addresses agree
# and a trace taken in one world compares line for line with the other.

IPSHIM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Every namespace name starts with this prefix. The default is the one the tests and README use;
# setting IPSHIM_NETNS_PREFIX (to something that still starts with "ipshim") gives a second,
# independent copy of the topology, e.g. to test these scripts while the main one is in use.
NETNS_PREFIX=${IPSHIM_NETNS_PREFIX:-ipshim}
if [[ ! $NETNS_PREFIX =~ ^ipshim[a-z0-9-]*$ ]]; then
    echo "IPSHIM_NETNS_PREFIX must start with 'ipshim' and use [a-z0-9-]: $NETNS_PREFIX" >&2
    exit 125
fi
# Pid files, logs and the HTTP directory of the peer services.
STATE_DIR=/run/$NETNS_PREFIX
# Helper binaries compiled from bench/*.c.
TOOLS_DIR=$IPSHIM_REPO/target/scripts

WORLDS=(kernel shim)
ROLES=(host peer remote)

HOST_MAC=02:00:00:00:00:02
PEER_MAC=02:00:00:00:00:01
PEER_ETH1_MAC=02:00:00:00:01:01
REMOTE_MAC=02:00:00:00:01:02

HOST_ADDR=198.18.0.2
PEER_ADDR=198.18.0.1
PEER_ETH1_ADDR=198.19.0.1
REMOTE_ADDR=198.19.0.2
PREFIX_LEN=24
REMOTE_LINK_MTU=1400

# Explicit interface indexes: lo is always 1 in a fresh namespace; the rest are pinned so that
# IP_PKTINFO's ipi_ifindex, SIOCGIFINDEX and friends print the same numbers in both worlds.
HOST_ETH0_INDEX=2
PEER_ETH0_INDEX=2
PEER_ETH1_INDEX=3
REMOTE_ETH0_INDEX=2

# ns_name WORLD ROLE: kernel|shim, host|peer|remote -> namespace name.
ns_name() {
    local letter
    case $1 in
        kernel) letter=k ;;
        shim) letter=s ;;
        *) echo "unknown world '$1' (kernel|shim)" >&2; return 1 ;;
    esac
    case $2 in
        host | peer | remote) ;;
        *) echo "unknown namespace role '$2' (host|peer|remote)" >&2; return 1 ;;
    esac
    echo "$NETNS_PREFIX-$letter-$2"
}

ns_exists() {
    [[ -e /run/netns/$1 ]]
}

require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "$(basename "$0"): needs root (network namespaces): run it with sudo" >&2
        exit 125
    fi
}

# build_tool NAME: compile bench/NAME.c into $TOOLS_DIR/NAME when missing or older than the source
# or than bench/common.h, which every program includes.
build_tool() {
    local source=$IPSHIM_REPO/bench/$1.c binary=$TOOLS_DIR/$1
    if [[ ! -x $binary || $source -nt $binary || $IPSHIM_REPO/bench/common.h -nt $binary ]]; then
        mkdir -p "$TOOLS_DIR"
        gcc -O2 -Wall -Wextra -o "$binary.tmp.$$" "$source"
        mv -f "$binary.tmp.$$" "$binary"
        # Under sudo, leave target/ removable by the user who owns it (cargo clean).
        if [[ -n ${SUDO_USER:-} && $SUDO_USER != root ]]; then
            chown -R "$SUDO_USER:" "$TOOLS_DIR"
        fi
    fi
}
