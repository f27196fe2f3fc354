/* control_build.h: building a sendmsg control buffer message by message, in a case.
 *
 *     struct control c = { .len = 0 };
 *     control_add_int(&c, IPPROTO_IP, IP_TTL, 3);
 *     ... .msg_control = c.u.bytes, .msg_controllen = c.len ...
 *
 * Each message takes CMSG_SPACE(len) bytes; control_add_raw can write a cmsg_len that lies
 * (for the malformed cases). The buffer holds 256 bytes: a case adds no more than that. */
#ifndef IPSHIM_CTESTS_CONTROL_BUILD_H
#define IPSHIM_CTESTS_CONTROL_BUILD_H

#include <string.h>
#include <sys/socket.h>

struct control {
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } u;
    size_t len;
};

/* Appends a message whose cmsg_len is CMSG_LEN(len) + len_delta. */
static inline struct cmsghdr *control_add_raw(struct control *c, int level, int type,
                                              const void *data, size_t len, long len_delta)
{
    struct cmsghdr *h = (struct cmsghdr *)(c->u.bytes + c->len);
    h->cmsg_level = level;
    h->cmsg_type = type;
    h->cmsg_len = (size_t)((long)CMSG_LEN(len) + len_delta);
    if (len)
        memcpy(CMSG_DATA(h), data, len);
    c->len += CMSG_SPACE(len);
    return h;
}

static inline void control_add(struct control *c, int level, int type, const void *data,
                               size_t len)
{
    control_add_raw(c, level, type, data, len, 0);
}

static inline void control_add_int(struct control *c, int level, int type, int value)
{
    control_add(c, level, type, &value, sizeof value);
}

#endif
