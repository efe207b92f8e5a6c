#!/bin/sh
# Removes what install.sh installed, and the agent's nftables table. POSIX sh: runs under
# BusyBox sh with BusyBox's applets. Installed as /usr/lib/outpost/uninstall.sh.
#
#   sh uninstall.sh [--root DIR] [--keep-config] [--keep-table]
#
# Stops the agent and the relay, deletes the table `inet outpost` in this network namespace
# (the agent leaves it in force when it stops, so removing the agent must remove it: a host is
# never left filtered by an agent that is gone), then removes the binary, the service files and
# their boot links, /etc/outpost (unless --keep-config), /var/lib/outpost and
# /var/lib/outpost-relay, the examples, the pidfiles and the logs.
# --root DIR: remove it from an image. The table is then left alone: the one in this network
# namespace belongs to the machine running this script, never to the image (delete it where
# the image runs: nft delete table inet outpost). Only an agent or relay whose root directory
# is DIR (one running chrooted in the image) is stopped.
# --keep-table: keep the table on the running system too.
set -eu

PROG=uninstall.sh
ROOT=/
KEEP_CONFIG=no
KEEP_TABLE=no
FAILED=

say() { echo "$PROG: $*"; }
die() {
	echo "$PROG: error: $*" >&2
	exit 1
}
usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case "$1" in
		--root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
		--root=*) ROOT=${1#--root=}; shift ;;
		--keep-config) KEEP_CONFIG=yes; shift ;;
		--keep-table) KEEP_TABLE=yes; shift ;;
		-h | --help) usage 0 ;;
		*) echo "$PROG: unknown option '$1'" >&2; usage 2 >&2 ;;
	esac
done

[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
if [ "$ROOT" = / ]; then R=; else R=$ROOT; fi
[ "$(id -u)" = 0 ] || die "run as root"
if [ -e "$R/var/lib/dpkg/info/outpost.list" ]; then
	die "outpost is installed as a Debian package under $ROOT; remove it with 'dpkg --purge outpost'"
fi

remove() {
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			rm -rf "$p"
			say "removed $p"
		fi
	done
}

# Stops service $1 (outpost-agent or outpost-relay). On the running system through its service
# manager; then, whatever the init system, the process its pidfile names, if it is outpost and
# its root directory is $ROOT (with --root: only one running chrooted in the image, never one
# of this machine's own).
stop_service() {
	if [ -z "$R" ]; then
		if [ -d /run/systemd/system ] && [ -e "/etc/systemd/system/$1.service" ]; then
			say "stopping $1.service"
			systemctl stop "$1.service" || FAILED="$FAILED stop-$1"
		elif [ -x "/etc/init.d/$1" ]; then
			if head -n 1 "/etc/init.d/$1" | grep -q openrc-run; then
				if [ -d /run/openrc ] && command -v rc-service >/dev/null 2>&1; then
					say "stopping $1 (OpenRC)"
					rc-service "$1" stop || FAILED="$FAILED stop-$1"
				fi
			else
				say "stopping $1 (init script)"
				"/etc/init.d/$1" stop || FAILED="$FAILED stop-$1"
			fi
		fi
	fi
	pidfile=$R/run/$1.pid
	[ -r "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	is_ours "$pid" || return 0
	say "stopping $1 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while is_ours "$pid"; do
		[ $i -lt 10 ] || { kill -KILL "$pid" 2>/dev/null || true; break; }
		sleep 1
		i=$((i + 1))
	done
}

# Whether pid $1 is /usr/bin/outpost running with $ROOT as its root directory.
is_ours() {
	[ "$(tr '\000' '\n' < "/proc/$1/cmdline" 2>/dev/null | head -n 1)" = /usr/bin/outpost ] || return 1
	[ -z "$R" ] && return 0
	[ "$(readlink "/proc/$1/root" 2>/dev/null)" = "$ROOT" ]
}

# 1. Stop the agent and the relay.
stop_service outpost-agent
stop_service outpost-relay

# 2. The table: the agent deliberately leaves it in force when it stops.
if [ -n "$R" ]; then
	say "left this machine's nftables table inet outpost alone (--root $ROOT is an image; where the image runs, uninstalling there deletes it)"
elif [ "$KEEP_TABLE" = yes ]; then
	say "kept the nftables table inet outpost (--keep-table)"
else
	NFT=$(command -v nft || true)
	if [ -z "$NFT" ]; then
		echo "$PROG: error: nft not found; cannot delete the table inet outpost (delete it by hand: nft delete table inet outpost)" >&2
		FAILED="$FAILED table"
	elif "$NFT" list table inet outpost >/dev/null 2>&1; then
		if "$NFT" delete table inet outpost; then
			say "deleted the nftables table inet outpost"
		else
			FAILED="$FAILED table"
		fi
	else
		say "no nftables table inet outpost (nothing to delete)"
	fi
fi

# 3. Files.
remove "$R/etc/systemd/system/sysinit.target.wants/outpost-agent.service" "$R/etc/systemd/system/outpost-agent.service"
remove "$R/etc/systemd/system/multi-user.target.wants/outpost-relay.service" "$R/etc/systemd/system/outpost-relay.service"
if [ -z "$R" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
for svc in outpost-agent outpost-relay; do
	for link in "$R"/etc/runlevels/*/$svc "$R"/etc/rc?.d/[SK][0-9][0-9]$svc "$R"/etc/init.d/S[0-9][0-9]$svc; do
		remove "$link"
	done
	remove "$R/etc/init.d/$svc"
	if [ -z "$R" ] && command -v update-rc.d >/dev/null 2>&1; then update-rc.d $svc remove >/dev/null 2>&1 || true; fi
	remove "$R/run/$svc.pid" "$R"/var/log/$svc.log*
done
remove "$R/usr/bin/outpost" "$R/var/lib/outpost" "$R/var/lib/outpost-relay" "$R/usr/share/doc/outpost"
# install.sh may have created these for the examples; only empty ones go.
rmdir "$R/usr/share/doc" 2>/dev/null && rmdir "$R/usr/share" 2>/dev/null || true
if [ "$KEEP_CONFIG" = yes ]; then
	say "kept $R/etc/outpost (--keep-config)"
else
	remove "$R/etc/outpost"
fi
# Last, this script itself (when it runs from there; the shell has it open already).
remove "$R/usr/lib/outpost"

if [ -n "$FAILED" ]; then
	echo "$PROG: FAILED:$FAILED (see above); run $PROG again once fixed" >&2
	exit 1
fi
say "outpost removed from $ROOT"
