/* sysctl_switch.h: changing a per-namespace sysctl of the case's own namespace for a while and
 * putting the old value back whatever happens (include after trace.h).
 *
 * sysctl_save remembers a /proc/sys file's value; sysctl_write then writes new values into it
 * as often as the case wants; sysctl_restore writes the remembered values back, once, the
 * latest saved first. With sysctl_restore_on_signals, SIGALRM (trace_start's watchdog),
 * SIGTERM and SIGINT (the runner giving up) restore them too before the signal's default
 * action ends the case, so a case that hangs or is killed still leaves the namespace as it
 * found it. Up to SYSCTL_SAVED_MAX values may be saved at once (several files switched
 * together); a further sysctl_save fails with -1.
 *
 * Only per-namespace files (net.ipv4.*, net.core.somaxconn, ...) may be written: a write to a
 * machine-wide one would change the host, not the case's world. */
#ifndef IPSHIM_CTESTS_SYSCTL_SWITCH_H
#define IPSHIM_CTESTS_SYSCTL_SWITCH_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SYSCTL_SAVED_MAX 4

static char sysctl_saved_path[SYSCTL_SAVED_MAX][128];
static char sysctl_saved_value[SYSCTL_SAVED_MAX][64];
static size_t sysctl_saved_len[SYSCTL_SAVED_MAX];
static volatile int sysctl_saved_count;

/* Reads PATH into BUF as a NUL-terminated string; the length read, or -1. */
static inline int sysctl_read(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

/* Writes VALUE into PATH: 0 when all of it was written, -1 otherwise. */
static inline int sysctl_write(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Remembers PATH's value for sysctl_restore and copies it into OLD (OLD_SIZE bytes, at most
 * 64 kept). Returns its length, or -1 (0 for an empty file) when there is nothing to restore. */
static inline int sysctl_save(const char *path, char *old, size_t old_size)
{
    int slot = sysctl_saved_count;
    if (slot >= SYSCTL_SAVED_MAX)
        return -1;
    int n = sysctl_read(path, old, old_size);
    if (n <= 0)
        return n < 0 ? -1 : 0;
    snprintf(sysctl_saved_path[slot], sizeof sysctl_saved_path[slot], "%s", path);
    snprintf(sysctl_saved_value[slot], sizeof sysctl_saved_value[slot], "%s", old);
    sysctl_saved_len[slot] = strlen(sysctl_saved_value[slot]);
    sysctl_saved_count = slot + 1;
    return n;
}

/* Writes the saved values back, if any are pending. Only open/write/close: a signal handler
 * may call it. */
static inline void sysctl_restore(void)
{
    while (sysctl_saved_count > 0) {
        int slot = --sysctl_saved_count;
        int fd = open(sysctl_saved_path[slot], O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = write(fd, sysctl_saved_value[slot], sysctl_saved_len[slot]);
            (void)n;
            close(fd);
        }
    }
}

static void sysctl_restore_and_die(int sig)
{
    sysctl_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* After trace_start (it sets SIGALRM to its default action): the watchdog and the runner's
 * signals restore the saved value, then end the case as before. */
static inline void sysctl_restore_on_signals(void)
{
    signal(SIGALRM, sysctl_restore_and_die);
    signal(SIGTERM, sysctl_restore_and_die);
    signal(SIGINT, sysctl_restore_and_die);
}

#endif
