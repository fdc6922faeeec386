#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Traffic helpers for the namespace tests (standard library only).
#
#   serve LOG --addr A [--addr B ...] [--tcp PORT] [--udp PORT] [--dns PORT] [--sink PORT]
#         [--dns-answer ADDR]   (every A query gets ADDR; names "nx-..." do not exist)
#       TCP greeter, UDP echo, a DNS-ish responder and a TCP sink (reads
#       whatever comes, logs "sink PEER LOCAL BYTES" as it grows) on every
#       ADDR x PORT.
#       Each exchange appends "KIND PEER_ADDR LOCAL_ADDR:PORT" to LOG, so a
#       test can tell whether a probe came through the tunnel (masqueraded
#       source) or directly. "ready" is written once every socket is bound.
#   tcp ADDR PORT [--dev DEV] [--timeout S]     connect, read the greeting
#   stream ADDR PORT SECONDS [--interval S]
#       one TCP connection sending a numbered line every interval for
#       SECONDS, whatever happens to the path meanwhile; prints how many
#       lines went into the socket (a flow older than the firewall)
#   udp ADDR PORT [--dev DEV] [--timeout S]     one datagram, wait for the echo
#   dns ADDR [--port P] [--dev DEV] [--timeout S]   one A query, wait for the answer
#   batch [--timeout S]
#       many probes at once, one per stdin line "NAME tcp|udp|dns ADDR PORT
#       [DEV]"; prints "NAME RC" per probe (one python start for a whole
#       round: the test machines are small)
#   unix PATH (--hex HEX | --fill BYTE COUNT) [--timeout S]
#       send raw bytes to a stream unix socket, print what comes back
#   hold PATH COUNT SECONDS
#       open COUNT silent connections to a stream unix socket, print how many
#       connected, keep them SECONDS
#   stall SECONDS --conn TAG PATH PAYLOAD COUNT [--conn ...]
#       COUNT connections per --conn that send PAYLOAD (backslash escapes
#       such as \n are decoded) and never read; "ready" once all are sent,
#       then, without reading, "closed TAG I AFTER_S" for each the server
#       hangs up within SECONDS, then "open TAG N" for what is left
#   slowread PATH PAYLOAD CHUNK INTERVAL
#       send PAYLOAD, then read the reply CHUNK bytes at a time, one read per
#       INTERVAL s, to EOF or to a UAPI reply's "errno=N" end; prints
#       "bytes N seconds S peers P end LAST_LINE"
#   peers COUNT [--ips N]
#       a wg conf fragment of COUNT [Peer] sections with random public keys
#       and N (1) /32s each in 10.0.0.0/8 (for wg addconf)
#   pcap FILE --wg ADDR:PORT [--wg ADDR:PORT ...] [--show N] [--src-mac MAC] [--marker TEXT]
#       classify a capture (Ethernet), only frames from MAC if given (tcpdump's
#       -Q in misses most of what a veth receives): prints "wg=N plain=M ignored=K" and
#       the first N plain packets. WireGuard = UDP to one of the given
#       endpoints carrying a WireGuard message header; ignored = ARP, IPv6
#       neighbour discovery (ICMPv6 133-136) and MLD (130-132, 143), which
#       the kernel sends by itself; plain = everything else. With --marker,
#       also "marked=N": the plain frames that carry TEXT (a stream's lines).
#
# Probes exit 0 when answered, 1 when not (timeout, refused, unreachable).

import argparse
import base64
import os
import select
import selectors
import socket
import struct
import sys
import threading
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def bind_dev(sock, dev):
    if dev:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode() + b"\0")


def log_line(path, text):
    with open(path, "a", encoding="ascii") as f:
        f.write(text + "\n")


# ---------------------------------------------------------------- DNS bits

def dns_query(qid, name="probe.wgud.test"):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def dns_answer(query, addr="192.0.2.250"):
    """Every A query gets ADDR, any other type no record; names starting "nx-" do not exist."""
    if len(query) < 12:
        return None
    qid, _flags, qd = struct.unpack("!HHH", query[:6])
    i = 12
    while i < len(query) and query[i] != 0:
        i += query[i] + 1
    question = query[12:i + 5]
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0] if i + 3 <= len(query) else 0
    if query[12:13] and query[13:16] == b"nx-":
        return struct.pack("!HHHHHH", qid, 0x8183, qd, 0, 0, 0) + question
    if qtype != 1:
        return struct.pack("!HHHHHH", qid, 0x8180, qd, 0, 0, 0) + question
    head = struct.pack("!HHHHHH", qid, 0x8180, qd, 1, 0, 0)
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(addr)
    return head + question + rr


# ------------------------------------------------------------------ server

def serve(args):
    sel = selectors.DefaultSelector()
    for addr in args.addr:
        fam = family_of(addr)
        for port in args.tcp:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(64)
            sel.register(s, selectors.EVENT_READ, ("tcp", addr, port))
        for kind, ports in (("udp", args.udp), ("dns", args.dns)):
            for port in ports:
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.bind((addr, port))
                sel.register(s, selectors.EVENT_READ, (kind, addr, port))
        for port in args.sink:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(64)
            sel.register(s, selectors.EVENT_READ, ("sink", addr, port))
    log_line(args.log, "ready")
    while True:
        for key, _ in sel.select():
            kind, addr, port = key.data
            s = key.fileobj
            local = "%s:%d" % (addr, port)
            try:
                if kind == "sink":
                    c, peer = s.accept()
                    threading.Thread(target=sink, args=(args.log, c, peer[0], local), daemon=True).start()
                    continue
                if kind == "tcp":
                    c, peer = s.accept()
                    log_line(args.log, "tcp %s %s" % (peer[0], local))
                    c.settimeout(1)
                    try:
                        c.sendall(b"hello %s\n" % peer[0].encode())
                    finally:
                        c.close()
                    continue
                data, peer = s.recvfrom(65535)
                log_line(args.log, "%s %s %s" % (kind, peer[0], local))
                if kind == "udp":
                    s.sendto(b"echo " + data[:64], peer)
                else:
                    ans = dns_answer(data, args.dns_answer)
                    if ans:
                        s.sendto(ans, peer)
            except OSError as e:
                log_line(args.log, "error %s %s: %s" % (kind, local, e))


def sink(log, c, peer, local):
    total = 0
    log_line(log, "sink %s %s 0" % (peer, local))
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            total += len(data)
            log_line(log, "sink %s %s %d" % (peer, local, total))
    except OSError:
        pass
    finally:
        c.close()


# ------------------------------------------------------------------ probes

def tcp_probe(addr, port, dev, timeout):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    try:
        bind_dev(s, dev)
        s.settimeout(timeout)
        s.connect((addr, port))
        data = s.recv(256)
    except OSError as e:
        return 1, "tcp %s:%d: %s" % (addr, port, e)
    finally:
        s.close()
    return (0 if data.startswith(b"hello") else 1), data.decode(errors="replace").strip()


def udp_probe(addr, port, dev, timeout):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    try:
        bind_dev(s, dev)
        s.settimeout(timeout)
        s.connect((addr, port))
        s.send(b"probe")
        data = s.recv(256)
    except OSError as e:
        return 1, "udp %s:%d: %s" % (addr, port, e)
    finally:
        s.close()
    return (0 if data.startswith(b"echo") else 1), data.decode(errors="replace")


def dns_probe(addr, port, dev, timeout):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    qid = int.from_bytes(os.urandom(2), "big")
    deadline = time.monotonic() + timeout
    try:
        bind_dev(s, dev)
        s.connect((addr, port))
        s.send(dns_query(qid))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            s.settimeout(left)
            data = s.recv(512)
            if len(data) >= 4 and struct.unpack("!H", data[:2])[0] == qid and data[2] & 0x80:
                return 0, "dns answer from %s" % addr
    except OSError as e:
        return 1, "dns %s:%d: %s" % (addr, port, e)
    finally:
        s.close()


PROBES = {"tcp": tcp_probe, "udp": udp_probe, "dns": dns_probe}


def stream(args):
    s = socket.socket(family_of(args.addr), socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((args.addr, args.port))
    except OSError as e:
        print("stream %s:%d: %s" % (args.addr, args.port, e), flush=True)
        return 1
    print("connected", flush=True)
    s.setblocking(False)
    sent, end = 0, time.monotonic() + args.seconds
    while time.monotonic() < end:
        try:
            s.send(b"payload %06d wgud-old-flow\n" % sent)
            sent += 1
        except BlockingIOError:
            pass
        except OSError:
            break
        time.sleep(args.interval)
    print("sent %d" % sent, flush=True)
    s.close()
    return 0


def probe_one(args):
    rc, text = PROBES[args.cmd](args.addr, args.port, args.dev, args.timeout)
    print(text)
    return rc


def probe_batch(args):
    jobs = []
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        name, kind, addr, port = w[0], w[1], w[2], int(w[3])
        dev = w[4] if len(w) > 4 else None
        jobs.append((name, kind, addr, port, dev))
    results = {}

    def run(job):
        name, kind, addr, port, dev = job
        results[name] = PROBES[kind](addr, port, dev, args.timeout)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, *_ in jobs:
        rc, text = results[name]
        print("%s %d %s" % (name, rc, text.replace("\n", " ")))
    return 0


def probe_unix(args):
    if args.hex is not None:
        payload = bytes.fromhex(args.hex)
    else:
        payload = bytes([args.fill[0]]) * args.fill[1]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    try:
        s.connect(args.path)
    except OSError as e:
        print("connect %s: %s" % (args.path, e))
        return 2
    reply = b""
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        while len(reply) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    except OSError as e:
        print("(%s)" % e)
    finally:
        s.close()
    print(reply.decode(errors="replace").strip())
    return 0


def hold(args):
    socks = []
    for _ in range(args.count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(args.path)
            socks.append(s)
        except OSError:
            s.close()
    print("held %d" % len(socks), flush=True)
    time.sleep(args.seconds)
    for s in socks:
        s.close()
    return 0


def stall(args):
    conns = []
    for tag, path, payload, count in args.conn:
        data = payload.encode().decode("unicode_escape").encode("latin-1")
        for i in range(int(count)):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            if data:
                s.sendall(data)
            conns.append((tag, i, s))
    start = time.monotonic()
    print("ready %d" % len(conns), flush=True)
    # poll() sees the hang-up (POLLHUP) without reading anything.
    poller = select.poll()
    by_fd = {}
    for tag, i, s in conns:
        poller.register(s.fileno(), select.POLLHUP | select.POLLERR)
        by_fd[s.fileno()] = (tag, i)
    left = dict(by_fd)
    while left:
        remaining = args.seconds - (time.monotonic() - start)
        if remaining <= 0:
            break
        for fd, ev in poller.poll(remaining * 1000):
            if fd in left and ev & (select.POLLHUP | select.POLLERR):
                tag, i = left.pop(fd)
                poller.unregister(fd)
                print("closed %s %d %.2f" % (tag, i, time.monotonic() - start), flush=True)
    still = {}
    for tag, _ in left.values():
        still[tag] = still.get(tag, 0) + 1
    for tag, *_ in args.conn:
        print("open %s %d" % (tag, still.pop(tag, 0)))
    for _, _, s in conns:
        s.close()
    return 0


def slowread(args):
    data = args.payload.encode().decode("unicode_escape").encode("latin-1")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(args.path)
    s.sendall(data)
    start = time.monotonic()
    reply = bytearray()
    while True:
        try:
            chunk = s.recv(args.chunk)
        except ConnectionResetError:
            break
        if not chunk:
            break
        reply += chunk
        if reply.endswith(b"\n\n") and reply.rfind(b"errno=") > len(reply) - 30:
            break
        time.sleep(args.interval)
    s.close()
    lines = reply.decode(errors="replace").strip().split("\n")
    peers = sum(1 for line in lines if line.startswith("public_key="))
    print("bytes %d seconds %.2f peers %d end %s" % (len(reply), time.monotonic() - start, peers, lines[-1]))
    return 0


def peers(args):
    out = []
    for i in range(args.count):
        key = base64.b64encode(os.urandom(32)).decode()
        ips = []
        for j in range(args.ips):
            n = i * args.ips + j + 1
            ips.append("10.%d.%d.%d/32" % ((n >> 16) & 255, (n >> 8) & 255, n & 255))
        out.append("[Peer]\nPublicKey = %s\nAllowedIPs = %s\n" % (key, ", ".join(ips)))
    sys.stdout.write("\n".join(out))
    return 0


# -------------------------------------------------------------------- pcap

WG_TYPES = {1: 148, 2: 92, 3: 64, 4: 32}


def is_wg(payload):
    if len(payload) < 4 or payload[0] not in WG_TYPES or payload[1:4] != b"\0\0\0":
        return False
    if payload[0] == 4:
        return len(payload) >= 32 and len(payload) % 16 == 0
    return len(payload) == WG_TYPES[payload[0]]


def l4_of_ipv6(pkt):
    """(next header, offset of the L4 header) after IPv6 extension headers."""
    nh, off = pkt[6], 40
    while nh in (0, 43, 60) and off + 2 <= len(pkt):
        nh, off = pkt[off], off + (pkt[off + 1] + 1) * 8
    if nh == 44 and off + 8 <= len(pkt):   # fragment
        nh, off = pkt[off], off + 8
    return nh, off


def describe(fam, src, dst, proto, l4):
    names = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6"}
    text = "%s %s > %s %s" % (fam, src, dst, names.get(proto, "proto%d" % proto))
    if proto in (6, 17) and len(l4) >= 4:
        sp, dp = struct.unpack("!HH", l4[:4])
        text += " %d > %d" % (sp, dp)
    elif proto in (1, 58) and l4:
        text += " type %d" % l4[0]
    return text


def classify(frame, wg_eps):
    if len(frame) < 14:
        return "plain", "short frame"
    etype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if etype == 0x8100 and len(frame) >= 18:
        etype, off = struct.unpack("!H", frame[16:18])[0], 18
    pkt = frame[off:]
    if etype == 0x0806:
        return "ignored", "arp"
    if etype == 0x0800 and len(pkt) >= 20:
        ihl = (pkt[0] & 15) * 4
        proto = pkt[9]
        src = socket.inet_ntop(socket.AF_INET, pkt[12:16])
        dst = socket.inet_ntop(socket.AF_INET, pkt[16:20])
        l4 = pkt[ihl:]
        fam = "ip"
    elif etype == 0x86DD and len(pkt) >= 40:
        proto, l4off = l4_of_ipv6(pkt)
        src = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
        l4 = pkt[l4off:]
        fam = "ip6"
        if proto == 58 and l4 and l4[0] in (130, 131, 132, 133, 134, 135, 136, 143):
            return "ignored", "icmp6 type %d" % l4[0]
    else:
        return "plain", "ethertype 0x%04x" % etype
    if proto == 17 and len(l4) >= 8:
        dport = struct.unpack("!H", l4[2:4])[0]
        if (dst, dport) in wg_eps and is_wg(l4[8:]):
            return "wg", None
    return "plain", describe(fam, src, dst, proto, l4)


def norm_ep(text):
    host, port = text.rsplit(":", 1)
    host = host.strip("[]")
    fam = family_of(host)
    return socket.inet_ntop(fam, socket.inet_pton(fam, host)), int(port)


def pcap(args):
    wg_eps = {norm_ep(e) for e in args.wg}
    src_mac = bytes.fromhex(args.src_mac.replace(":", "")) if args.src_mac else None
    counts = {"wg": 0, "plain": 0, "ignored": 0, "marked": 0}
    marker = args.marker.encode() if args.marker else None
    shown = []
    with open(args.file, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            print("wg=0 plain=0 ignored=0")
            return 0
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        if linktype != 1:
            print("unsupported link type %d" % linktype, file=sys.stderr)
            return 2
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            caplen = struct.unpack(endian + "IIII", rec)[2]
            frame = f.read(caplen)
            if src_mac and frame[6:12] != src_mac:
                continue
            kind, what = classify(frame, wg_eps)
            counts[kind] += 1
            if kind == "plain" and marker and marker in frame:
                counts["marked"] += 1
            if kind == "plain" and len(shown) < args.show:
                shown.append(what)
    print("wg=%d plain=%d ignored=%d" % (counts["wg"], counts["plain"], counts["ignored"]) +
          (" marked=%d" % counts["marked"] if marker else ""))
    for line in shown:
        print("  plain: " + line)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("log")
    p.add_argument("--addr", action="append", required=True)
    for k in ("tcp", "udp", "dns", "sink"):
        p.add_argument("--" + k, action="append", type=int, default=[])
    p.add_argument("--dns-answer", default="192.0.2.250")
    p = sub.add_parser("batch")
    p.add_argument("--timeout", type=float, default=2)
    for k in ("tcp", "udp"):
        p = sub.add_parser(k)
        p.add_argument("addr")
        p.add_argument("port", type=int)
        p.add_argument("--dev")
        p.add_argument("--timeout", type=float, default=2)
    p = sub.add_parser("stream")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("--interval", type=float, default=0.2)
    p = sub.add_parser("dns")
    p.add_argument("addr")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--dev")
    p.add_argument("--timeout", type=float, default=2)
    p = sub.add_parser("unix")
    p.add_argument("path")
    p.add_argument("--hex")
    p.add_argument("--fill", nargs=2, type=int)
    p.add_argument("--timeout", type=float, default=3)
    p = sub.add_parser("hold")
    p.add_argument("path")
    p.add_argument("count", type=int)
    p.add_argument("seconds", type=float)
    p = sub.add_parser("stall")
    p.add_argument("seconds", type=float)
    p.add_argument("--conn", nargs=4, action="append", required=True, metavar=("TAG", "PATH", "PAYLOAD", "COUNT"))
    p = sub.add_parser("slowread")
    p.add_argument("path")
    p.add_argument("payload")
    p.add_argument("chunk", type=int)
    p.add_argument("interval", type=float)
    p = sub.add_parser("peers")
    p.add_argument("count", type=int)
    p.add_argument("--ips", type=int, default=1)
    p = sub.add_parser("pcap")
    p.add_argument("file")
    p.add_argument("--wg", action="append", default=[])
    p.add_argument("--show", type=int, default=5)
    p.add_argument("--src-mac")
    p.add_argument("--marker")
    args = ap.parse_args()
    if args.cmd == "unix" and (args.hex is None) == (args.fill is None):
        ap.error("unix: give exactly one of --hex, --fill")
    fn = {"serve": serve, "tcp": probe_one, "udp": probe_one, "dns": probe_one,
          "batch": probe_batch, "unix": probe_unix, "hold": hold, "pcap": pcap, "stream": stream,
          "stall": stall, "slowread": slowread, "peers": peers}[args.cmd]
    return fn(args)


if __name__ == "__main__":
    try:
        sys.exit(main() or 0)
    except BrokenPipeError:     # a reader like grep -q went away
        sys.exit(0)
