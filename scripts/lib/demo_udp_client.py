#!/usr/bin/env python3
"""The demo's UDP client: plain Python sockets, nothing shim-specific.

Exchanges datagrams with the UDP echo of the peer (same link) and of the remote (through the
peer, the default gateway), then sends to the peer's closed port 1 to show the ICMP port
unreachable coming back as ECONNREFUSED on a connected socket.
"""
import socket

PEER = "198.18.0.1"
REMOTE = "198.19.0.2"


def echo(address, count):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        for number in range(count):
            message = f"datagram {number} from python to {address}".encode()
            s.sendto(message, (address, 7))
            data, source = s.recvfrom(2048)
            print(f"  local {s.getsockname()} sent {len(message)} bytes, "
                  f"echo from {source}: {data.decode()!r}")
            if data != message:
                raise SystemExit("echo differs from what was sent")


def closed_port(address):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.connect((address, 1))
        s.send(b"anyone there?")
        try:
            s.recv(2048)
        except ConnectionRefusedError as error:
            print(f"  {address} port 1: {error}")
            return
        raise SystemExit("port 1 answered")


echo(PEER, 3)
echo(REMOTE, 2)
closed_port(PEER)
