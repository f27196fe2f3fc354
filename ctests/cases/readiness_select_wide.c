/* readiness_select_wide: sets wider than one long; bits above nfds in the last long are cleared. */
#include "trace.h"
int main(void)
{
    trace_start("readiness_select_wide");
    unsigned char buf[64];
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int pipefd[2];
    tr_pipe(pipefd);
    tr_dup2(fd, 100);
    tr_dup2(pipefd[0], 70);
    tr_dup2(pipefd[1], 71);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(100, &r);
    FD_SET(70, &r);
    FD_SET(100, &w);
    FD_SET(71, &w);
    FD_SET(120, &r); /* above nfds: ignored, and cleared in the result */
    struct timeval tv = { 0, 0 };
    tr_select(101, &r, &w, NULL, &tv);
    printf("bit 120 after: %d\n", FD_ISSET(120, &r));
    tr_sendto4(100, "x", 1, 0, PEER_ADDR, PORT_ECHO);
    FD_ZERO(&r);
    FD_SET(100, &r);
    FD_SET(70, &r);
    tv = (struct timeval){ 3, 0 };
    tr_select(101, &r, NULL, NULL, &tv);
    tr_write(71, "p", 1);
    FD_ZERO(&r);
    FD_SET(100, &r);
    FD_SET(70, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(101, &r, NULL, NULL, &tv);
    tr_recv(100, buf, sizeof buf, 0);
    return trace_end();
}
