#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The privileged helper of test_tun_fd: opens a TUN device (IFF_TUN |
# IFF_NO_PI, with IFF_VNET_HDR unless --no-vnet), gives it addresses and
# sets it up with ip(8), then runs COMMAND with the descriptor inherited as
# fd 3 (so `wgud ... --tun-fd 3`). Standard library only.
#
#   tun_helper.py [--no-vnet] [--tap] IFACE ADDR/LEN -- COMMAND...
import fcntl
import os
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0001, 0x0002, 0x1000, 0x4000


def main():
    args = sys.argv[1:]
    vnet = "--no-vnet" not in args
    tap = "--tap" in args
    args = [a for a in args if a not in ("--no-vnet", "--tap")]
    sep = args.index("--")
    name, addr, cmd = args[0], args[1], args[sep + 1:]
    fd = os.open("/dev/net/tun", os.O_RDWR)
    flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI | (IFF_VNET_HDR if vnet else 0)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
    subprocess.run(["ip", "addr", "add", addr, "dev", name], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    os.set_inheritable(3, True)
    os.execvp(cmd[0], cmd)


main()
