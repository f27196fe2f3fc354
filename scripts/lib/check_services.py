#!/usr/bin/env python3
"""Waits until the services of scripts/netns answer, checking from inside a namespace, natively.

usage: check_services.py [--deadline SECONDS] ADDRESS...
Exit 0 once every service on every address has answered; 1 (with the failures) at the deadline.

For each address: UDP echo on 7 returns the datagram, UDP discard on 9 takes a datagram without
an ICMP error, TCP echo on 7 returns the bytes, TCP discard on 9 accepts a connection, HTTP on 80
serves the test file, and port 1 is closed for UDP and TCP (ECONNREFUSED).

A check that passed is not repeated: the peer's ICMP errors are rate limited (icmp_ratelimit,
a burst of 6 then one a second per destination), so polling port 1 would soon see silence.
"""
import argparse
import errno
import http.client
import os
import socket
import sys
import time

TIMEOUT_SECONDS = 1.0


def udp_echo(address):
    payload = os.urandom(32)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT_SECONDS)
        s.connect((address, 7))
        s.send(payload)
        if s.recv(2048) != payload:
            raise RuntimeError("UDP echo returned different bytes")


def udp_discard(address):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.connect((address, 9))
        s.send(b"discard me")
        try:
            s.recv(2048)
            raise RuntimeError("UDP discard answered")
        except socket.timeout:
            pass  # silence is the expected answer; ECONNREFUSED would raise instead


def udp_closed(address):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT_SECONDS)
        s.connect((address, 1))
        s.send(b"x")
        try:
            s.recv(2048)
        except ConnectionRefusedError:
            return
        raise RuntimeError("UDP port 1 answered")


def tcp_echo(address):
    payload = os.urandom(3000)
    with socket.create_connection((address, 7), timeout=TIMEOUT_SECONDS) as s:
        s.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        if received != payload:
            raise RuntimeError("TCP echo returned different bytes")


def tcp_discard(address):
    with socket.create_connection((address, 9), timeout=TIMEOUT_SECONDS) as s:
        s.sendall(b"discard me")


def tcp_closed(address):
    try:
        socket.create_connection((address, 1), timeout=TIMEOUT_SECONDS).close()
    except ConnectionRefusedError:
        return
    except OSError as error:
        if error.errno == errno.ECONNREFUSED:
            return
        raise
    raise RuntimeError("TCP port 1 accepted")


def http_get(address):
    connection = http.client.HTTPConnection(address, 80, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/test-1M.bin")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200 or len(body) != 1 << 20:
        raise RuntimeError(f"HTTP answered {response.status} with {len(body)} bytes")


CHECKS = [udp_echo, udp_discard, udp_closed, tcp_echo, tcp_discard, tcp_closed, http_get]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deadline", type=float, default=15.0, help="seconds to keep retrying")
    parser.add_argument("addresses", nargs="+")
    args = parser.parse_args()
    deadline = time.monotonic() + args.deadline
    pending = [(address, check) for address in args.addresses for check in CHECKS]
    failures = {}
    while pending:
        still_failing = []
        for address, check in pending:
            try:
                check(address)
            except Exception as error:  # keep every failure to report, retry it later
                failures[(address, check.__name__)] = error
                still_failing.append((address, check))
            else:
                failures.pop((address, check.__name__), None)
        pending = still_failing
        if pending:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    for (address, name), error in failures.items():
        print(f"{address}: {name}: {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
