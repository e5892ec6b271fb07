#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL cluster for tests, from Debian's
# postgresql package: the cluster lives in one folder, listens only on a Unix
# socket inside it (no TCP, so clusters never collide on a port), trusts local
# connections, and holds a database "linksync".
#
#   scripts/pg.sh start DIR   creates DIR (or uses it if empty), starts the
#                             cluster and prints its store URL on stdout:
#                             postgres:///linksync?host=DIR&user=postgres
#   scripts/pg.sh stop DIR    stops the cluster and removes DIR
#   scripts/pg.sh url DIR     prints the URL of a running cluster again
#
# initdb refuses to run as root: as root the cluster runs as the "postgres"
# user (runuser), and DIR is chowned to it, so DIR's parents must be
# traversable by that user (a folder right under /tmp is). As any other user
# the cluster runs as that user.
# Exit codes: 0 ok, 1 failure, 2 usage, 3 PostgreSQL is not installed.
# Environment: LKS_PG_BIN overrides the server's bin folder.
set -euo pipefail

usage() {
	echo "usage: $0 start|stop|url DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case "$dir" in
/*) ;;
*) dir="$(pwd)/$dir" ;;
esac
# The folder goes into a URL and a postgres -c option: keep it plain.
case "$dir" in
*[!A-Za-z0-9/._-]*)
	echo "pg.sh: '$dir': use a folder name of letters, digits, '.', '_', '-'" >&2
	exit 2
	;;
esac

find_bin() {
	local b
	if [ -n "${LKS_PG_BIN:-}" ]; then
		[ -x "$LKS_PG_BIN/initdb" ] && [ -x "$LKS_PG_BIN/pg_ctl" ] || return 1
		echo "$LKS_PG_BIN"
		return 0
	fi
	# The newest installed server version.
	for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$b/initdb" ] && [ -x "$b/pg_ctl" ]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# as_owner CMD...: runs CMD as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() {
	echo "postgres:///linksync?host=$dir&user=postgres"
}

start() {
	local bin
	if ! bin=$(find_bin); then
		echo "pg.sh: PostgreSQL server not installed (apt-get install postgresql)" >&2
		exit 3
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "pg.sh: running as root needs the 'postgres' user (from the postgresql package)" >&2
		exit 3
	fi
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
		echo "pg.sh: $dir exists and is not empty" >&2
		exit 1
	fi
	mkdir -p "$dir"
	chmod 700 "$dir"
	: >"$dir/.lks-pg" # the mark that lets "stop" remove this folder
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres:postgres "$dir"
	fi
	# Superuser "postgres" whoever runs it, trust over the socket only
	# (nothing listens on TCP), UTF-8 with the C locale like a server
	# would be set up, no fsync during initdb (the cluster is throwaway;
	# the running server keeps its durable defaults).
	if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
		--no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200" \
		start >/dev/null; then
		cat "$dir/server.log" >&2
		exit 1
	fi
	if ! as_owner "$bin/createdb" -h "$dir" -U postgres linksync >&2; then
		stop_cluster "$bin"
		exit 1
	fi
	url
}

stop_cluster() {
	as_owner "$1/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

stop() {
	local bin
	# Only a folder this script made: never remove anything else.
	if [ ! -f "$dir/.lks-pg" ]; then
		echo "pg.sh: $dir holds no cluster made by pg.sh" >&2
		exit 1
	fi
	if [ -f "$dir/data/postmaster.pid" ] && bin=$(find_bin); then
		stop_cluster "$bin"
	fi
	rm -rf "$dir"
}

case "$cmd" in
start) start ;;
stop) stop ;;
url)
	[ -f "$dir/data/PG_VERSION" ] || { echo "pg.sh: no cluster in $dir" >&2; exit 1; }
	url
	;;
*) usage ;;
esac
