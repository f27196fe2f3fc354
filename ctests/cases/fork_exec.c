/* fork_exec: a process with live UDP sockets starts children that exec (fork+exec, system(),
 * posix_spawn, vfork+exec; each child closes every fd above 2 first, as Python's subprocess
 * does with close_range). The parent's sockets must keep working before, between and after,
 * and the fd numbers it gets next must be the same. What a fork child that keeps using an
 * inherited socket sees is not compared here: the shim answers EAFNOSUPPORT there (README). */
#define _GNU_SOURCE
#include "trace.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static void echo_once(int fd, const char *what)
{
    unsigned char buf[64];
    note(what);
    tr_sendto4(fd, "ping", 4, 0, PEER_ADDR, PORT_ECHO);
    quiet_wait_readable(fd, 3000);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
}

static void report_child(const char *how, pid_t pid)
{
    int status = 0;
    if (pid < 0) {
        printf("%s: could not start\n", how);
        return;
    }
    waitpid(pid, &status, 0);
    printf("%s: exited=%d status=%d\n", how, WIFEXITED(status), WEXITSTATUS(status));
}

int main(void)
{
    trace_start("fork_exec");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int other = tr_socket(AF_INET, SOCK_DGRAM, 0);
    echo_once(fd, "before any child");

    /* fork + close_range + exec, as subprocess does (its exec'd program closes nothing). */
    pid_t pid = fork();
    if (pid == 0) {
        syscall(436 /* close_range */, 3, ~0U, 0);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    report_child("fork+close_range+exec", pid);
    echo_once(fd, "after fork+exec");

    /* system(): a shell that runs a command with the sockets inherited (no CLOEXEC). */
    int status = system("exit 3");
    printf("system: status=%d\n", WEXITSTATUS(status));
    echo_once(fd, "after system()");

    /* posix_spawn (glibc uses clone(CLONE_VM|CLONE_VFORK)). */
    char *argv[] = { "true", NULL };
    pid_t spawned = -1;
    int spawn_error = posix_spawn(&spawned, "/bin/true", NULL, NULL, argv, environ);
    printf("posix_spawn = %d\n", spawn_error);
    report_child("posix_spawn", spawn_error == 0 ? spawned : -1);
    echo_once(other, "second socket after posix_spawn");

    /* vfork + exec with close_range in the child (shares our memory until exec). */
    pid = vfork();
    if (pid == 0) {
        syscall(436 /* close_range */, 3, ~0U, 0);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    report_child("vfork+close_range+exec", pid);
    echo_once(fd, "after vfork+exec");

    note("the next fd numbers are unchanged");
    int third = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(third);
    tr_close(other);
    tr_close(fd);
    return 0;
}
