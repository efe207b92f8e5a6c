#!/bin/sh
# Removes what install.sh installed, and the agent's nftables table. POSIX sh: runs under
# BusyBox sh with BusyBox's applets. Installed as /usr/lib/outpost/uninstall.sh.
#
#   sh uninstall.sh [--root DIR] [--keep-config] [--keep-table]
#
# Stops the agent, deletes the table `inet outpost` in this network namespace (the agent leaves
# it in force when it stops, so removing the agent must remove it: a host is never left
# filtered by an agent that is gone), then removes the binary, the service files and their
# boot links, /etc/outpost (unless --keep-config), /var/lib/outpost, the pidfile and the log.
# --keep-table: for an image (--root) on a build machine whose own outpost table must stay.
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

# 1. Stop the agent. On the running system through its service manager; then, whatever the
#    init system, any agent still named in the pidfile (also one running chrooted in $ROOT).
if [ -z "$R" ]; then
	if [ -d /run/systemd/system ] && [ -e /etc/systemd/system/outpost-agent.service ]; then
		say "stopping outpost-agent.service"
		systemctl stop outpost-agent.service || FAILED="$FAILED stop"
	elif [ -x /etc/init.d/outpost-agent ]; then
		if head -n 1 /etc/init.d/outpost-agent | grep -q openrc-run; then
			if [ -d /run/openrc ] && command -v rc-service >/dev/null 2>&1; then
				say "stopping outpost-agent (OpenRC)"
				rc-service outpost-agent stop || FAILED="$FAILED stop"
			fi
		else
			say "stopping outpost-agent (init script)"
			/etc/init.d/outpost-agent stop || FAILED="$FAILED stop"
		fi
	fi
fi
pidfile=$R/run/outpost-agent.pid
if [ -r "$pidfile" ]; then
	pid=$(cat "$pidfile")
	case "$pid" in '' | *[!0-9]*) pid= ;; esac
	if [ -n "$pid" ] && [ "$(tr '\000' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n 1)" = /usr/bin/outpost ]; then
		say "stopping the agent (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		i=0
		while [ "$(tr '\000' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n 1)" = /usr/bin/outpost ]; do
			[ $i -lt 10 ] || { kill -KILL "$pid" 2>/dev/null || true; break; }
			sleep 1
			i=$((i + 1))
		done
	fi
fi

# 2. The table: the agent deliberately leaves it in force when it stops.
if [ "$KEEP_TABLE" = yes ]; then
	say "kept the nftables table inet outpost (--keep-table)"
else
	NFT=$(command -v nft || true)
	[ -n "$NFT" ] || { [ -x "$R/usr/sbin/nft" ] && NFT=$R/usr/sbin/nft; } || true
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
if [ -z "$R" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
for link in "$R"/etc/runlevels/*/outpost-agent "$R"/etc/rc?.d/[SK][0-9][0-9]outpost-agent "$R"/etc/init.d/S[0-9][0-9]outpost-agent; do
	remove "$link"
done
remove "$R/etc/init.d/outpost-agent"
if [ -z "$R" ] && command -v update-rc.d >/dev/null 2>&1; then update-rc.d outpost-agent remove >/dev/null 2>&1 || true; fi
remove "$R/usr/bin/outpost" "$R/var/lib/outpost" "$R/run/outpost-agent.pid" "$R"/var/log/outpost-agent.log*
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
