/* The linksync HTTP server as a library: linksyncd is a small main around it,
 * and the CLI can embed it to share from the local machine. */
#ifndef LINKSYNC_SERVER_H
#define LINKSYNC_SERVER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lks_server lks_server;

typedef struct lks_server_config {
	const char *listen;       /* "ADDR:PORT", "[V6]:PORT" or ":PORT"; port 0 picks a free one */
	const char *store_url;    /* "sqlite:PATH" */
	const char *public_url;   /* base of every link; NULL derives it from the LAN address */
	uint64_t max_size;        /* largest item in bytes */
	int64_t default_ttl;      /* seconds */
	int64_t max_ttl;          /* seconds */
	unsigned threads;         /* worker threads; 0 = one per core */
	unsigned conn_timeout;    /* seconds of inactivity before a connection is closed */
	unsigned conn_limit;      /* connections at once */
	unsigned per_ip_limit;    /* connections at once from one address; 0 = no limit */
	unsigned sweep_interval;  /* seconds between sweeps of expired items */
	int sync_full;            /* SQLite synchronous=FULL */
	uint64_t cache_bytes;     /* small unlimited items kept in memory; 0 = none */
	unsigned conn_memory;     /* bytes per connection for headers and buffers */
	int group_commit;         /* creates share transactions (1, the default) or not */
	int quiet;                /* no startup banner on stderr */
} lks_server_config;

/* Fills cfg with the defaults (listen 0.0.0.0:8080, the default SQLite store,
 * 25 MiB, ttl 24 h, max ttl 30 d, one thread per core, 30 s timeout, 10000
 * connections, no per-address limit, a sweep a minute, a 32 MiB read cache,
 * 4 KiB per connection). */
void lks_server_config_init(lks_server_config *cfg);

/* Opens the store and starts serving on background threads. Returns 0,
 * LKS_EINVAL (bad listen address or public URL), LKS_ESTORE, LKS_EIO (cannot
 * listen) or LKS_ENOMEM, with the reason in lks_error_message. */
int lks_server_start(lks_server **out, const lks_server_config *cfg);

/* The base URL put into links (no trailing slash); borrowed. */
const char *lks_server_public_url(const lks_server *srv);

/* The port actually listened on. */
uint16_t lks_server_port(const lks_server *srv);

/* Stops serving, waits for the threads and frees everything. NULL is fine. */
void lks_server_stop(lks_server *srv);

#ifdef __cplusplus
}
#endif
#endif
