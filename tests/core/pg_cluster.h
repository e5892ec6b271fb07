/* The PostgreSQL cluster of a unit-test program: env LKS_PG_URL, or else a
 * throwaway one started with scripts/pg.sh (from env LKS_SRC, or this file's
 * place in the source tree) and stopped at the end; an admin connection to
 * create and drop the tests' schemas and to look behind the store's back.
 * Without PostgreSQL installed, pg.skip says why and the tests skip.
 * Included by one .c file per program (static state and functions). */
#ifndef LKS_TEST_PG_CLUSTER_H
#define LKS_TEST_PG_CLUSTER_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	char url[600];     /* the cluster's database */
	char dir[64];      /* the cluster pg.sh started, or "" */
	const char *skip;  /* why every test is skipped, or NULL */
	PGconn *admin;     /* creates and drops the test schemas */
	int schemas;       /* schema names handed out */
	const char *who;   /* the test program, for messages */
} pg;

/* The source tree: env LKS_SRC, or this file's place in it. */
static void pg_source_dir(char *out, size_t size)
{
	const char *env = getenv("LKS_SRC");
	const char *cut;

	if (env != NULL && *env != '\0') {
		snprintf(out, size, "%s", env);
		return;
	}
	cut = strstr(__FILE__, "/tests/core/");
	snprintf(out, size, "%.*s", cut ? (int)(cut - __FILE__) : 1, cut ? __FILE__ : ".");
}

/* A cmocka group setup's body: finds or starts the cluster and connects.
 * Returns 0 (pg.skip set when there is no PostgreSQL) or -1. */
static int pg_cluster_start(const char *who)
{
	const char *env = getenv("LKS_PG_URL");
	char src[512], cmd[1200];
	FILE *p;
	int status;

	pg.who = who;
	if (env != NULL && *env != '\0') {
		snprintf(pg.url, sizeof(pg.url), "%s", env);
	} else {
		pg_source_dir(src, sizeof(src));
		snprintf(pg.dir, sizeof(pg.dir), "/tmp/lks-pgtest-XXXXXX");
		if (mkdtemp(pg.dir) == NULL)
			return -1;
		snprintf(cmd, sizeof(cmd), "'%s/scripts/pg.sh' start '%s'", src, pg.dir);
		p = popen(cmd, "r");
		if (p == NULL)
			return -1;
		if (fgets(pg.url, sizeof(pg.url), p) == NULL)
			pg.url[0] = '\0';
		pg.url[strcspn(pg.url, "\n")] = '\0';
		status = pclose(p);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
			rmdir(pg.dir);
			pg.dir[0] = '\0';
			pg.skip = "PostgreSQL is not installed (apt-get install postgresql), "
				  "and LKS_PG_URL is not set";
			fprintf(stderr, "%s: skipping the PostgreSQL tests: %s\n", who, pg.skip);
			return 0;
		}
		if (status != 0 || pg.url[0] == '\0') {
			fprintf(stderr, "%s: %s failed\n", who, cmd);
			return -1;
		}
	}
	pg.admin = PQconnectdb(pg.url);
	if (PQstatus(pg.admin) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot connect to %s: %s", who, pg.url,
			PQerrorMessage(pg.admin));
		return -1;
	}
	PQclear(PQexec(pg.admin, "SET client_min_messages = warning"));
	return 0;
}

/* A cmocka group teardown's body: disconnects, and stops a cluster it started. */
static int pg_cluster_stop(void)
{
	char src[512], cmd[1200];
	int rc = 0;

	PQfinish(pg.admin);
	pg.admin = NULL;
	if (pg.dir[0] != '\0') {
		pg_source_dir(src, sizeof(src));
		snprintf(cmd, sizeof(cmd), "'%s/scripts/pg.sh' stop '%s'", src, pg.dir);
		rc = system(cmd) == 0 ? 0 : -1;
	}
	return rc;
}

/* Runs SQL on the admin connection (failing the test on an error); returns
 * the first value as a number. */
static long pg_admin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long pg_admin(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	PGresult *r;
	long v = 0;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = PQexec(pg.admin, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg.admin));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* Creates a new schema, its name in name (48 bytes are enough), and a store
 * URL in url that uses it and names its connections after it (so that
 * pg_stat_activity tells them apart). */
static void pg_new_schema(char *name, size_t name_size, char *url, size_t url_size)
{
	snprintf(name, name_size, "lks_t%d_%d", (int)getpid(), ++pg.schemas);
	pg_admin("CREATE SCHEMA %s", name);
	snprintf(url, url_size, "%s%soptions=-csearch_path%%3D%s&application_name=%s", pg.url,
		 strchr(pg.url, '?') ? "&" : "?", name, name);
}

#endif
