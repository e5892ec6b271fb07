#!/usr/bin/env bash
# Installs the Debian packages linksync needs, if any is missing.
# Usage: scripts/deps.sh [build|test|bench|fuzz]...  (build is always included)
set -euo pipefail

pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libqrencode-dev libzbar-dev
	libical-dev libsqlite3-dev libpq-dev libgnutls28-dev nettle-dev libcurl4-openssl-dev
	libjansson-dev libpng-dev libjpeg-dev)
for what in "$@"; do
	case "$what" in
	build) ;;
	test) pkgs+=(libcmocka-dev sqlite3 curl clang libclang-rt-14-dev zbar-tools chromium
		python3 python3-icalendar python3-vobject postgresql haproxy)
		command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm) ;;
	bench) pkgs+=(nginx wrk curl) ;;
	fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
	*) echo "deps.sh: unknown set '$what'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
