/*
 * tool_run.h: run an unmodified network tool (tracepath, traceroute) from a case, in the
 * case's own namespace and world, and print what it printed with the times normalised.
 * Included by the tool_*.c cases (the runner builds only *.c files, so this header is not
 * a case of its own; its functions are static inline, so a case may leave some unused).
 *
 * The tool inherits the case's environment, LD_PRELOAD included: in the shim world it runs
 * under the shim, in the kernel world natively. The case itself creates no AF_INET socket,
 * so the shim never starts a stack in the case's process (the engine starts with the first
 * AF_INET socket): the tool's stack is the only one on the interface, as the kernel is the
 * only one in the kernel world. (Two shim processes on one interface would both see every
 * frame, and the case's stack would answer the remote's echo replies with port unreachables.)
 *
 * What legitimately differs between two runs is put in a stable state first, or printed in a
 * stable form:
 *   - the host's path MTU cache (the kernel world's host keeps a 1400-byte PMTU towards the
 *     remote for 10 minutes; the shim's cache lives in the tool's process and starts empty):
 *     `ip route flush cache` in the host namespace before each run;
 *   - the host's neighbour cache (the shim starts with an empty one): `ip neigh flush`;
 *   - the router's and the remote's ICMP rate limits towards the host (a 6-token bucket that
 *     regains one token a second, inet_peer_xrlim_allow; fragmentation needed is exempt): a
 *     case first waits N s + 0.2 s, N being the most errors it provokes from either (6 at
 *     most), so the buckets hold enough tokens whatever ran before;
 *   - round-trip times ("0.058ms", "0.037 ms") print as "T" ("Tms", "T ms").
 *
 * The tool_*_calls cases replay the tools' system calls through the trace wrappers instead
 * (so every field is compared); they create their sockets themselves and run no tool.
 *
 * The child is started as peer.c starts its commands: fork(), then raw system calls only
 * (setpgid, dup2, execve), with argv and envp prepared before the fork; the tool gets its own
 * process group so that a timeout kills it and only it.
 */
#ifndef IPSHIM_CTESTS_TOOL_RUN_H
#define IPSHIM_CTESTS_TOOL_RUN_H

#include "trace.h"
#include "peer.h"

#include <ctype.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define TOOL_OUTPUT_MAX 16384 /* far more than a tracepath/traceroute run prints */

/* The absolute path of NAME, looked up in PATH and the sbin directories (traceroute lives in
 * /usr/sbin) before the fork. NULL when absent. */
static inline const char *tool_path(const char *name, char *found, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[1024];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(found, size, "%s/%s", dir, name);
        if (access(found, X_OK) == 0)
            return found;
    }
    return NULL;
}

static inline long long tool_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Replaces every round-trip time, DIGITS.DIGITS followed by "ms" or " ms", with "T". */
static inline void tool_normalise_times(char *line)
{
    char out[1024];
    size_t o = 0;
    for (size_t i = 0; line[i] && o < sizeof out - 2;) {
        size_t j = i;
        while (isdigit((unsigned char)line[j]))
            j++;
        size_t k = j;
        if (j > i && line[j] == '.' && isdigit((unsigned char)line[j + 1])) {
            k = j + 1;
            while (isdigit((unsigned char)line[k]))
                k++;
            size_t unit = line[k] == ' ' ? k + 1 : k;
            if (strncmp(line + unit, "ms", 2) == 0) {
                out[o++] = 'T';
                i = k;
                continue;
            }
        }
        /* Not a time: copy the scanned digits (or one character) as they are. */
        size_t end = j > i ? j : i + 1;
        while (i < end && o < sizeof out - 2)
            out[o++] = line[i++];
    }
    out[o] = '\0';
    memcpy(line, out, o + 1);
}

/* Clears the host's PMTU and neighbour caches (see above); prints the commands and their
 * exit statuses, which are the same in both worlds. */
static inline void tool_fresh_host_caches(void)
{
    peer_run(HOST_NS, "ip route flush cache",
             (char *const[]){ "ip", "route", "flush", "cache", NULL }, 3000);
    peer_run(HOST_NS, "ip neigh flush dev eth0",
             (char *const[]){ "ip", "neigh", "flush", "dev", "eth0", NULL }, 3000);
}

/* Waits until the router's and the remote's ICMP token buckets towards the host hold at least
 * TOKENS tokens (1 to 6): a bucket regains one token a second whatever state an earlier case
 * left it in, and holds at most 6. */
static inline void tool_wait_for_icmp_tokens(int tokens)
{
    note("waiting %d.2 s: the router's and the remote's ICMP error buckets regain %d token%s",
         tokens, tokens, tokens == 1 ? "" : "s");
    usleep((useconds_t)tokens * 1000 * 1000 + 200 * 1000);
    trace_watchdog();
}

/* Waits until both buckets are full (6 tokens). */
static inline void tool_wait_for_full_icmp_buckets(void)
{
    tool_wait_for_icmp_tokens(6);
}

/* Runs ARGV (argv[0] looked up as above) in the case's namespace and world, with stdin from
 * /dev/null, stdout captured and stderr passed through to the case's stderr (kept by the
 * runner, not compared: the shim may log there). Prints "tool$ LABEL", then each line of
 * output as "tool| LINE" (times normalised), then "tool exit: N". A tool still running after
 * TIMEOUT_MS is killed ("tool exit: timeout"). Re-arms the case's watchdog first, so
 * TIMEOUT_MS may be up to 9 s. Returns the exit status, or -1. */
static inline int tool_run(const char *label, char *const argv[], int timeout_ms)
{
    printf("tool$ %s\n", label);
    trace_watchdog();
    char path[512];
    if (!tool_path(argv[0], path, sizeof path)) {
        /* Naming the world makes the two traces differ: a missing tool fails the case
         * instead of passing with nothing compared. */
        const char *world = getenv("IPSHIM_WORLD");
        printf("# tool: %s is not installed (%s world)\n", argv[0], world ? world : "unknown");
        return -1;
    }
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        printf("# tool: pipe2: %s\n", strerrorname_np(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        printf("# tool: /dev/null: %s\n", strerrorname_np(errno));
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(NULL); /* the child must not flush our stdio buffers a second time */
    pid_t pid = fork();
    if (pid == 0) {
        syscall(SYS_setpgid, 0, 0);
        syscall(SYS_dup2, devnull, 0);
        syscall(SYS_dup2, out[1], 1);
        syscall(SYS_execve, path, argv, environ);
        syscall(SYS_exit_group, 127);
    }
    int fork_errno = errno;
    close(out[1]);
    close(devnull);
    if (pid < 0) {
        close(out[0]);
        printf("# tool: fork: %s\n", strerrorname_np(fork_errno));
        return -1;
    }

    static char output[TOOL_OUTPUT_MAX + 1];
    size_t len = 0, overflow = 0;
    long long deadline = tool_now_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        long long left = deadline - tool_now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = { .fd = out[0], .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            timed_out = 1;
            break;
        }
        if (r < 0)
            break;
        char chunk[4096];
        ssize_t got = read(out[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size_t take = (size_t)got;
        if (take > TOOL_OUTPUT_MAX - len) {
            overflow += take - (TOOL_OUTPUT_MAX - len);
            take = TOOL_OUTPUT_MAX - len;
        }
        memcpy(output + len, chunk, take);
        len += take;
    }
    output[len] = '\0';
    close(out[0]);

    int status = 0;
    if (timed_out) {
        kill(-pid, SIGKILL); /* its own process group (setpgid in the child) */
        waitpid(pid, &status, 0);
    } else {
        /* Its stdout is closed: it is exiting. Bounded anyway. */
        pid_t w = 0;
        for (int i = 0; i < 300 && w == 0; i++) {
            w = waitpid(pid, &status, WNOHANG);
            if (w == 0)
                usleep(10000);
        }
        if (w == 0) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
    }

    for (char *line = output, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char copy[1024]; /* longer lines are cut: neither tool prints one */
        size_t n = strnlen(line, sizeof copy - 1);
        memcpy(copy, line, n);
        copy[n] = '\0';
        tool_normalise_times(copy);
        printf("tool| %s\n", copy);
    }
    if (overflow)
        printf("tool| ... %zu more bytes\n", overflow);
    if (timed_out) {
        printf("tool exit: timeout\n");
        return -1;
    }
    if (WIFEXITED(status)) {
        printf("tool exit: %d\n", WEXITSTATUS(status));
        return WEXITSTATUS(status);
    }
    printf("tool exit: signal %d\n", WTERMSIG(status));
    return -1;
}

#endif
