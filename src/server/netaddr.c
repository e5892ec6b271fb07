/* The public URL when none is given: the address another device on the LAN
 * can reach, never loopback unless the server only listens there. */
#include "server_int.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Higher is better: private LAN ranges first, then other global addresses,
 * then link-local; 0 for loopback and unusable ones. */
static int rank_ipv4(uint32_t a)
{
	if ((a >> 24) == 127 || a == 0)
		return 0;
	if ((a >> 16) == 0xc0a8 || (a >> 24) == 10 || (a >> 20) == 0xac1)
		return 3; /* 192.168/16, 10/8, 172.16/12 */
	if ((a >> 16) == 0xa9fe)
		return 1; /* 169.254/16 */
	return 2;
}

char *lks_derive_public_url(const char *host, uint16_t port, const char **warning)
{
	char addr[INET6_ADDRSTRLEN] = "";
	char url[300];
	struct in_addr in4;
	int best = 0;

	*warning = NULL;
	if (inet_pton(AF_INET, host, &in4) == 1 && in4.s_addr != htonl(INADDR_ANY)) {
		/* A specific address: links must use it. */
		snprintf(addr, sizeof(addr), "%s", host);
		if (rank_ipv4(ntohl(in4.s_addr)) == 0)
			*warning = "listening on loopback only: other devices cannot open the links "
				   "(use --listen 0.0.0.0:PORT)";
	} else if (strchr(host, ':') != NULL && strcmp(host, "::") != 0) {
		snprintf(url, sizeof(url), "http://[%s]:%u", host, port);
		if (strcmp(host, "::1") == 0)
			*warning = "listening on loopback only: other devices cannot open the links";
		return strdup(url);
	} else {
		struct ifaddrs *ifs = NULL;

		if (getifaddrs(&ifs) == 0) {
			for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
				uint32_t a;
				int r;

				if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
				    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
					continue;
				a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
				r = rank_ipv4(a);
				if (r > best) {
					best = r;
					inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
						  addr, sizeof(addr));
				}
			}
			freeifaddrs(ifs);
		}
		if (best == 0) {
			/* No network: the host name is the best guess left. */
			char name[256] = "localhost";
			gethostname(name, sizeof(name) - 1);
			snprintf(addr, sizeof(addr), "%.45s", name);
			*warning = "no network address found: links use the host name; "
				   "set --public-url to what other devices can reach";
		}
	}
	snprintf(url, sizeof(url), "http://%s:%u", addr, port);
	return strdup(url);
}
