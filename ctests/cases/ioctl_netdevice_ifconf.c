/* ioctl_netdevice_ifconf: SIOCGIFCONF on an AF_INET datagram socket. The NULL-buffer
 * length question (any ifc_len), a buffer for every record, short buffers (one record, one
 * and a half, less than one, zero, negative), a buffer whose second record faults (the
 * first stays written), a bad buffer, a bad or NULL ifconf, an ifconf in read-only memory.
 * Each record is printed whole (name and the 24-byte union); unused buffer bytes start as
 * 0xAA and are printed too. */
#include "trace.h"

#include <net/if.h>
#include <sys/mman.h>

#define RECORD ((int)sizeof(struct ifreq))

static void print_record(const unsigned char *bytes)
{
    printf("  name=\"");
    for (int i = 0; i < IFNAMSIZ && bytes[i]; i++)
        printf(bytes[i] >= 0x20 && bytes[i] < 0x7f ? "%c" : "\\x%02x", bytes[i]);
    printf("\" data:");
    for (int i = IFNAMSIZ; i < RECORD; i++)
        printf("%s%02x", i % 4 == 0 ? " " : "", bytes[i]);
    printf("\n");
}

/* One SIOCGIFCONF with ifc_len = len and ifc_buf = buf (a 0xAA-filled buffer of
 * `capacity` bytes when buf is NULL and capacity > 0). Prints the answer, ifc_len, and
 * the records in the buffer (up to what ifc_len says, plus one more slot when it fits). */
static void ifconf(int fd, int len, void *buf, int capacity, const char *label)
{
    unsigned char storage[16 * sizeof(struct ifreq)];
    if (capacity > (int)sizeof storage)
        capacity = sizeof storage;
    if (!buf && capacity > 0) {
        memset(storage, 0xaa, sizeof storage);
        buf = storage;
    }
    struct ifconf ifc = { .ifc_len = len, .ifc_buf = buf };
    errno = 0;
    int ret = ioctl(fd, SIOCGIFCONF, &ifc);
    int err = errno;
    printf("ioctl(fd%d, SIOCGIFCONF, len=%d, %s) = %d%s%s ifc_len=%d\n", fd, len, label, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(err) : "", ifc.ifc_len);
    if (buf == storage) {
        int shown = ret == 0 ? ifc.ifc_len / RECORD : 0;
        if ((shown + 1) * RECORD <= capacity)
            shown++;
        for (int i = 0; i < shown; i++)
            print_record(storage + i * RECORD);
    }
}

int main(void)
{
    trace_start("ioctl_netdevice_ifconf");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("the length question: a NULL buffer ignores ifc_len");
    ifconf(fd, 0, NULL, 0, "NULL");
    ifconf(fd, 1000, NULL, 0, "NULL");
    ifconf(fd, -5, NULL, 0, "NULL");

    note("buffers of every size around the records");
    int lens[] = { 16 * RECORD, 2 * RECORD, RECORD + RECORD / 2, RECORD, RECORD - 1, 1, 0, -1 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        ifconf(fd, lens[i], NULL, 16 * RECORD, "buffer");

    note("a buffer whose second record lies on a PROT_NONE page");
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED)
        return 1;
    mprotect(pages + page, page, PROT_NONE);
    unsigned char *last = pages + page - RECORD;
    memset(last, 0xaa, RECORD);
    ifconf(fd, 16 * RECORD, last, 0, "buffer ending at a PROT_NONE page");
    print_record(last);
    memset(last, 0xaa, RECORD);
    ifconf(fd, RECORD, last, 0, "one record before a PROT_NONE page");
    print_record(last);

    note("bad buffer, bad and NULL ifconf, ifconf in read-only memory");
    ifconf(fd, 16 * RECORD, BADPTR, 0, "BADPTR");
    ifconf(fd, 0, BADPTR, 0, "BADPTR");
    errno = 0;
    int ret = ioctl(fd, SIOCGIFCONF, BADPTR);
    printf("ioctl(fd%d, SIOCGIFCONF, BADPTR) = %d %s\n", fd, ret,
           trace_errno_name(ret < 0 ? errno : 0));
    errno = 0;
    ret = ioctl(fd, SIOCGIFCONF, NULL);
    printf("ioctl(fd%d, SIOCGIFCONF, NULL) = %d %s\n", fd, ret,
           trace_errno_name(ret < 0 ? errno : 0));
    /* The records are written, then ifc_len cannot be: EFAULT. */
    unsigned char records[2 * sizeof(struct ifreq)];
    memset(records, 0xaa, sizeof records);
    struct ifconf *readonly = (struct ifconf *)pages;
    readonly->ifc_len = sizeof records;
    readonly->ifc_buf = (char *)records;
    mprotect(pages, page, PROT_READ);
    errno = 0;
    ret = ioctl(fd, SIOCGIFCONF, readonly);
    printf("ioctl(fd%d, SIOCGIFCONF, read-only ifconf) = %d %s ifc_len=%d\n", fd, ret,
           trace_errno_name(ret < 0 ? errno : 0), readonly->ifc_len);
    print_record(records);
    print_record(records + RECORD);
    /* Also with the NULL-buffer question. */
    mprotect(pages, page, PROT_READ | PROT_WRITE);
    readonly->ifc_buf = NULL;
    mprotect(pages, page, PROT_READ);
    errno = 0;
    ret = ioctl(fd, SIOCGIFCONF, readonly);
    printf("ioctl(fd%d, SIOCGIFCONF, read-only ifconf, NULL buffer) = %d %s ifc_len=%d\n", fd,
           ret, trace_errno_name(ret < 0 ? errno : 0), readonly->ifc_len);
    munmap(pages, 2 * page);

    tr_close(fd);
    return trace_end();
}
