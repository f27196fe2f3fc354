/* ip_options_cmsg.h: printing an IP_RECVOPTS / IP_RETOPTS control message (include after
 * trace.h). The data prints in hex, except that every filled timestamp of a timestamp option
 * (the time of day a host wrote: it differs between runs) prints as TTTTTTTT. Which slots are
 * timestamps follows the option: from its fourth octet up to its pointer, every word for
 * "timestamps only" (flag 0), every second word otherwise (address, then time). A slot of
 * zeros is printed as is: it was never filled. */
#ifndef IPSHIM_CTESTS_IP_OPTIONS_CMSG_H
#define IPSHIM_CTESTS_IP_OPTIONS_CMSG_H

#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>

static inline void print_options_message(const struct cmsghdr *c)
{
    const unsigned char *d = CMSG_DATA(c);
    size_t len = c->cmsg_len - CMSG_LEN(0);
    char hex[3 * 48] = "";
    size_t at = 0, out = 0;
    int time_from = -1, time_to = -1, flag = 0;
    while (at < len && out + 9 < sizeof hex) {
        if (d[at] == 68 && at + 3 < len && time_from < 0) {
            time_from = (int)at + 4;
            time_to = (int)at + d[at + 2] - 1; /* up to the pointer */
            flag = d[at + 3] & 15;
        }
        int in_time = time_from >= 0 && (int)at >= time_from && (int)at < time_to &&
                      (flag == 0 || ((int)at - time_from) % 8 >= 4);
        if (in_time && ((int)at - time_from) % 4 == 0 && at + 3 < len &&
            (d[at] | d[at + 1] | d[at + 2] | d[at + 3])) {
            out += (size_t)snprintf(hex + out, sizeof hex - out, "TTTTTTTT");
            at += 4;
            continue;
        }
        out += (size_t)snprintf(hex + out, sizeof hex - out, "%02x", d[at]);
        at++;
    }
    note("  cmsg[IPPROTO_IP %s len=%zu data=%s]",
         c->cmsg_type == IP_RECVOPTS ? "IP_RECVOPTS" : c->cmsg_type == IP_RETOPTS ? "IP_RETOPTS" : "?",
         (size_t)c->cmsg_len, hex);
}

#endif
