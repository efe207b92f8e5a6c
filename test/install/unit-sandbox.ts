/**
 * systemd's service sandbox, emulated for the agent's and the relay's units (no systemd as PID 1
 * here): a private mount namespace where every mount is read-only except the unit's
 * StateDirectory, private /tmp and /var/tmp, the working directory `/`, and setpriv giving
 * exactly the capabilities the unit leaves (`caps`: "" for none, "net_admin" for the agent)
 * with no_new_privs and a cleared environment. One script for both units, so a tighter check
 * here tightens both.
 */
import type { Lab, LabProcess } from '../lab/lab.ts';

const CLEAN_PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs as `sh -c <script> sandbox <base> <binary> <args...>`. Prints "sandbox: ..." lines and
 * the capability lines of the shell that then becomes the service.
 */
function sandboxScript(caps: '' | 'net_admin'): string {
  const set = caps ? `-all,+${caps}` : '-all';
  return `set -eu
base=$1; bin=$2; shift 2
mounts=$(awk '{print $2}' /proc/self/mounts | sort -u)
# StateDirectory=: its own mount, made before the rest turns read-only, stays writable.
mount --bind "$base/state" "$base/state"
for m in $mounts; do
	case "$m" in /proc | /proc/* | /dev | /dev/*) continue ;; esac
	mount -o remount,bind,ro "$m" || { echo "sandbox: cannot make $m read-only" >&2; exit 1; }
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
if touch /etc/.outpost-sandbox 2>/dev/null || touch "$base/etc/.outpost-sandbox" 2>/dev/null; then
	echo "sandbox: the root is writable" >&2
	exit 1
fi
touch "$base/state/.probe" && rm "$base/state/.probe"
echo "sandbox: read-only except $base/state"
# systemd starts services in / (WorkingDirectory=); the caller's directory may be under the hidden /tmp.
cd /
exec setpriv --bounding-set=${set} --inh-caps=${set} --ambient-caps=${set} --no-new-privs -- \\
	/bin/sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; exec env -i ${CLEAN_PATH} "$@"' sandbox "$bin" "$@"
`;
}

/** Starts `<base>/outpost <args>` on `host` inside the sandbox (`<base>/state` writable). */
export function spawnSandboxed(lab: Lab, host: string, base: string, caps: '' | 'net_admin', args: readonly string[]): LabProcess {
  return lab.spawn(host, ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', sandboxScript(caps), 'sandbox', base, `${base}/outpost`, ...args]);
}
