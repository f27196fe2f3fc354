#!/usr/bin/env python3
"""TCP services of a peer or remote namespace: echo (RFC 862) on 7, discard (RFC 863) on 9 and
HTTP on 80 serving a generated directory. UDP echo and discard are the C program bench/udp_echo.c.

Started by scripts/netns up, one process per namespace, stopped by scripts/netns down.
Port 1 is deliberately left closed.
"""
import argparse
import http.server
import os
import socketserver
import threading

# Content for the HTTP service: a small page and a 1 MiB file whose bytes are a function of
# their offset, so a client can verify what it downloaded without a copy of the file.
TEST_FILE_NAME = "test-1M.bin"
TEST_FILE_SIZE = 1 << 20


def test_file_bytes():
    return bytes((offset * 7 + offset // 251) & 0xFF for offset in range(TEST_FILE_SIZE))


def prepare_www(directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "index.html"), "w") as page:
        page.write("<html><body>ipshim test peer</body></html>\n")
    path = os.path.join(directory, TEST_FILE_NAME)
    if not os.path.exists(path) or os.path.getsize(path) != TEST_FILE_SIZE:
        # Several namespaces start at once and share the directory: write under a private name,
        # then rename, so no server ever serves a partial file.
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as data:
            data.write(test_file_bytes())
        os.rename(temporary, path)


class ReusableServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class DiscardHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while self.request.recv(65536):
            pass


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--www", required=True, help="directory served over HTTP")
    args = parser.parse_args()
    prepare_www(args.www)

    class StaticHandler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *handler_args, **handler_kwargs):
            super().__init__(*handler_args, directory=args.www, **handler_kwargs)

        def log_message(self, *_):
            pass

    servers = [
        ReusableServer(("0.0.0.0", 7), EchoHandler),
        ReusableServer(("0.0.0.0", 9), DiscardHandler),
        QuietHTTPServer(("0.0.0.0", 80), StaticHandler),
    ]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
