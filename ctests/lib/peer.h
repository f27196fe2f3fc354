/*
 * peer.h: run a command in the peer (or remote) namespace of the case's OWN world.
 *
 * A case runs in the host namespace of one world. Some behaviour is visible only from the
 * other end of the link (the peer pings the shim's address, receives its ICMP errors, sends
 * it fragmented datagrams). scripts/run exports IPSHIM_WORLD (kernel|shim) and
 * IPSHIM_NETNS_PREFIX to the case; these helpers start
 *
 *     ip netns exec <prefix>-<k|s>-<peer|remote> ARGV...
 *
 * with the case's environment minus LD_PRELOAD (the peer must run natively, never under the
 * shim), stdout captured through a pipe and stderr discarded (ping and python write
 * timing-dependent warnings there). The case runs as root, so `ip netns exec` is allowed.
 *
 * The child is started with fork() and then makes only raw system calls (dup2, close, setpgid,
 * execve through syscall(2)): under the shim, a forked child of a multi-threaded process may
 * only use async-signal-safe calls, and the shim's hooked dup2/close would take the shim's
 * locks, which another thread may have held at the moment of the fork. Everything execve
 * needs (argv, envp, the path of `ip`) is prepared before the fork.
 *
 * What the command prints is the peer's observation; it must print nothing that depends on
 * timing. peer_finish() prints each captured line as "peer| LINE" (or "remote| ", "host| ")
 * after the normalisations below, then "peer exit: N" (or "remote exit: N", "host exit: N"):
 *   - " time=0.123 ms", " time 2003ms" (ping's round-trip and total times) are removed;
 *   - ping -T's timestamps print as MS (the absolute one) and DELTA (the differences);
 *   - ping's "rtt min/avg/max/mdev" line is dropped;
 *   - the "pipe N" and "+N errors" of ping statistics are kept (they are counts).
 * A command that does not finish within its timeout is killed (its process group, which only
 * it is in) and reported as "peer exit: timeout".
 */
#ifndef IPSHIM_CTESTS_PEER_H
#define IPSHIM_CTESTS_PEER_H

#include <sys/types.h>

/* HOST_NS: the case's own namespace, for commands about it (`ip neigh flush`); the command
 * still runs natively, without the shim. */
enum peer_role { PEER_NS, REMOTE_NS, HOST_NS };

struct peer_job {
    enum peer_role role;
    pid_t pid;      /* the command (ip netns exec execs it in place); -1 when not started */
    int out_fd;     /* read end of the command's stdout */
    char label[64]; /* printed before its output */
    char *out;      /* what it printed so far (PEER_OUTPUT_MAX bytes at most) */
    size_t out_len, out_overflow;
    int out_eof;
};

/* The namespace name of ROLE in this case's world, e.g. "ipshim-s-peer". Exits with 99 when
 * IPSHIM_WORLD / the namespace is unknown: the case cannot run without it. */
const char *peer_ns_name(enum peer_role role);

/* Starts ARGV (NULL-terminated; argv[0] searched in PATH by `ip`) in ROLE's namespace. Prints
 * "peer$ LABEL" (or "remote$ LABEL") so the trace says what runs. Returns 0, or -1 (with a
 * printed reason). */
int peer_start(struct peer_job *job, enum peer_role role, const char *label, char *const argv[]);

/* Waits at most TIMEOUT_MS until the command has printed a line "ready" (a command that must
 * be listening before the case acts says so). Silent; the line is printed with the rest by
 * peer_finish. Returns 0, or -1 when the command ended or timed out first (the case goes on:
 * its trace then shows what the peer missed). */
int peer_wait_ready(struct peer_job *job, int timeout_ms);

/* Waits at most TIMEOUT_MS for the command, prints its normalised output and its exit status,
 * and returns the exit status (or -1 on timeout / failure). */
int peer_finish(struct peer_job *job, int timeout_ms);

/* peer_start + peer_finish. */
int peer_run(enum peer_role role, const char *label, char *const argv[], int timeout_ms);

/* Runs a python3 program (given as source text) in ROLE's namespace with ARGS (NULL-terminated,
 * may be NULL) as sys.argv[1:]; the same as peer_start with "python3 -c SOURCE ARGS...". */
int peer_start_python(struct peer_job *job, enum peer_role role, const char *label,
                      const char *source, const char *const args[]);

#endif
