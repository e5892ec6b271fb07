/* linksyncd: reads flags and their LINKSYNC_* environment twins, starts the
 * server, shows the compose page's link and QR code, and runs until SIGINT
 * or SIGTERM. */
#include "linksync/error.h"
#include "linksync/qr.h"
#include "linksync/server.h"
#include "linksync/store.h"
#include "linksync/units.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_LISTEN = 'l',
	OPT_STORE = 's',
	OPT_HELP = 'h',
	OPT_PUBLIC_URL = 256,
	OPT_MAX_SIZE,
	OPT_MAX_TTL,
	OPT_DEFAULT_TTL,
	OPT_THREADS,
	OPT_TIMEOUT,
	OPT_MAX_CONN,
	OPT_MAX_CONN_IP,
	OPT_SWEEP,
	OPT_SYNC_FULL,
	OPT_CACHE,
	OPT_GROUP_COMMIT,
	OPT_CONN_MEMORY,
	OPT_QUIET,
	OPT_VERSION,
};

/* One table gives the flags, their environment twins and the help text. */
static const struct flag {
	const char *name;
	int has_arg;
	int id;
	const char *env;
	const char *arg;
	const char *help;
} flags[] = {
	{"listen", 1, OPT_LISTEN, "LINKSYNC_LISTEN", "ADDR:PORT",
	 "address and port to listen on (default 0.0.0.0:8080; port 0 picks a free one)"},
	{"store", 1, OPT_STORE, "LINKSYNC_STORE", "URL",
	 "where items live: sqlite:PATH or postgres://... (default " LKS_STORE_DEFAULT_URL ")"},
	{"public-url", 1, OPT_PUBLIC_URL, "LINKSYNC_PUBLIC_URL", "URL",
	 "base of every link, as other devices reach this server (default: from the LAN address)"},
	{"max-size", 1, OPT_MAX_SIZE, "LINKSYNC_MAX_SIZE", "BYTES",
	 "largest item accepted, with K, M or G suffixes (default 25M)"},
	{"max-ttl", 1, OPT_MAX_TTL, "LINKSYNC_MAX_TTL", "DURATION",
	 "longest lifetime a client may ask for (default 30d)"},
	{"default-ttl", 1, OPT_DEFAULT_TTL, "LINKSYNC_DEFAULT_TTL", "DURATION",
	 "lifetime of items sent without a ttl (default 24h)"},
	{"threads", 1, OPT_THREADS, "LINKSYNC_THREADS", "N",
	 "worker threads (default: one per core)"},
	{"timeout", 1, OPT_TIMEOUT, "LINKSYNC_TIMEOUT", "SECONDS",
	 "close connections idle this long (default 30)"},
	{"max-connections", 1, OPT_MAX_CONN, "LINKSYNC_MAX_CONNECTIONS", "N",
	 "connections at once (default 10000)"},
	{"max-connections-per-ip", 1, OPT_MAX_CONN_IP, "LINKSYNC_MAX_CONNECTIONS_PER_IP", "N",
	 "connections at once from one address (default 0: no limit)"},
	{"sweep-interval", 1, OPT_SWEEP, "LINKSYNC_SWEEP_INTERVAL", "DURATION",
	 "how often expired items are deleted (default 1m)"},
	{"sync-full", 0, OPT_SYNC_FULL, "LINKSYNC_SYNC_FULL", NULL,
	 "flush every commit to disk (survives power loss, not only crashes)"},
	{"cache", 1, OPT_CACHE, "LINKSYNC_CACHE", "BYTES",
	 "memory for small items read often (default 32M; 0 turns it off)"},
	{"group-commit", 1, OPT_GROUP_COMMIT, "LINKSYNC_GROUP_COMMIT", "on|off",
	 "write concurrent creates in one transaction (default on)"},
	{"connection-memory", 1, OPT_CONN_MEMORY, "LINKSYNC_CONNECTION_MEMORY", "BYTES",
	 "memory per connection, which bounds request headers (default 4K)"},
	{"quiet", 0, OPT_QUIET, "LINKSYNC_QUIET", NULL, "print nothing but errors"},
	{"help", 0, OPT_HELP, NULL, NULL, "show this help"},
	{"version", 0, OPT_VERSION, NULL, NULL, "show the version"},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: linksyncd [OPTIONS]\n"
		   "The linksync server: stores what one device sends and gives it to another\n"
		   "by a link or a QR code. Every option can also be set in the environment.\n\n");
	for (size_t i = 0; i < NFLAGS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		fprintf(f, "  %-32s %s\n", left, flags[i].help);
		if (flags[i].env != NULL)
			fprintf(f, "  %-32s   env %s\n", "", flags[i].env);
	}
}

static int die(const char *what, const char *value, const char *why)
{
	fprintf(stderr, "linksyncd: %s '%s': %s\n", what, value, why);
	return 2;
}

static int parse_uint(unsigned *out, const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > max || *s == '-')
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Applies one option's value to the configuration; 0, or an exit code. */
static int apply(lks_server_config *cfg, int id, const char *name, const char *v)
{
	int64_t d;
	uint64_t size;

	switch (id) {
	case OPT_LISTEN:
		cfg->listen = v;
		break;
	case OPT_STORE:
		cfg->store_url = v;
		break;
	case OPT_PUBLIC_URL:
		cfg->public_url = v;
		break;
	case OPT_MAX_SIZE:
		if (lks_size_parse(&size, v) < 0 || size == 0 || size > ((uint64_t)1 << 31))
			return die(name, v, "use a size up to 2G, e.g. 25M");
		cfg->max_size = size;
		break;
	case OPT_MAX_TTL:
	case OPT_DEFAULT_TTL:
	case OPT_SWEEP:
		if (lks_duration_parse(&d, v) < 0)
			return die(name, v, lks_error_message());
		if (id == OPT_MAX_TTL)
			cfg->max_ttl = d;
		else if (id == OPT_DEFAULT_TTL)
			cfg->default_ttl = d;
		else
			cfg->sweep_interval = d > 86400 ? 86400 : (unsigned)d;
		break;
	case OPT_THREADS:
		if (parse_uint(&cfg->threads, v, 256) < 0)
			return die(name, v, "use a number from 0 (one per core) to 256");
		break;
	case OPT_TIMEOUT:
		if (parse_uint(&cfg->conn_timeout, v, 86400) < 0 || cfg->conn_timeout == 0)
			return die(name, v, "use a number of seconds from 1 to 86400");
		break;
	case OPT_MAX_CONN:
		if (parse_uint(&cfg->conn_limit, v, 1000000) < 0 || cfg->conn_limit == 0)
			return die(name, v, "use a number from 1 to 1000000");
		break;
	case OPT_MAX_CONN_IP:
		if (parse_uint(&cfg->per_ip_limit, v, 1000000) < 0)
			return die(name, v, "use a number (0: no limit)");
		break;
	case OPT_CACHE:
		if (lks_size_parse(&size, v) < 0 || size > ((uint64_t)16 << 30))
			return die(name, v, "use a size such as 32M (0 turns the cache off)");
		cfg->cache_bytes = size;
		break;
	case OPT_GROUP_COMMIT:
		if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
			cfg->group_commit = 1;
		else if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
			cfg->group_commit = 0;
		else
			return die(name, v, "use on or off");
		break;
	case OPT_CONN_MEMORY:
		if (lks_size_parse(&size, v) < 0 || size < 2048 || size > (1u << 20))
			return die(name, v, "use a size from 2K to 1M, e.g. 8K");
		cfg->conn_memory = (unsigned)size;
		break;
	case OPT_SYNC_FULL:
		cfg->sync_full = v == NULL || (strcmp(v, "0") != 0 && strcmp(v, "") != 0);
		break;
	case OPT_QUIET:
		cfg->quiet = v == NULL || (strcmp(v, "0") != 0 && strcmp(v, "") != 0);
		break;
	}
	return 0;
}

/* The host part of the listen address, for messages. */
static void listen_host(char *out, size_t outsz, const char *listen)
{
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : 0;

	if (n == 0)
		snprintf(out, outsz, "0.0.0.0");
	else
		snprintf(out, outsz, "%.*s", (int)n, listen);
}

static void banner(const lks_server *srv, const lks_server_config *cfg)
{
	char *qr = NULL;
	const char *url = lks_server_public_url(srv);
	char compose[300];

	char host[128];

	listen_host(host, sizeof(host), cfg->listen);
	fprintf(stderr, "linksyncd %s: listening on http://%s:%u, store %s\n", LKS_VERSION, host,
		lks_server_port(srv), cfg->store_url);
	snprintf(compose, sizeof(compose), "%s/", url);
	if (lks_qr_text(&qr, compose, isatty(2) ? LKS_QR_TEXT_COLOR : 0) == 0)
		fputs(qr, stderr);
	free(qr);
	fprintf(stderr, "Open %s on another device (or scan the code above) to send something.\n",
		compose);
}

int main(int argc, char **argv)
{
	lks_server_config cfg;
	struct option longopts[NFLAGS + 1];
	lks_server *srv = NULL;
	sigset_t set;
	int sig, rc, c;

	lks_server_config_init(&cfg);
	/* The environment first, so that flags win. */
	for (size_t i = 0; i < NFLAGS; i++) {
		const char *v = flags[i].env ? getenv(flags[i].env) : NULL;
		if (v != NULL) {
			rc = apply(&cfg, flags[i].id, flags[i].env, v);
			if (rc != 0)
				return rc;
		}
		longopts[i] = (struct option){flags[i].name, flags[i].has_arg, NULL, flags[i].id};
	}
	longopts[NFLAGS] = (struct option){0};
	while ((c = getopt_long(argc, argv, "l:s:h", longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			return 0;
		}
		if (c == OPT_VERSION) {
			printf("linksyncd %s\n", LKS_VERSION);
			return 0;
		}
		if (c == '?') {
			fprintf(stderr, "Try 'linksyncd --help'.\n");
			return 2;
		}
		for (size_t i = 0; i < NFLAGS; i++)
			if (flags[i].id == c) {
				rc = apply(&cfg, c, flags[i].name, optarg);
				if (rc != 0)
					return rc;
			}
	}
	if (optind < argc) {
		fprintf(stderr, "linksyncd: unexpected argument '%s'. Try 'linksyncd --help'.\n",
			argv[optind]);
		return 2;
	}
	if (cfg.default_ttl > cfg.max_ttl)
		cfg.default_ttl = cfg.max_ttl;

	/* Signals are taken by sigwait below, not by a handler on some thread. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	rc = lks_server_start(&srv, &cfg);
	if (rc < 0) {
		fprintf(stderr, "linksyncd: %s\n", lks_error_message());
		return 1;
	}
	if (!cfg.quiet)
		banner(srv, &cfg);
	else {
		char host[128];
		listen_host(host, sizeof(host), cfg.listen);
		fprintf(stderr, "linksyncd: listening on http://%s:%u\n", host, lks_server_port(srv));
	}
	sigwait(&set, &sig);
	if (!cfg.quiet)
		fprintf(stderr, "linksyncd: stopping\n");
	lks_server_stop(srv);
	return 0;
}
