// SPDX-License-Identifier: MIT
#include "tun.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
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

void tun_close(struct tun_device *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
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
