#!/bin/sh
# deps.sh: installs the Debian 12 packages the build, the server and the tests
# need, only when one is missing, and the tests' npm packages (npm ci), so
# README's commands work on a fresh machine.
set -e
PKGS="build-essential pkg-config libwebsockets-dev librrd-dev libjansson-dev \
libsqlite3-dev libssl-dev zlib1g-dev libcmocka-dev rrdtool rrdcached sqlite3 curl nodejs npm \
clang valgrind prometheus chromium fonts-noto-cjk"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Node and npm may come from outside Debian's packages (a preinstalled toolchain): accept them.
command -v node >/dev/null && missing=$(echo "$missing" | sed 's/ nodejs\b//')
command -v npm >/dev/null && missing=$(echo "$missing" | sed 's/ npm\b//')
if [ -n "$missing" ]; then
	echo "deps: installing$missing" >&2
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi

# The integration and browser tests' node packages (pinned in package-lock.json).
if [ -f package-lock.json ] && [ ! -d node_modules/playwright-core ]; then
	echo "deps: npm ci" >&2
	npm ci --no-audit --no-fund >&2
fi
