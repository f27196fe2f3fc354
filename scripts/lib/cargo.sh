# shellcheck shell=bash
# run_cargo ARGS...: cargo, reachable even from `sudo` (whose secure_path lacks ~/.cargo/bin).
# Under sudo it runs as the invoking user, with that user's rustup toolchain, so that target/
# never fills with root-owned files; otherwise as ourselves, with ~/.cargo/bin on PATH.

if [[ -n ${SUDO_USER:-} && $SUDO_USER != root ]]; then
    CARGO_USER_HOME=$(getent passwd "$SUDO_USER" | cut -d: -f6)
    run_cargo() {
        sudo -u "$SUDO_USER" env "HOME=$CARGO_USER_HOME" "PATH=$CARGO_USER_HOME/.cargo/bin:$PATH" cargo "$@"
    }
else
    if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
        # shellcheck source=/dev/null
        source "$HOME/.cargo/env"
    fi
    run_cargo() {
        cargo "$@"
    }
fi

# require_cargo: exit 2 with a hint when cargo cannot be found.
require_cargo() {
    if ! run_cargo --version >/dev/null 2>&1; then
        echo "$(basename "$0"): cargo not found: install Rust with rustup (https://rustup.rs)" >&2
        exit 2
    fi
}
