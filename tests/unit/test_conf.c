// SPDX-License-Identifier: MIT
/*
 * The wg-quick parser: a full file read back field by field, the forms a
 * person writes (case, comments, spacing, repeated keys), and one case per
 * kind of mistake, each with the line it must name and no key text in the
 * message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "failover.h"
#include "keys.h"
#include "resolve.h"

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB1 "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define PUB2 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define PSK "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define IFACE "[Interface]\nPrivateKey = " PRIV "\n" /* lines 1-2 */
#define PEER1 "[Peer]\nPublicKey = " PUB1 "\n"

static struct model_device *parse_ok(const char *text)
{
	struct model_device *dev = NULL;
	struct conf_error err;
	int ret = conf_parse("wg0.conf", text, strlen(text), &dev, &err);

	if (ret)
		fail_msg("conf_parse: %d: %s", ret, err.message);
	assert_non_null(dev);
	return dev;
}

static void assert_key(const uint8_t key[32], const char *b64)
{
	uint8_t want[32];

	assert_int_equal(key_from_base64(want, b64, strlen(b64)), 0);
	assert_memory_equal(key, want, 32);
}

static void assert_cidr(const struct cidr *c, const char *addr, unsigned int cidr)
{
	uint8_t want[16] = { 0 };
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(c->family, family);
	assert_int_equal(inet_pton(family, addr, want), 1);
	assert_memory_equal(c->addr, want, 16);
	assert_int_equal(c->cidr, cidr);
}

static void full_file(void **state)
{
	static const char text[] =
		"# wg0, every key once\n"
		"[Interface]\n"
		"PrivateKey = " PRIV "\n"
		"ListenPort = 51820\n"
		"FwMark = 0x1234\n"
		"Address = 10.0.0.1/24, fd00::1/64\n"
		"Address = 10.0.1.1\n"
		"DNS = 10.0.0.53, fd00::53, example.com\n"
		"DNS = corp.example.\n"
		"MTU = 1420\n"
		"Table = 1234\n"
		"PreUp = echo pre-up\n"
		"PostUp = iptables -A FORWARD -i %i -j ACCEPT\n"
		"PostUp = echo   second\n"
		"PreDown = echo pre-down\n"
		"PostDown = echo post-down\n"
		"SaveConfig = true\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB1 "\n"
		"PresharedKey = " PSK "\n"
		"AllowedIPs = 10.0.0.2/32, fd00::2/128\n"
		"Endpoint = 192.0.2.1:51820\n"
		"PersistentKeepalive = 25\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " PUB2 "\n"
		"AllowedIPs = 10.1.0.0/16\n"
		"Endpoint = [2001:db8::1]:51821\n";
	struct model_device *dev = parse_ok(text);
	struct model_peer *a, *b;
	char ep[64];

	(void)state;
	assert_int_equal(dev->flags, MODEL_DEVICE_REPLACE_PEERS | MODEL_DEVICE_HAS_PRIVATE_KEY |
					     MODEL_DEVICE_HAS_LISTEN_PORT | MODEL_DEVICE_HAS_FWMARK | MODEL_DEVICE_HAS_MTU |
					     MODEL_DEVICE_HAS_TABLE);
	assert_key(dev->private_key, PRIV);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 0x1234);
	assert_int_equal(dev->n_addresses, 3);
	/* Interface addresses keep their host part. */
	assert_cidr(&dev->addresses[0], "10.0.0.1", 24);
	assert_cidr(&dev->addresses[1], "fd00::1", 64);
	assert_cidr(&dev->addresses[2], "10.0.1.1", 32);
	assert_int_equal(dev->n_dns, 2);
	assert_int_equal(dev->dns[0].sa.sa_family, AF_INET);
	assert_int_equal(dev->dns[0].sin.sin_addr.s_addr, htonl(0x0a000035));
	assert_int_equal(dev->dns[1].sa.sa_family, AF_INET6);
	assert_int_equal(dev->dns[1].sin6.sin6_addr.s6_addr[15], 0x53);
	assert_int_equal(dev->n_dns_search, 2);
	assert_string_equal(dev->dns_search[0], "example.com");
	assert_string_equal(dev->dns_search[1], "corp.example.");
	assert_int_equal(dev->mtu, 1420);
	assert_int_equal(dev->table, MODEL_TABLE_NUMBER);
	assert_int_equal(dev->table_id, 1234);
	assert_int_equal(dev->n_hooks[MODEL_HOOK_PRE_UP], 1);
	assert_string_equal(dev->hooks[MODEL_HOOK_PRE_UP][0], "echo pre-up");
	assert_int_equal(dev->n_hooks[MODEL_HOOK_POST_UP], 2);
	assert_string_equal(dev->hooks[MODEL_HOOK_POST_UP][0], "iptables -A FORWARD -i %i -j ACCEPT");
	assert_string_equal(dev->hooks[MODEL_HOOK_POST_UP][1], "echo   second");
	assert_string_equal(dev->hooks[MODEL_HOOK_PRE_DOWN][0], "echo pre-down");
	assert_string_equal(dev->hooks[MODEL_HOOK_POST_DOWN][0], "echo post-down");
	assert_true(dev->save_config);

	assert_int_equal(dev->n_peers, 2);
	a = &dev->peers[0];
	b = &dev->peers[1];
	assert_int_equal(a->flags, MODEL_PEER_REPLACE_ALLOWEDIPS | MODEL_PEER_HAS_PUBLIC_KEY |
					   MODEL_PEER_HAS_PRESHARED_KEY | MODEL_PEER_HAS_ENDPOINT |
					   MODEL_PEER_HAS_PERSISTENT_KEEPALIVE);
	assert_int_equal(a->conf_line, 19);
	assert_key(a->public_key, PUB1);
	assert_key(a->preshared_key, PSK);
	assert_int_equal(a->n_allowedips, 2);
	assert_cidr(&a->allowedips[0], "10.0.0.2", 32);
	assert_cidr(&a->allowedips[1], "fd00::2", 128);
	model_format_endpoint(ep, &a->endpoint);
	assert_string_equal(ep, "192.0.2.1:51820");
	assert_int_equal(a->persistent_keepalive, 25);

	assert_int_equal(b->flags, MODEL_PEER_REPLACE_ALLOWEDIPS | MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_HAS_ENDPOINT);
	assert_int_equal(b->conf_line, 26);
	assert_key(b->public_key, PUB2);
	assert_int_equal(b->n_allowedips, 1);
	assert_cidr(&b->allowedips[0], "10.1.0.0", 16);
	model_format_endpoint(ep, &b->endpoint);
	assert_string_equal(ep, "[2001:db8::1]:51821");
	assert_int_equal(dev->n_allowedips_total, 3);
	model_device_free(dev);
}

/* What an absent key means: the model's zero values, with the flags wg setconf sets anyway. */
static void minimal_file(void **state)
{
	struct model_device *dev = parse_ok(IFACE);

	(void)state;
	assert_int_equal(dev->flags, MODEL_DEVICE_REPLACE_PEERS | MODEL_DEVICE_HAS_PRIVATE_KEY |
					     MODEL_DEVICE_HAS_LISTEN_PORT | MODEL_DEVICE_HAS_FWMARK);
	assert_int_equal(dev->listen_port, 0);
	assert_int_equal(dev->fwmark, 0);
	assert_int_equal(dev->table, MODEL_TABLE_AUTO);
	assert_int_equal(dev->n_peers, 0);
	assert_false(dev->save_config);
	model_device_free(dev);
}

static void keys_case_insensitive(void **state)
{
	static const char text[] = "[interface]\n"
				   "privatekey = " PRIV "\n"
				   "LISTENPORT = 7\n"
				   "fwmark = OFF\n"
				   "table = Off\n"
				   "[PEER]\n"
				   "publickey = " PUB1 "\n"
				   "allowedips = 10.0.0.0/8\n"
				   "persistentKEEPALIVE = off\n";
	struct model_device *dev = parse_ok(text);

	(void)state;
	assert_int_equal(dev->listen_port, 7);
	assert_int_equal(dev->fwmark, 0);
	assert_int_equal(dev->table, MODEL_TABLE_OFF);
	assert_int_equal(dev->n_peers, 1);
	assert_int_equal(dev->peers[0].n_allowedips, 1);
	assert_true(dev->peers[0].flags & MODEL_PEER_HAS_PERSISTENT_KEEPALIVE);
	assert_int_equal(dev->peers[0].persistent_keepalive, 0);
	model_device_free(dev);
}

static void comments_and_whitespace(void **state)
{
	static const char text[] = "\xef\xbb\xbf# byte order mark first, as some editors write\r\n"
				   "   [ Interface ]   # trailing comment\r\n"
				   "\r\n"
				   "\t  PrivateKey\t=\t" PRIV "\t# the key\r\n"
				   "   \t\n"
				   "ListenPort=51820#no spaces\n"
				   "PostUp = echo a   b # not part of the command\n"
				   "#[Peer]\n"
				   "  # PublicKey = nonsense\n"
				   "[Peer]\n"
				   "PublicKey =" PUB1 "\n"
				   "AllowedIPs =   10.0.0.0/8 ,fd00::/8   ,  192.168.0.0/16\n"
				   "AllowedIPs =\n"
				   "Endpoint=192.0.2.1:1";
	struct model_device *dev = parse_ok(text);

	(void)state;
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->n_hooks[MODEL_HOOK_POST_UP], 1);
	assert_string_equal(dev->hooks[MODEL_HOOK_POST_UP][0], "echo a   b");
	assert_int_equal(dev->n_peers, 1);
	assert_int_equal(dev->peers[0].conf_line, 10);
	assert_int_equal(dev->peers[0].n_allowedips, 3);
	assert_cidr(&dev->peers[0].allowedips[1], "fd00::", 8);
	assert_true(dev->peers[0].flags & MODEL_PEER_HAS_ENDPOINT);
	model_device_free(dev);
}

/* AllowedIPs add up over lines, and host bits are dropped as wg(8) drops them. */
static void allowedips_several_lines(void **state)
{
	static const char text[] = IFACE PEER1 "AllowedIPs = 10.0.0.5/24\n"
					       "AllowedIPs = fd00::1/64, 192.168.7.9/16\n"
					       "AllowedIPs = 0.0.0.0/0\n"
					       "AllowedIPs = ::/0\n";
	struct model_device *dev = parse_ok(text);
	struct model_peer *peer = &dev->peers[0];

	(void)state;
	assert_int_equal(peer->n_allowedips, 5);
	assert_cidr(&peer->allowedips[0], "10.0.0.0", 24);
	assert_cidr(&peer->allowedips[1], "fd00::", 64);
	assert_cidr(&peer->allowedips[2], "192.168.0.0", 16);
	assert_cidr(&peer->allowedips[3], "0.0.0.0", 0);
	assert_cidr(&peer->allowedips[4], "::", 0);
	model_device_free(dev);
}

static void endpoint_forms(void **state)
{
	static const char text[] = IFACE "[Peer]\nPublicKey = " PUB1 "\nEndpoint = vpn.example.com:443\n"
					 "[Peer]\nPublicKey = " PUB2 "\nEndpoint = [::ffff:192.0.2.1]:7\n"
					 "[Peer]\nPublicKey = " PSK "\nEndpoint = localhost:51820\n";
	struct model_device *dev = parse_ok(text);
	char ep[64];

	(void)state;
	assert_int_equal(dev->n_peers, 3);
	assert_int_equal(dev->peers[0].flags & (MODEL_PEER_HAS_ENDPOINT | MODEL_PEER_HAS_ENDPOINT_HOST),
			 MODEL_PEER_HAS_ENDPOINT_HOST);
	assert_string_equal(dev->peers[0].endpoint_host, "vpn.example.com");
	assert_int_equal(dev->peers[0].endpoint_port, 443);
	assert_int_equal(dev->peers[1].flags & (MODEL_PEER_HAS_ENDPOINT | MODEL_PEER_HAS_ENDPOINT_HOST),
			 MODEL_PEER_HAS_ENDPOINT);
	model_format_endpoint(ep, &dev->peers[1].endpoint);
	assert_string_equal(ep, "[::ffff:192.0.2.1]:7");
	assert_string_equal(dev->peers[2].endpoint_host, "localhost");
	assert_int_equal(dev->peers[2].endpoint_port, 51820);
	model_device_free(dev);
}

static void table_and_mtu_values(void **state)
{
	static const struct {
		const char *line;
		enum model_table table;
		uint32_t id;
	} cases[] = {
		{ "Table = auto", MODEL_TABLE_AUTO, 0 },     { "Table = off", MODEL_TABLE_OFF, 0 },
		{ "Table = main", MODEL_TABLE_NUMBER, 254 }, { "Table = 1", MODEL_TABLE_NUMBER, 1 },
		{ "Table = 4294967294", MODEL_TABLE_NUMBER, 4294967294U },
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct model_device *dev;

		snprintf(text, sizeof(text), IFACE "%s\nMTU = 576\n", cases[i].line);
		dev = parse_ok(text);
		assert_true(dev->flags & MODEL_DEVICE_HAS_TABLE);
		assert_int_equal(dev->table, cases[i].table);
		assert_int_equal(dev->table_id, cases[i].id);
		assert_int_equal(dev->mtu, 576);
		model_device_free(dev);
	}
}

struct error_case {
	const char *text;
	unsigned int line;
	const char *says;
};

static void check_error(const char *text, size_t len, unsigned int line, const char *says)
{
	struct model_device *dev = (struct model_device *)&dev;
	struct conf_error err;
	char prefix[64];
	int ret = conf_parse("wg0.conf", text, len, &dev, &err);

	if (ret != -EINVAL)
		fail_msg("want -EINVAL for %s, got %d", says, ret);
	assert_null(dev);
	assert_string_equal(err.file, "wg0.conf");
	if (err.line != line || !strstr(err.message, says))
		fail_msg("want line %u and '%s', got line %u: %s", line, says, err.line, err.message);
	if (line)
		snprintf(prefix, sizeof(prefix), "wg0.conf:%u: ", line);
	else
		snprintf(prefix, sizeof(prefix), "wg0.conf: ");
	assert_memory_equal(err.message, prefix, strlen(prefix));
	/* Not even a fragment of the private key. */
	assert_null(strstr(err.message, "yAnz5TF"));
	assert_null(strstr(err.message, "3fBmk"));
}

static void errors_name_their_line(void **state)
{
	static const struct error_case cases[] = {
		{ IFACE "Adress = 10.0.0.1/24\n", 3, "unknown key 'Adress' in [Interface]" },
		{ IFACE PEER1 "Endpiont = 192.0.2.1:1\n", 5, "unknown key 'Endpiont' in [Peer]" },
		{ "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm=\n", 2, "PrivateKey is not a valid key" },
		{ "[Interface]\n\nPrivateKey = " PRIV "x\n", 3, "PrivateKey is not a valid key" },
		{ IFACE "[Peer]\nPublicKey = HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk==\n", 4, "PublicKey is not a valid key" },
		{ IFACE PEER1 "PresharedKey = abc\n", 5, "PresharedKey is not a valid key" },
		{ "[Interface]\nListenPort = 1\n", 1, "[Interface] has no PrivateKey" },
		{ "# nothing\n", 0, "no [Interface] section" },
		{ "", 0, "no [Interface] section" },
		{ IFACE "[Peer]\nAllowedIPs = 10.0.0.0/8\n" PEER1, 3, "[Peer] has no PublicKey" },
		{ IFACE PEER1 "\n[Peer]\nEndpoint = 192.0.2.1:1\n", 6, "[Peer] has no PublicKey" },
		{ IFACE PEER1 "\n[Peer]\n" "PublicKey = " PUB1 "\n", 6, "same PublicKey as the [Peer] on line 3" },
		{ IFACE PEER1 "[Peer]\nPublicKey = " PUB2 "\n[Peer]\nPublicKey = " PUB2 "\n[Peer]\nPublicKey = " PUB1 "\n",
		  7, "same PublicKey as the [Peer] on line 5" },
		{ IFACE PEER1 "AllowedIPs = 10.0.0.0/33\n", 5, "bad prefix '10.0.0.0/33' in AllowedIPs" },
		{ IFACE PEER1 "AllowedIPs = 10.0.0.0/8, 10.0.0.256\n", 5, "bad prefix '10.0.0.256'" },
		{ IFACE PEER1 "AllowedIPs = 10.0.0.0/8,,fd00::/8\n", 5, "empty entry in the AllowedIPs list" },
		{ IFACE PEER1 "AllowedIPs = 10.0.0.0/8,\n", 5, "ends with a comma" },
		{ IFACE "Address = 10.0.0.1/24, fd00::1/200\n", 3, "bad address 'fd00::1/200' in Address" },
		{ IFACE "DNS = 10.0.0.1/24\n", 3, "bad DNS entry '10.0.0.1/24'" },
		{ IFACE "DNS = 1.2.3.256\n", 3, "bad DNS entry" },
		{ IFACE PEER1 "Endpoint = 192.0.2.1\n", 5, "has no port" },
		{ IFACE PEER1 "Endpoint = 2001:db8::1:51820\n", 5, "not a valid IPv6 endpoint" },
		{ IFACE PEER1 "Endpoint = [vpn.example.com]:1\n", 5, "not a valid IPv6 endpoint" },
		{ IFACE PEER1 "Endpoint = bad!host:1\n", 5, "neither an IP address nor a host name" },
		{ IFACE PEER1 "Endpoint = 192.0.2.300:1\n", 5, "neither an IP address nor a host name" },
		{ IFACE PEER1 "Endpoint = 192.0.2.1:http\n", 5, "needs a port number" },
		{ IFACE PEER1 "Endpoint = 192.0.2.1:65536\n", 5, "needs a port number" },
		{ IFACE "ListenPort = 51820x\n", 3, "ListenPort must be a port number" },
		{ IFACE "ListenPort = 65536\n", 3, "ListenPort must be a port number 0..65535 (0 picks one at random), not '65536'" },
		{ IFACE "ListenPort = -1\n", 3, "ListenPort must be a port number" },
		{ IFACE "ListenPort =\n", 3, "ListenPort has no value" },
		{ IFACE "ListenPort = 1\nListenPort = 2\n", 4, "ListenPort is given twice" },
		{ IFACE PEER1 "ListenPort = 1\n", 5, "ListenPort belongs in [Interface], not in [Peer]" },
		{ IFACE "AllowedIPs = 10.0.0.0/8\n", 3, "AllowedIPs belongs in [Peer]" },
		{ "PrivateKey = " PRIV "\n[Interface]\n", 1, "PrivateKey comes before any section" },
		{ "\nFoo = bar\n", 2, "before any section" },
		{ IFACE "[Interfaces]\n", 3, "unknown section [Interfaces]" },
		{ IFACE "[]\n", 3, "unknown section" },
		{ IFACE "[Peer] x\n", 3, "section header must be alone" },
		{ IFACE "[Peer\n", 3, "section header must be alone" },
		{ IFACE "[Interface]\n", 3, "second [Interface] section (the first is on line 1)" },
		{ IFACE "ListenPort 51820\n", 3, "no '='" },
		{ IFACE "MTU = 575\n", 3, "MTU must be a number 576..65535" },
		{ IFACE "MTU = 65536\n", 3, "MTU must be a number 576..65535" },
		{ IFACE "MTU = 1420.5\n", 3, "MTU must be a number" },
		{ IFACE "Table = 0\n", 3, "Table must be" },
		{ IFACE "Table = 4294967295\n", 3, "Table must be" },
		{ IFACE "Table = local\n", 3, "Table must be \"auto\", \"off\", \"main\" or a routing table number" },
		{ IFACE "FwMark = on\n", 3, "FwMark must be \"off\" or a number" },
		{ IFACE "SaveConfig = yes\n", 3, "SaveConfig must be \"true\" or \"false\"" },
		{ IFACE PEER1 "PersistentKeepalive = 65536\n", 5, "PersistentKeepalive must be \"off\" or seconds" },
		/* Key text in the wrong place must not come back in the message. */
		{ IFACE PRIV "\n", 3, "unknown key in [Interface]" },
		{ IFACE PEER1 "Endpoint = " PRIV "\n", 5, "(value not shown: it looks like a key)" },
		{ IFACE PEER1 "AllowedIPs = " PRIV "\n", 5, "(value not shown" },
		{ IFACE "DNS = " PRIV "\n", 3, "(value not shown" },
		{ "[Interface] PrivateKey = " PRIV "\n", 1, "section header must be alone" },
		{ "[" PRIV "]\n", 1, "unknown section; only" },
		{ "[Interface]\nPrivateKey : " PRIV "\n", 2, "unknown key in [Interface]" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_error(cases[i].text, strlen(cases[i].text), cases[i].line, cases[i].says);
}

static void long_lines(void **state)
{
	size_t head = strlen(IFACE PEER1), pos, i;
	size_t cap = head + 16 + 600 * 20 + 2;
	char *text = malloc(cap);
	struct model_device *dev;
	struct conf_error err;

	(void)state;
	assert_non_null(text);
	/* Lines have no limit of their own: 600 prefixes on one AllowedIPs line, as wg(8) takes them. */
	memcpy(text, IFACE PEER1, head);
	pos = head + (size_t)sprintf(text + head, "AllowedIPs = ");
	for (i = 0; i < 600; i++)
		pos += (size_t)sprintf(text + pos, "%s10.%zu.%zu.0/24", i ? ", " : "", i / 256, i % 256);
	text[pos++] = '\n';
	assert_true(pos > 4096 + head);
	assert_int_equal(conf_parse("wg0.conf", text, pos, &dev, &err), 0);
	assert_int_equal(dev->peers[0].n_allowedips, 600);
	assert_cidr(&dev->peers[0].allowedips[599], "10.2.87.0", 24);
	model_device_free(dev);
	free(text);

	/* A hook still has its bound: exactly MODEL_MAX_HOOK_LEN is fine, one byte more is an error on its line. */
	head = strlen(IFACE);
	text = malloc(head + 7 + MODEL_MAX_HOOK_LEN + 2);
	assert_non_null(text);
	memcpy(text, IFACE, head);
	memcpy(text + head, "PostUp=", 7);
	memset(text + head + 7, 'a', MODEL_MAX_HOOK_LEN);
	text[head + 7 + MODEL_MAX_HOOK_LEN] = '\n';
	assert_int_equal(conf_parse("wg0.conf", text, head + 7 + MODEL_MAX_HOOK_LEN + 1, &dev, &err), 0);
	assert_int_equal(strlen(dev->hooks[MODEL_HOOK_POST_UP][0]), MODEL_MAX_HOOK_LEN);
	model_device_free(dev);
	text[head + 7 + MODEL_MAX_HOOK_LEN] = 'a';
	check_error(text, head + 7 + MODEL_MAX_HOOK_LEN + 1, 3, "PostUp is longer than 4096 bytes");
	free(text);
}

static void scoped_endpoint(void **state)
{
	struct model_device *dev;
	char text[64];

	(void)state;
	/* The zone by name (lo is index 1 in every namespace) or by number; it prints as the index. */
	dev = parse_ok(IFACE PEER1 "Endpoint = [fe80::1%lo]:51820\n");
	assert_int_equal(dev->peers[0].endpoint.sin6.sin6_scope_id, 1);
	model_format_endpoint(text, &dev->peers[0].endpoint);
	assert_string_equal(text, "[fe80::1%1]:51820");
	model_device_free(dev);
	dev = parse_ok(IFACE PEER1 "Endpoint = [fe80::1%1]:51820\n");
	model_format_endpoint(text, &dev->peers[0].endpoint);
	assert_string_equal(text, "[fe80::1%1]:51820");
	model_device_free(dev);
	check_error(IFACE PEER1 "Endpoint = [fe80::1%eth9]:51820\n", strlen(IFACE PEER1 "Endpoint = [fe80::1%eth9]:51820\n"), 5,
		    "no interface 'eth9' for the scope of Endpoint");
}

static void endpoint_lists(void **state)
{
	struct model_device *dev;
	char err[256], text[64];

	(void)state;
	/* The first is the endpoint; the others wait for --failover, names unresolved until resolve_model(). */
	dev = parse_ok(IFACE PEER1 "Endpoint = 192.0.2.1:51820, localhost:7 ,[2001:db8::1]:9\n");
	assert_true(dev->peers[0].flags & MODEL_PEER_HAS_ENDPOINT);
	assert_int_equal(dev->peers[0].n_alt_endpoints, 2);
	assert_int_equal(dev->peers[0].endpoint_line, 5);
	assert_false(dev->peers[0].alt_endpoints[0].has_addr);
	assert_string_equal(dev->peers[0].alt_endpoints[0].host, "localhost");
	assert_int_equal(dev->peers[0].alt_endpoints[0].port, 7);
	model_format_endpoint(text, &dev->peers[0].alt_endpoints[1].addr);
	assert_string_equal(text, "[2001:db8::1]:9");
	assert_true(resolve_needed(dev));
	assert_int_equal(resolve_model(dev, "wg0.conf", err, sizeof(err)), 0);
	assert_true(dev->peers[0].alt_endpoints[0].has_addr);
	assert_int_equal(failover_check(dev, "wg0.conf", true, err, sizeof(err)), 0);
	assert_int_equal(failover_check(dev, "wg0.conf", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "wg0.conf:5: Endpoint lists 3 endpoints: several endpoints need --failover (wg-quick "
				 "files allow one)");
	model_device_free(dev);

	/* One endpoint needs no flag. */
	dev = parse_ok(IFACE PEER1 "Endpoint = 192.0.2.1:51820\n");
	assert_int_equal(dev->peers[0].n_alt_endpoints, 0);
	assert_int_equal(failover_check(dev, "wg0.conf", false, err, sizeof(err)), 0);
	model_device_free(dev);

	check_error(IFACE PEER1 "Endpoint = 192.0.2.1:1,\n", strlen(IFACE PEER1 "Endpoint = 192.0.2.1:1,\n"), 5,
		    "the Endpoint list ends with a comma");
	check_error(IFACE PEER1 "Endpoint = 192.0.2.1:1,,192.0.2.2:1\n",
		    strlen(IFACE PEER1 "Endpoint = 192.0.2.1:1,,192.0.2.2:1\n"), 5, "empty entry in the Endpoint list");
	check_error(IFACE PEER1 "Endpoint = 192.0.2.1:1, 192.0.2.2\n", strlen(IFACE PEER1 "Endpoint = 192.0.2.1:1, 192.0.2.2\n"),
		    5, "'192.0.2.2' has no port");
	check_error(IFACE PEER1 "Endpoint = a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9\n",
		    strlen(IFACE PEER1 "Endpoint = a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9\n"), 5,
		    "Endpoint lists more than 8 endpoints; keep at most 8");
}

static void nul_byte(void **state)
{
	static const char text[] = IFACE "ListenPort = 1\0 2\n";

	(void)state;
	check_error(text, sizeof(text) - 1, 3, "NUL byte");
	check_error("\0", 1, 1, "NUL byte");
}

/* The model's own ceilings come back as a line-numbered message, not a bare errno. */
static void too_many_peers(void **state)
{
	size_t per = strlen("[Peer]\nPublicKey = " PRIV "\n"), n = MODEL_MAX_PEERS + 1, i;
	size_t head = strlen(IFACE);
	char *text = malloc(head + per * n + 1);
	char *at;

	(void)state;
	assert_non_null(text);
	memcpy(text, IFACE, head);
	at = text + head;
	for (i = 0; i < n; i++) {
		uint8_t key[32] = { 0 };
		char b64[KEY_BASE64_LEN + 1];

		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		key[2] = (uint8_t)(i >> 16);
		key_to_base64(b64, key);
		at += sprintf(at, "[Peer]\nPublicKey = %s\n", b64);
	}
	check_error(text, (size_t)(at - text), 3 + 2 * MODEL_MAX_PEERS, "too many peers");
	free(text);
}

static void interface_names(void **state)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		{ "wg0.conf", "wg0" },
		{ "/etc/wireguard/wg0.conf", "wg0" },
		{ "./a/b/my_vpn-1.x=+.conf", "my_vpn-1.x=+" },
		{ "fifteen-chars-x.conf", "fifteen-chars-x" },
		{ "sixteen-chars-xx.conf", NULL },
		{ ".conf", NULL },
		{ "/etc/wireguard/.conf", NULL },
		{ "wg0", NULL },
		{ "wg0.conf.bak", NULL },
		{ "wg 0.conf", NULL },
		{ "wg/0.conf/", NULL },
		{ "..conf", NULL },
		{ "...conf", NULL },
		{ "wg\xc3\xa9.conf", NULL },
		{ "", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[16] = "unchanged";

		if (!cases[i].want) {
			assert_int_equal(conf_interface_name(name, cases[i].path), -EINVAL);
			assert_string_equal(name, "unchanged");
			continue;
		}
		assert_int_equal(conf_interface_name(name, cases[i].path), 0);
		assert_string_equal(name, cases[i].want);
	}
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void read_file_modes(void **state)
{
	char dir[] = "/tmp/wgud-test-conf-XXXXXX";
	char path[64], big[64];
	struct model_device *dev = NULL;
	struct conf_error err;
	bool world = true;
	char *huge;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/wg0.conf", dir);
	snprintf(big, sizeof(big), "%s/big.conf", dir);

	write_file(path, IFACE PEER1, strlen(IFACE PEER1), 0600);
	assert_int_equal(conf_read_file(path, &dev, &err, &world), 0);
	assert_false(world);
	assert_int_equal(dev->n_peers, 1);
	model_device_free(dev);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(conf_read_file(path, &dev, &err, &world), 0);
	assert_true(world);
	model_device_free(dev);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(conf_read_file(path, &dev, &err, &world), 0);
	assert_true(world);
	model_device_free(dev);

	/* Parse errors carry the path as given. */
	write_file(path, IFACE "Bogus = 1\n", strlen(IFACE "Bogus = 1\n"), 0600);
	assert_int_equal(conf_read_file(path, &dev, &err, &world), -EINVAL);
	assert_null(dev);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.file, path);
	assert_memory_equal(err.message, path, strlen(path));

	/* Exactly at the limit it is read (and found wanting); one byte past it is refused unread. */
	huge = malloc(CONF_MAX_FILE_SIZE + 1);
	assert_non_null(huge);
	memset(huge, '\n', CONF_MAX_FILE_SIZE + 1);
	write_file(big, huge, CONF_MAX_FILE_SIZE, 0600);
	assert_int_equal(conf_read_file(big, &dev, &err, &world), -EINVAL);
	assert_non_null(strstr(err.message, "no [Interface]"));
	write_file(big, huge, CONF_MAX_FILE_SIZE + 1, 0600);
	assert_int_equal(conf_read_file(big, &dev, &err, &world), -EFBIG);
	assert_null(dev);
	assert_non_null(strstr(err.message, "larger than 1048576 bytes"));
	free(huge);

	assert_int_equal(conf_read_file(dir, &dev, &err, &world), -EINVAL);
	assert_non_null(strstr(err.message, "not a regular file"));
	assert_int_equal(unlink(big), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(conf_read_file(path, &dev, &err, &world), -ENOENT);
	assert_null(dev);
	assert_non_null(strstr(err.message, "cannot open"));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_file),
		cmocka_unit_test(minimal_file),
		cmocka_unit_test(keys_case_insensitive),
		cmocka_unit_test(comments_and_whitespace),
		cmocka_unit_test(allowedips_several_lines),
		cmocka_unit_test(endpoint_forms),
		cmocka_unit_test(table_and_mtu_values),
		cmocka_unit_test(errors_name_their_line),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(scoped_endpoint),
		cmocka_unit_test(endpoint_lists),
		cmocka_unit_test(nul_byte),
		cmocka_unit_test(too_many_peers),
		cmocka_unit_test(interface_names),
		cmocka_unit_test(read_file_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
