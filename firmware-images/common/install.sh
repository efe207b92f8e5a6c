#!/bin/sh
# Installs outpost from this unpacked tarball, for hosts without a package manager and for
# image builders (--root). POSIX sh: runs under BusyBox sh with BusyBox's applets.
#
#   sh install.sh [--root DIR] [--init systemd|openrc|sysv|none] [--enable] [--start] [--enable-relay]
#
# Installs /usr/bin/outpost, /etc/outpost/agent.yaml and the sample /etc/outpost/relay.yaml
# (never overwriting existing ones), the state directory /var/lib/outpost (0700), the agent's
# and the relay's services for the init system (found, or given with --init), the example
# manifests in /usr/share/doc/outpost/examples, /usr/lib/outpost/pki.sh (certificates for the
# MQTT channel) and /usr/lib/outpost/uninstall.sh.
# --enable: start the agent at boot (before the network). --start: start the agent now.
# Neither is the default: the default agent.yaml configures no policy source (an agent without
# one refuses to run), so enabling is for a host or image whose agent.yaml is in place.
# --enable-relay: start the relay at boot (after the network), on the machine that runs it;
# its service is installed everywhere but never enabled otherwise.
set -eu

PROG=install.sh
SRC=$(cd "$(dirname "$0")" && pwd)
ROOT=/
INIT=
ENABLE=no
ENABLE_RELAY=no
START=no

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
		--init) [ $# -ge 2 ] || die "--init needs systemd, openrc, sysv or none"; INIT=$2; shift 2 ;;
		--init=*) INIT=${1#--init=}; shift ;;
		--enable) ENABLE=yes; shift ;;
		--enable-relay) ENABLE_RELAY=yes; shift ;;
		--start) START=yes; shift ;;
		-h | --help) usage 0 ;;
		*) echo "$PROG: unknown option '$1'" >&2; usage 2 >&2 ;;
	esac
done

[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
# R is prefixed to every installed path; empty for the running system.
if [ "$ROOT" = / ]; then R=; else R=$ROOT; fi

trap 'rc=$?; [ $rc -eq 0 ] || echo "$PROG: FAILED (exit $rc): the installation under $ROOT is incomplete; see above, fix it and run $PROG again" >&2' EXIT

[ "$(id -u)" = 0 ] || die "run as root (it installs under $ROOT and the agent needs CAP_NET_ADMIN)"
[ -f "$SRC/rootfs/usr/bin/outpost" ] || die "$SRC/rootfs/usr/bin/outpost is missing: run $PROG from the unpacked outpost tarball"
TARGET=$(sed -n 's/^target=//p' "$SRC/VERSION" 2>/dev/null || true)
VERSION=$(sed -n 's/^version=//p' "$SRC/VERSION" 2>/dev/null || true)

if [ -e "$R/var/lib/dpkg/info/outpost.list" ]; then
	die "outpost is installed as a Debian package under $ROOT; upgrade it with dpkg/apt (or 'dpkg --purge outpost' first)"
fi

# The running system must be able to run the binary; an image (--root) may be for another CPU.
if [ -z "$R" ]; then
	case "$(uname -m):$TARGET" in
		x86_64:linux-x64* | aarch64:linux-arm64* | arm64:linux-arm64* | *:) ;;
		*) die "this tarball is for $TARGET, but this machine is $(uname -m)" ;;
	esac
fi

detect_init() {
	if [ -z "$R" ]; then
		# What booted the running system.
		[ -d /run/systemd/system ] && { echo systemd; return; }
		[ -d /run/openrc ] && { echo openrc; return; }
	fi
	if [ -x "$R/lib/systemd/systemd" ] || [ -x "$R/usr/lib/systemd/systemd" ]; then echo systemd; return; fi
	if [ -x "$R/sbin/openrc-run" ] || [ -x "$R/usr/sbin/openrc-run" ]; then echo openrc; return; fi
	if [ -d "$R/etc/init.d" ]; then echo sysv; return; fi
	echo none
}

if [ -z "$INIT" ]; then
	INIT=$(detect_init)
	say "init system: $INIT (detected; override with --init)"
else
	case "$INIT" in systemd | openrc | sysv | none) ;; *) die "--init must be systemd, openrc, sysv or none (got '$INIT')" ;; esac
	say "init system: $INIT"
fi
if [ "$START" = yes ] && [ -n "$R" ]; then die "--start starts the agent on this machine; it cannot be combined with --root $ROOT"; fi
if [ "$START" = yes ] && [ "$INIT" = none ]; then die "--start needs an init system (--init systemd|openrc|sysv)"; fi

# Copies $1 to $2 with mode $3, replacing the target with a rename: a running binary is never
# written in place, and a reader never sees half a file.
put() {
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.new.$$"
	chmod "$3" "$2.new.$$"
	mv -f "$2.new.$$" "$2"
	say "installed $2"
}

link() {
	mkdir -p "$(dirname "$2")"
	ln -sfn "$1" "$2"
	say "enabled at boot: $2 -> $1"
}

# Enables sysv script $1 at boot; $2 is its BusyBox rcS position.
sysv_enable() {
	if [ -d "$R/etc/rcS.d" ] || [ -d "$R/etc/rc2.d" ]; then
		# Debian's sysv-rc: links ordered from the LSB header.
		if [ -z "$R" ] && command -v update-rc.d >/dev/null 2>&1; then
			update-rc.d "$1" defaults
			say "enabled at boot: update-rc.d $1 defaults"
		else
			say "NOTE: enable it at boot inside the image: update-rc.d $1 defaults"
		fi
	elif [ -e "$R/etc/init.d/rcS" ]; then
		link "$1" "$R/etc/init.d/$2$1"
	else
		say "NOTE: no rcS or rc?.d found under $ROOT; start /etc/init.d/$1 from your boot scripts"
	fi
}

say "installing outpost ${VERSION:-?} (${TARGET:-?}) under $ROOT"
put "$SRC/rootfs/usr/bin/outpost" "$R/usr/bin/outpost" 0755

mkdir -p "$R/etc/outpost"
if [ -e "$R/etc/outpost/agent.yaml" ]; then
	say "kept the existing $R/etc/outpost/agent.yaml"
else
	put "$SRC/rootfs/etc/outpost/agent.yaml" "$R/etc/outpost/agent.yaml" 0600
fi

# The sample relay configuration: complete, but it names key files that do not exist yet, so a
# relay enabled by mistake refuses to start (exit status 2) until they are created.
if [ -e "$R/etc/outpost/relay.yaml" ]; then
	say "kept the existing $R/etc/outpost/relay.yaml"
else
	put "$SRC/rootfs/etc/outpost/relay.yaml" "$R/etc/outpost/relay.yaml" 0600
fi

mkdir -p "$R/var/lib/outpost"
chmod 0700 "$R/var/lib/outpost"
say "state directory $R/var/lib/outpost (0700)"

put "$SRC/uninstall.sh" "$R/usr/lib/outpost/uninstall.sh" 0755

put "$SRC/pki.sh" "$R/usr/lib/outpost/pki.sh" 0755

# Example manifests (a first host in local mode, tiers, policy tests, a staged policy), replaced
# as a whole so an upgrade leaves no stale example behind.
mkdir -p "$R/usr/share/doc/outpost"
rm -rf "$R/usr/share/doc/outpost/examples.new.$$"
cp -R "$SRC/examples" "$R/usr/share/doc/outpost/examples.new.$$"
chmod -R u=rwX,go=rX "$R/usr/share/doc/outpost/examples.new.$$"
rm -rf "$R/usr/share/doc/outpost/examples"
mv "$R/usr/share/doc/outpost/examples.new.$$" "$R/usr/share/doc/outpost/examples"
say "installed $R/usr/share/doc/outpost/examples"

case "$INIT" in
	systemd)
		put "$SRC/services/systemd/outpost-agent.service" "$R/etc/systemd/system/outpost-agent.service" 0644
		# What `systemctl enable` does for WantedBy=sysinit.target, without needing systemctl.
		if [ "$ENABLE" = yes ]; then
			link /etc/systemd/system/outpost-agent.service "$R/etc/systemd/system/sysinit.target.wants/outpost-agent.service"
		fi
		put "$SRC/services/systemd/outpost-relay.service" "$R/etc/systemd/system/outpost-relay.service" 0644
		if [ "$ENABLE_RELAY" = yes ]; then
			link /etc/systemd/system/outpost-relay.service "$R/etc/systemd/system/multi-user.target.wants/outpost-relay.service"
		fi
		if [ -z "$R" ] && [ -d /run/systemd/system ]; then
			systemctl daemon-reload
			say "systemctl daemon-reload"
		fi
		;;
	openrc)
		put "$SRC/services/openrc/outpost-agent" "$R/etc/init.d/outpost-agent" 0755
		# What `rc-update add outpost-agent boot` does: boot, so it runs before the network.
		if [ "$ENABLE" = yes ]; then link /etc/init.d/outpost-agent "$R/etc/runlevels/boot/outpost-agent"; fi
		put "$SRC/services/openrc/outpost-relay" "$R/etc/init.d/outpost-relay" 0755
		if [ "$ENABLE_RELAY" = yes ]; then link /etc/init.d/outpost-relay "$R/etc/runlevels/default/outpost-relay"; fi
		;;
	sysv)
		put "$SRC/services/sysv/outpost-agent" "$R/etc/init.d/outpost-agent" 0755
		put "$SRC/services/sysv/outpost-relay" "$R/etc/init.d/outpost-relay" 0755
		# BusyBox-style rcS runs /etc/init.d/S??* in order; S40network brings the network up:
		# the agent before it (S35), the relay after it (S50).
		if [ "$ENABLE" = yes ]; then sysv_enable outpost-agent S35; fi
		if [ "$ENABLE_RELAY" = yes ]; then sysv_enable outpost-relay S50; fi
		;;
	none)
		say "no service installed (--init none); run: /usr/bin/outpost agent --config /etc/outpost/agent.yaml"
		;;
esac

if [ "$START" = yes ]; then
	case "$INIT" in
		systemd) systemctl start outpost-agent.service ;;
		openrc) rc-service outpost-agent start ;;
		sysv) /etc/init.d/outpost-agent start ;;
	esac
	say "started outpost-agent"
else
	say "done. Configure $R/etc/outpost/agent.yaml (relay or local mode), then enable and start the service."
	say "the relay's service (outpost-relay) is installed but not enabled; on the relay's machine configure $R/etc/outpost/relay.yaml first."
fi
