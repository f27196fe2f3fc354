/* tool_tcp: unmodified TCP tools, natively and under the shim, against the peer's kernel:
 * curl fetching a 1 MiB file from the peer's HTTP server (status, size, md5), `nc -l`
 * receiving 2 MB from a kernel client in the peer (byte count, md5), and iperf3 as a
 * client of a kernel iperf3 server in both directions (-n: a fixed byte count, so the
 * totals it reports are exact; the rates are not printed). See tool_run.h. */
#include "tool_run.h"

static const char *nc_client_source =
    "import socket, sys, time\n"
    "payload = bytes((i * 7 + i // 251) & 0xff for i in range(2000000))\n"
    "print('ready', flush=True)\n"
    "for attempt in range(200):\n"
    "    try:\n"
    "        s = socket.create_connection((sys.argv[1], 5650), timeout=5)\n"
    "        break\n"
    "    except ConnectionRefusedError:\n"
    "        time.sleep(0.02)\n"
    "s.sendall(payload)\n"
    "s.close()\n"
    "print('sent', len(payload))\n";

static const char *iperf_json =
    "import json, sys\n"
    "end = json.load(sys.stdin)['end']\n"
    "received = end['sum_received']['bytes']\n"
    "# Without -R the server's count stops when the client has sent its bytes (timing):\n"
    "# only whether data arrived is printed. With -R the client receives all of them.\n"
    "# The sender may overshoot -n (it checks between writes; seen natively: 16842376), so\n"
    "# both counts are compared with the 16 MiB asked for.\n"
    "sent = end['sum_sent']['bytes']\n"
    "if sys.argv[1:] == ['-R']:\n"
    "    print('sent at least 16 MiB', sent >= 16 << 20, 'received at least 16 MiB', received >= 16 << 20)\n"
    "else:\n"
    "    print('sent at least 16 MiB', sent >= 16 << 20, 'received some', received > 0)\n";

int main(void)
{
    trace_start("tool_tcp");

    note("curl: a 1 MiB file over HTTP from the peer");
    tool_run("curl -s -w '%{http_code} %{size_download}' http://198.18.0.1/test-1M.bin",
             (char *const[]){ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}\\n",
                              "http://" PEER_ADDR "/test-1M.bin", NULL },
             8000);
    tool_run("sh -c 'curl -s http://198.18.0.1/test-1M.bin | md5sum'",
             (char *const[]){ "sh", "-c", "curl -s http://" PEER_ADDR "/test-1M.bin | md5sum", NULL },
             8000);

    note("nc -l: a kernel client in the peer sends 2 MB");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 client.py", nc_client_source,
                      (const char *const[]){ HOST_ADDR, NULL });
    peer_wait_ready(&job, 5000);
    tool_run("sh -c 'nc -l -p 5650 | tee >(wc -c) | md5sum'",
             (char *const[]){ "bash", "-c", "nc -l -p 5650 < /dev/null | tee >(wc -c >&2) | md5sum", NULL },
             8000);
    peer_finish(&job, 5000);

    for (int reverse = 0; reverse < 2; reverse++) {
        note("iperf3 client%s against a kernel server in the peer", reverse ? " -R" : "");
        char *const server[] = { "sh", "-c",
                                 "iperf3 -s -1 -p 5651 >/dev/null 2>&1 & sleep 0.5; echo ready; wait",
                                 NULL };
        peer_start(&job, PEER_NS, "iperf3 -s -1 -p 5651", server);
        peer_wait_ready(&job, 5000);
        char command[2048];
        snprintf(command, sizeof command,
                 "iperf3 -c " PEER_ADDR " -p 5651 -n 16M %s --json | python3 -c \"%s\" %s",
                 reverse ? "-R" : "", iperf_json, reverse ? "-R" : "");
        tool_run(reverse ? "iperf3 -c 198.18.0.1 -n 16M -R --json | totals"
                         : "iperf3 -c 198.18.0.1 -n 16M --json | totals",
                 (char *const[]){ "sh", "-c", command, NULL }, 8000);
        peer_finish(&job, 5000);
    }
    return trace_end();
}
