/* raw_lib.h: helpers of the raw_* and ping_* cases (not a case: the runner builds only *.c).
 * Received packets are printed field by field, with the fields that differ per run (IP ids,
 * checksums) judged ("ok", "nonzero") rather than printed. */
#ifndef IPSHIM_CTESTS_RAW_LIB_H
#define IPSHIM_CTESTS_RAW_LIB_H

#include "trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
#ifndef SOL_RAW
#define SOL_RAW 255
#endif

/* The Internet checksum (RFC 1071) of LEN bytes. */
static inline uint16_t raw_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An ICMP echo request (type 8) with DATA, its checksum filled in. Returns its length. */
static inline size_t raw_echo_request(uint8_t *buf, uint8_t type, uint8_t code, uint16_t id,
                                      uint16_t seq, const char *data)
{
    size_t n = strlen(data);
    buf[0] = type;
    buf[1] = code;
    buf[2] = buf[3] = 0;
    buf[4] = (uint8_t)(id >> 8);
    buf[5] = (uint8_t)id;
    buf[6] = (uint8_t)(seq >> 8);
    buf[7] = (uint8_t)seq;
    memcpy(buf + 8, data, n);
    uint16_t c = raw_checksum(buf, 8 + n);
    buf[2] = (uint8_t)(c >> 8);
    buf[3] = (uint8_t)c;
    return 8 + n;
}

/* Prints an ICMP message: type, code, checksum validity, id (as is, or "ID" when it equals
 * EXPECTED_ID, for identifiers the kernel chose), sequence and data. */
static inline void raw_print_icmp(const uint8_t *icmp, size_t len, int expected_id)
{
    if (len < 8) {
        printf("  icmp: %zu bytes (short)\n", len);
        return;
    }
    int id = icmp[4] << 8 | icmp[5];
    char id_text[32];
    if (expected_id >= 0 && id == expected_id)
        snprintf(id_text, sizeof id_text, "ID");
    else
        snprintf(id_text, sizeof id_text, "%d", id);
    printf("  icmp: type=%d code=%d csum=%s id=%s seq=%d data=\"%.*s\"\n", icmp[0], icmp[1],
           raw_checksum(icmp, len) == 0 ? "ok" : "BAD", id_text, icmp[6] << 8 | icmp[7],
           (int)(len - 8), (const char *)icmp + 8);
}

/* Prints an IPv4 header and the ICMP message after it. */
static inline void raw_print_ip(const uint8_t *ip, size_t len, int expected_id)
{
    if (len < 20) {
        printf("  ip: %zu bytes (short)\n", len);
        return;
    }
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    char src[16], dst[16];
    inet_ntop(AF_INET, ip + 12, src, sizeof src);
    inet_ntop(AF_INET, ip + 16, dst, sizeof dst);
    printf("  ip: version=%d ihl=%zu tos=0x%02x tot_len=%d id=%s frag=0x%04x ttl=%d proto=%d "
           "csum=%s src=%s dst=%s\n",
           ip[0] >> 4, ihl, ip[1], ip[2] << 8 | ip[3], (ip[4] | ip[5]) ? "nonzero" : "0",
           ip[6] << 8 | ip[7], ip[8], ip[9], raw_checksum(ip, ihl) == 0 ? "ok" : "BAD", src, dst);
    if (ip[9] == IPPROTO_ICMP && len >= ihl)
        raw_print_icmp(ip + ihl, len - ihl, expected_id);
}

/* recvmsg after waiting at most 2 s; prints the result, msg_name, msg_flags and the control
 * messages' kinds. Returns the length (or -1) and leaves the bytes in BUF. */
static inline ssize_t raw_receive(int fd, uint8_t *buf, size_t cap, int flags, const char *what)
{
    quiet_wait_readable(fd, 2000);
    struct sockaddr_in from;
    memset(&from, 0xaa, sizeof from);
    char control[256];
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                          .msg_iovlen = 1, .msg_control = control,
                          .msg_controllen = sizeof control };
    ssize_t n = recvmsg(fd, &msg, flags | MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: recvmsg = -1 %s\n", what, strerrorname_np(errno));
        return -1;
    }
    char addr[16] = "?";
    if (msg.msg_namelen >= 8)
        inet_ntop(AF_INET, &from.sin_addr, addr, sizeof addr);
    printf("%s: recvmsg = %zd namelen=%u from=%s:%u flags=0x%x", what, n, msg.msg_namelen,
           addr, msg.msg_namelen >= 8 ? ntohs(from.sin_port) : 0, msg.msg_flags);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        printf(" cmsg(%d,%d,len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL)
            printf(" ttl %d", *(int *)CMSG_DATA(c));
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) {
            const uint8_t *e = CMSG_DATA(c);
            unsigned err;
            memcpy(&err, e, 4);
            char off[16] = "";
            const struct sockaddr_in *o = (const void *)(e + 16);
            inet_ntop(AF_INET, &o->sin_addr, off, sizeof off);
            uint32_t info;
            memcpy(&info, e + 8, 4);
            printf(" errno %s origin %d type %d code %d info %u offender family %d %s",
                   strerrorname_np((int)err), e[4], e[5], e[6], info, o->sin_family, off);
        }
        printf(")");
    }
    printf("\n");
    return n;
}

/* poll for POLLIN for TIMEOUT_MS; prints the revents. */
static inline void raw_poll(int fd, int timeout_ms, const char *what)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    int r = poll(&p, 1, timeout_ms);
    printf("%s: poll = %d revents=0x%x\n", what, r, r > 0 ? p.revents : 0);
}

#endif
