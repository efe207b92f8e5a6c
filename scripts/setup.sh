#!/usr/bin/env bash
# Installs everything outpost's demo and tests need on a fresh Debian machine (run as root):
# nftables, iproute2, mosquitto, etcd-server, etcd-client (etcdctl, used by tests that write in Calico's layout by hand) and ping from Debian;
# for the build and install tests: qemu-user-static + libc6-arm64-cross (run the arm64 binary), busybox-static (a
# minimal appliance root filesystem), xz-utils and dpkg (packages), systemd (systemd-analyze verify), strace (checks
# the agent's system calls against the unit's SystemCallFilter);
# bun from npm (the version pinned in package.json's packageManager); the project's dependencies from bun.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then echo "setup.sh: run as root (it installs packages and the tests create network namespaces)" >&2; exit 1; fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends nftables iproute2 mosquitto etcd-server etcd-client iputils-ping procps ca-certificates \
  qemu-user-static libc6-arm64-cross busybox-static xz-utils dpkg systemd util-linux strace >/dev/null
# OpenRC for test/install/openrc.test.ts (test/install/openrc-root.ts names this folder too), downloaded and
# never installed: the test unpacks it into a scratch root (openrc conflicts with sysv-rc, and this machine's init
# must not change). `apt-get download` fetches just these, resolving and installing nothing (insserv: the
# /etc/insserv.conf openrc reads); the folder is emptied first so it holds only the current versions.
OPENRC_DEBS=/var/cache/outpost-test/openrc
rm -rf "$OPENRC_DEBS" && mkdir -p "$OPENRC_DEBS" && chown _apt:root "$OPENRC_DEBS"
(cd "$OPENRC_DEBS" && apt-get download -qq openrc libeinfo1 librc1 insserv)
command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends npm >/dev/null
# The Debian services are not wanted: the tests start their own instances on their own ports.
(systemctl disable --now mosquitto etcd 2>/dev/null || true) >/dev/null
# The one pinned Bun version is package.json's packageManager field; scripts/build.ts refuses any other.
BUN_VERSION="$(node -p 'require("./package.json").packageManager.replace(/^bun@/, "")')"
if [ "$(bun --version 2>/dev/null || true)" != "$BUN_VERSION" ]; then npm install -g --silent "bun@$BUN_VERSION"; fi
bun install --frozen-lockfile
echo "setup done: $(bun --version) / $(nft --version)"
