// SPDX-License-Identifier: MIT
#include "tun.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Linux 6.2 has them; Debian 12's headers are older, the running kernel may not be. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

bool tun_ifname_valid(const char *name)
{
	size_t i, n = strnlen(name, IFNAMSIZ);

	if (!n || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_=+.-", name[i]))
			return false;
	return true;
}

int tun_open(struct tun_device *dev, const char *name, bool want_vnet_hdr)
{
	struct ifreq ifr;
	int fd, ret;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (want_vnet_hdr ? IFF_VNET_HDR : 0);
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		goto err_fd;
	}
	dev->fd = fd;
	dev->vnet_hdr = want_vnet_hdr;
	memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
	dev->name[IFNAMSIZ - 1] = '\0';
	return 0;

err_fd:
	close(fd);
	return ret;
}

/* Whether the device on fd is in this thread's network namespace (true when the kernel will not say). */
static bool in_this_netns(int fd)
{
	struct stat a, b;
	int ns = ioctl(fd, TUNGETDEVNETNS);
	bool same = true;

	if (ns < 0)
		return true;
	if (!fstat(ns, &a) && !stat("/proc/thread-self/ns/net", &b))
		same = a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	close(ns);
	return same;
}

int tun_adopt(struct tun_device *dev, int fd, char *err, size_t err_len)
{
	struct ifreq ifr;
	int fl;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "descriptor %d is not an attached TUN device: %s", fd,
			 ret == -EBADFD ? "no device attached (TUNSETIFF not done, or the device was deleted)"
					: strerror(-ret));
		return ret;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TUN || !(ifr.ifr_flags & IFF_NO_PI)) {
		snprintf(err, err_len, "%.*s on descriptor %d is %s: wgud needs IFF_TUN with IFF_NO_PI", IFNAMSIZ, ifr.ifr_name,
			 fd, (ifr.ifr_flags & IFF_TAP) ? "a TAP device" : "without IFF_NO_PI");
		return -EINVAL;
	}
	/* a device in another namespace would be looked up, and configured, by its name here (CAP_NET_ADMIN only) */
	if (!in_this_netns(fd)) {
		snprintf(err, err_len, "%.*s on descriptor %d is in another network namespace: start wgud there", IFNAMSIZ,
			 ifr.ifr_name, fd);
		return -EXDEV;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "descriptor %d: %s", fd, strerror(-ret));
		return ret;
	}
	dev->vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	if (dev->vnet_hdr) {
		int size = (int)sizeof(struct virtio_net_hdr);

		/* the helper may have asked for the bigger mergeable-buffers header */
		if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) {
			int ret = -errno;

			snprintf(err, err_len, "descriptor %d: setting the virtio-net header size: %s", fd, strerror(-ret));
			return ret;
		}
	}
	dev->fd = fd;
	memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
	dev->name[IFNAMSIZ - 1] = '\0';
	return 0;
}

void tun_close(struct tun_device *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

bool tun_attached(const struct tun_device *dev)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	return dev->fd >= 0 && ioctl(dev->fd, TUNGETIFF, &ifr) == 0;
}

unsigned int tun_set_offload(struct tun_device *dev)
{
	const unsigned long tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	const unsigned long uso = TUN_F_USO4 | TUN_F_USO6;

	if (!dev->vnet_hdr)
		return 0;
	if (uso && !ioctl(dev->fd, TUNSETOFFLOAD, tso | uso))
		return TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO | TUN_OFFLOAD_USO;
	if (!ioctl(dev->fd, TUNSETOFFLOAD, tso))
		return TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO;
	if (!ioctl(dev->fd, TUNSETOFFLOAD, TUN_F_CSUM))
		return TUN_OFFLOAD_CSUM;
	(void)ioctl(dev->fd, TUNSETOFFLOAD, 0UL);
	return 0;
}
