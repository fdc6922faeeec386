/* SPDX-License-Identifier: MIT */
/*
 * systemd's readiness protocol (sd_notify(3)), without libsystemd: one
 * datagram such as "READY=1" to the AF_UNIX socket named in NOTIFY_SOCKET
 * (a leading '@' names an abstract socket).
 */
#ifndef WGUD_NOTIFY_H
#define WGUD_NOTIFY_H

/* 0 when sent or when NOTIFY_SOCKET is not set; -errno otherwise. */
int notify_send(const char *state);

#endif
