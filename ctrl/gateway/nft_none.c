// SPDX-License-Identifier: MIT
/*
 * The wall in a build without libnftnl (-DWGUD_NFTABLES=OFF), in place of
 * nft.c and nft_batch.c: every call answers -EOPNOTSUPP, so the gateway
 * finds nftables not usable here (nft_probe) and does what it does on a
 * host without nf_tables: it runs on the data plane's guarantee alone when
 * the policy needs no firewall, and refuses to start when it does.
 */
#include "nft.h"

#include <errno.h>

ssize_t nft_build_replace(void *buf, size_t cap, const struct nft_params *p, uint32_t seq)
{
	(void)buf, (void)cap, (void)p, (void)seq;
	return -EOPNOTSUPP;
}

ssize_t nft_build_lockdown(void *buf, size_t cap, const struct nft_lockdown *l, uint32_t seq)
{
	(void)buf, (void)cap, (void)l, (void)seq;
	return -EOPNOTSUPP;
}

ssize_t nft_build_delete(void *buf, size_t cap, const char *ifname, uint32_t seq)
{
	(void)buf, (void)cap, (void)ifname, (void)seq;
	return -EOPNOTSUPP;
}

int nft_send(const void *batch, size_t len)
{
	(void)batch, (void)len;
	return -EOPNOTSUPP;
}

int nft_replace(const struct nft_params *p)
{
	(void)p;
	return -EOPNOTSUPP;
}

int nft_lock(const struct nft_lockdown *l)
{
	(void)l;
	return -EOPNOTSUPP;
}

int nft_delete(const char *ifname)
{
	(void)ifname;
	return -EOPNOTSUPP;
}

int nft_table_exists(const char *ifname)
{
	(void)ifname;
	return -EOPNOTSUPP;
}

int nft_other_tables(const char *ifname, void (*each)(const char *other, void *ctx), void *ctx)
{
	(void)ifname, (void)each, (void)ctx;
	return -EOPNOTSUPP;
}

int nft_probe(void)
{
	return -EOPNOTSUPP;
}

int nft_publish_replace(const char *ifname, const char *host_ifname, const uint8_t ns_addr[4],
			const struct nft_publish *list, size_t n)
{
	(void)ifname, (void)host_ifname, (void)ns_addr, (void)list, (void)n;
	return -EOPNOTSUPP;
}

int nft_publish_delete(const char *ifname)
{
	(void)ifname;
	return -EOPNOTSUPP;
}
