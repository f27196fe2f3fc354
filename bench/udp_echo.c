/*
 * udp_echo: the peer namespaces' UDP services, in C so that a benchmark measures the client.
 *
 *   udp_echo echo    PORT   RFC 862 echo: every datagram is sent back to its source, from the
 *                           local address it was sent to (IP_PKTINFO), so a request to the peer's
 *                           198.19.0.1 is answered from 198.19.0.1 and not from whichever address
 *                           the route back would pick.
 *   udp_echo discard PORT   RFC 863 discard: datagrams are read and dropped, nothing is answered.
 *   udp_echo sink    PORT   discard that counts: a datagram whose payload is exactly "STATS" is
 *                           answered with "<datagrams> <bytes>" counted since the previous STATS,
 *                           and the counters restart. scripts/bench uses it for the one-way rate.
 *
 * One blocking socket, one datagram at a time: the echo reply leaves before the next request is
 * read, as with inetd's built-in echo. Errors on a single datagram are reported and skipped;
 * only a failure to set the socket up ends the program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

enum mode { MODE_ECHO, MODE_DISCARD, MODE_SINK };
static const char *const MODE_NAMES[] = { "echo", "discard", "sink" };

/* 65535 covers the largest UDP payload (65507) with room to spare. */
static unsigned char datagram[65536];

static int open_socket(int port, enum mode mode)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        perror("setsockopt SO_REUSEADDR");
    if (mode == MODE_ECHO && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) {
        perror("setsockopt IP_PKTINFO");
        exit(1);
    }
    /* A rate test bursts faster than one reader drains; a deep queue keeps the count honest
     * about what the sender achieved rather than about the default 208 KB buffer. */
    int rcvbuf = 8 << 20;
    if (mode != MODE_ECHO && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
        perror("setsockopt SO_RCVBUF");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static void serve_echo(int fd)
{
    for (;;) {
        struct sockaddr_in source;
        struct iovec iov = { .iov_base = datagram, .iov_len = sizeof datagram };
        union {
            struct cmsghdr align;
            char bytes[CMSG_SPACE(sizeof(struct in_pktinfo))];
        } control;
        struct msghdr msg = {
            .msg_name = &source,
            .msg_namelen = sizeof source,
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.bytes,
            .msg_controllen = sizeof control.bytes,
        };
        ssize_t length = recvmsg(fd, &msg, 0);
        if (length < 0) {
            if (errno != EINTR)
                perror("recvmsg");
            continue;
        }
        struct in_pktinfo reply_from = { 0 };
        int have_pktinfo = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                memcpy(&reply_from, CMSG_DATA(c), sizeof reply_from);
                have_pktinfo = 1;
            }
        }
        /* ipi_spec_dst is the kernel's choice of local address for a reply (the destination
         * itself for unicast, the interface address for broadcast); ifindex 0 lets routing pick
         * the interface. */
        struct in_pktinfo send_info = { .ipi_spec_dst = reply_from.ipi_spec_dst };
        union {
            struct cmsghdr align;
            char bytes[CMSG_SPACE(sizeof(struct in_pktinfo))];
        } send_control;
        memset(&send_control, 0, sizeof send_control);
        iov.iov_len = (size_t)length;
        struct msghdr reply = {
            .msg_name = &source,
            .msg_namelen = sizeof source,
            .msg_iov = &iov,
            .msg_iovlen = 1,
        };
        if (have_pktinfo) {
            reply.msg_control = send_control.bytes;
            reply.msg_controllen = sizeof send_control.bytes;
            struct cmsghdr *c = CMSG_FIRSTHDR(&reply);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof send_info);
            memcpy(CMSG_DATA(c), &send_info, sizeof send_info);
        }
        if (sendmsg(fd, &reply, 0) < 0)
            perror("sendmsg");
    }
}

static void serve_discard(int fd, int count)
{
    unsigned long long datagrams = 0, bytes = 0;
    for (;;) {
        struct sockaddr_in source;
        socklen_t source_len = sizeof source;
        ssize_t length = recvfrom(fd, datagram, sizeof datagram, 0, (struct sockaddr *)&source, &source_len);
        if (length < 0) {
            if (errno != EINTR)
                perror("recvfrom");
            continue;
        }
        if (!count)
            continue;
        if (length == 5 && memcmp(datagram, "STATS", 5) == 0) {
            char answer[64];
            int answer_len = snprintf(answer, sizeof answer, "%llu %llu", datagrams, bytes);
            if (sendto(fd, answer, (size_t)answer_len, 0, (struct sockaddr *)&source, source_len) < 0)
                perror("sendto");
            datagrams = 0;
            bytes = 0;
            continue;
        }
        datagrams++;
        bytes += (unsigned long long)length;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s echo|discard|sink PORT\n", argv[0]);
        return 2;
    }
    int mode = parse_mode(argv[1], MODE_NAMES, sizeof MODE_NAMES / sizeof MODE_NAMES[0]);
    int port = parse_port(argv[2]);
    if (mode < 0 || port < 0)
        return 2;
    int fd = open_socket(port, mode);
    if (mode == MODE_ECHO)
        serve_echo(fd);
    else
        serve_discard(fd, mode == MODE_SINK);
    return 0;
}
