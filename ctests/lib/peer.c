/* peer.c: run a command in the peer or remote namespace of the case's world (see peer.h). */
#include "peer.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PEER_OUTPUT_MAX 65536 /* more than any case's peer prints; the rest is counted */
#define PEER_ARGS_MAX 32

static const char *role_name(enum peer_role role)
{
    return role == PEER_NS ? "peer" : role == REMOTE_NS ? "remote" : "host";
}

const char *peer_ns_name(enum peer_role role)
{
    static char name[128];
    const char *world = getenv("IPSHIM_WORLD");
    const char *prefix = getenv("IPSHIM_NETNS_PREFIX");
    char letter;
    if (world && strcmp(world, "kernel") == 0)
        letter = 'k';
    else if (world && strcmp(world, "shim") == 0)
        letter = 's';
    else {
        /* Without it the case would have to guess which world it is in: refuse. */
        fprintf(stderr, "peer: IPSHIM_WORLD is '%s', not kernel|shim (run through scripts/run)\n",
                world ? world : "(unset)");
        printf("# peer: IPSHIM_WORLD not set\n");
        exit(99);
    }
    snprintf(name, sizeof name, "%s-%c-%s", prefix && *prefix ? prefix : "ipshim", letter,
             role_name(role));
    return name;
}

/* The absolute path of `ip`, looked up in PATH before fork: the child only calls execve. */
static const char *ip_path(void)
{
    static char found[256];
    if (found[0])
        return found;
    const char *path = getenv("PATH");
    char dirs[1024];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof found, "%s/ip", dir);
        if (access(found, X_OK) == 0)
            return found;
    }
    found[0] = '\0';
    return NULL;
}

/* The case's environment without LD_PRELOAD: the peer's commands run natively. Built once. */
static char **peer_environment(void)
{
    static char **env;
    if (env)
        return env;
    size_t n = 0;
    while (environ[n])
        n++;
    env = calloc(n + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            env[kept++] = environ[i];
    env[kept] = NULL;
    return env;
}

static int start_failed(struct peer_job *job)
{
    free(job->out);
    job->out = NULL;
    return -1;
}

int peer_start(struct peer_job *job, enum peer_role role, const char *label, char *const argv[])
{
    job->role = role;
    job->pid = -1;
    job->out_fd = -1;
    job->out_len = job->out_overflow = 0;
    job->out_eof = 0;
    job->out = calloc(1, PEER_OUTPUT_MAX + 1);
    snprintf(job->label, sizeof job->label, "%s", label);
    printf("%s$ %s\n", role_name(role), label);
    fflush(stdout);

    const char *ns = peer_ns_name(role);
    const char *ip = ip_path();
    char **envp = peer_environment();
    if (!ip || !envp || !job->out) {
        printf("# peer: no 'ip' command or no memory\n");
        return start_failed(job);
    }
    char *args[PEER_ARGS_MAX + 5];
    size_t n = 0;
    args[n++] = "ip";
    args[n++] = "netns";
    args[n++] = "exec";
    args[n++] = (char *)ns;
    for (size_t i = 0; argv[i]; i++) {
        if (i == PEER_ARGS_MAX) {
            printf("# peer: too many arguments\n");
            return start_failed(job);
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;

    /* Both ends close-on-exec: the child's dup2 onto 1 and 2 clears the flag for those copies
     * only, so the command inherits nothing else of ours through these. */
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        printf("# peer: pipe2: %s\n", strerrorname_np(errno));
        return start_failed(job);
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        printf("# peer: /dev/null: %s\n", strerrorname_np(errno));
        close(out[0]);
        close(out[1]);
        return start_failed(job);
    }
    fflush(NULL); /* the child must not flush our stdio buffers a second time */

    pid_t pid = fork();
    if (pid == 0) {
        /* Raw system calls only (see peer.h): no libc wrapper the shim interposes, no lock,
         * no allocation. Own process group, so a timeout kills the command and its children. */
        syscall(SYS_setpgid, 0, 0);
        syscall(SYS_dup2, devnull, 0);
        syscall(SYS_dup2, out[1], 1);
        syscall(SYS_dup2, devnull, 2);
        /* Nothing else of the case's passes to the command: in the kernel world an inherited
         * socket would stay open in the peer process after the case closes it (a listener
         * closed by the case would keep its accept queue until the command exits), which the
         * shim world cannot reproduce (its sockets live in the case's own process). */
        syscall(SYS_close_range, 3, ~0U, 0);
        syscall(SYS_execve, ip, args, envp);
        syscall(SYS_exit_group, 127);
    }
    int fork_errno = errno;
    close(out[1]);
    close(devnull);
    if (pid < 0) {
        close(out[0]);
        printf("# peer: fork: %s\n", strerrorname_np(fork_errno));
        return start_failed(job);
    }
    job->pid = pid;
    job->out_fd = out[0];
    return 0;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Timing-dependent parts of a line, replaced before printing. */
static const struct {
    const char *pattern, *replacement;
} rewrites[] = {
    /* ping: "time=0.052 ms" per reply, ", time 402ms" in the statistics */
    { ",? time[= ][0-9.]+ ?ms", "" },
    /* ping -T: the first timestamp is milliseconds since midnight UT (RFC 791) */
    { "\t[0-9]+ absolute$", "\tMS absolute" },
    /* ping -T: the later ones are differences, 0 or 1 depending on when the clock ticked */
    { "\t-?[0-9]+$", "\tDELTA" },
};
/* Lines dropped whole. */
static const char *const dropped_patterns[] = {
    "^rtt min/avg/max/mdev", /* ping's round-trip statistics */
};

static int matches(const char *pattern, const char *text, regmatch_t *m)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0)
        return 0;
    int hit = regexec(&re, text, 1, m, 0) == 0;
    regfree(&re);
    return hit;
}

static void print_normalised_line(const char *prefix, const char *text)
{
    char line[1024];
    /* Longer lines are cut: no case's peer prints one. */
    size_t n = strnlen(text, sizeof line - 1);
    memcpy(line, text, n);
    line[n] = '\0';
    regmatch_t m;
    for (size_t i = 0; i < sizeof dropped_patterns / sizeof dropped_patterns[0]; i++)
        if (matches(dropped_patterns[i], line, &m))
            return;
    for (size_t i = 0; i < sizeof rewrites / sizeof rewrites[0]; i++) {
        const char *with = rewrites[i].replacement;
        size_t with_len = strlen(with);
        /* Bounded, and each replacement is shorter than what it replaces or ends the line's
         * matches (the replacements do not match their own pattern). */
        for (int pass = 0; pass < 16 && matches(rewrites[i].pattern, line, &m) && m.rm_eo > m.rm_so;
             pass++) {
            size_t tail = strlen(line + m.rm_eo) + 1;
            if (m.rm_so + with_len + tail > sizeof line)
                break;
            memmove(line + m.rm_so + with_len, line + m.rm_eo, tail);
            memcpy(line + m.rm_so, with, with_len);
        }
    }
    printf("%s| %s\n", prefix, line);
}

/* Reads what the command printed until DEADLINE_MS: returns 1 after reading something, 0 at
 * EOF, -1 at the deadline. */
static int read_output(struct peer_job *job, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = job->out_fd, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        if (r < 0)
            return 0;
        char chunk[4096];
        ssize_t got = read(job->out_fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            job->out_eof = 1; /* the command (and everything holding its stdout) is done */
            return 0;
        }
        size_t take = (size_t)got;
        if (take > PEER_OUTPUT_MAX - job->out_len) {
            job->out_overflow += take - (PEER_OUTPUT_MAX - job->out_len);
            take = PEER_OUTPUT_MAX - job->out_len;
        }
        memcpy(job->out + job->out_len, chunk, take);
        job->out_len += take;
        job->out[job->out_len] = '\0';
        return 1;
    }
}

int peer_wait_ready(struct peer_job *job, int timeout_ms)
{
    if (job->pid < 0)
        return -1;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (strncmp(job->out, "ready\n", 6) == 0 || strstr(job->out, "\nready\n"))
            return 0;
        if (job->out_eof || read_output(job, deadline) <= 0)
            return -1;
    }
}

int peer_finish(struct peer_job *job, int timeout_ms)
{
    if (job->pid < 0)
        return -1;
    long long deadline = now_ms() + timeout_ms;
    int timed_out = 0;
    while (!job->out_eof) {
        int r = read_output(job, deadline);
        if (r < 0) {
            timed_out = 1;
            break;
        }
        if (r == 0)
            break;
    }
    close(job->out_fd);
    job->out_fd = -1;

    int status = 0;
    if (timed_out) {
        /* Only our own child's process group (setpgid in the child). */
        kill(-job->pid, SIGKILL);
        waitpid(job->pid, &status, 0);
    } else {
        /* Stdout closed; the command exits at once. Bounded anyway. */
        pid_t w = 0;
        for (int i = 0; i < 200; i++) {
            w = waitpid(job->pid, &status, WNOHANG);
            if (w != 0)
                break;
            usleep(10000);
        }
        if (w == 0) {
            timed_out = 1;
            kill(-job->pid, SIGKILL);
            waitpid(job->pid, &status, 0);
        }
    }
    job->pid = -1;

    for (char *line = job->out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        print_normalised_line(role_name(job->role), line);
    }
    if (job->out_overflow)
        printf("%s| ... %zu more bytes\n", role_name(job->role), job->out_overflow);
    free(job->out);
    job->out = NULL;
    if (timed_out)
        printf("%s exit: timeout\n", role_name(job->role));
    else if (WIFEXITED(status))
        printf("%s exit: %d\n", role_name(job->role), WEXITSTATUS(status));
    else
        printf("%s exit: signal %d\n", role_name(job->role), WTERMSIG(status));
    fflush(stdout);
    if (timed_out || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int peer_run(enum peer_role role, const char *label, char *const argv[], int timeout_ms)
{
    struct peer_job job;
    if (peer_start(&job, role, label, argv) < 0)
        return -1;
    return peer_finish(&job, timeout_ms);
}

int peer_start_python(struct peer_job *job, enum peer_role role, const char *label,
                      const char *source, const char *const args[])
{
    char *argv[PEER_ARGS_MAX + 1];
    size_t n = 0;
    argv[n++] = "python3";
    argv[n++] = "-c";
    argv[n++] = (char *)source;
    for (size_t i = 0; args && args[i] && n < PEER_ARGS_MAX; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return peer_start(job, role, label, argv);
}
