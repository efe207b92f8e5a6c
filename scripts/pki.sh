#!/bin/sh
# outpost PKI for the MQTT channel (README "Authenticated channel (mTLS)"): a CA, the relay's
# certificate, a broker certificate for Mosquitto, and one client certificate per node whose CN
# (and DNS SAN) is the node name: the identity the broker's ACL checks.
#
#   scripts/pki.sh [--dir DIR] [--days N] [--force] ca
#   scripts/pki.sh [--dir DIR] [--days N] [--force] relay  [--name relay] [--san IP:198.18.0.1,DNS:hub.example]
#   scripts/pki.sh [--dir DIR] [--days N] [--force] broker [--san IP:198.18.0.1,DNS:mqtt.example]
#   scripts/pki.sh [--dir DIR] [--days N] [--force] node NAME...
#
# DIR (default ./pki) gets ca.crt/ca.key, relay.crt/relay.key, broker.crt/broker.key and
# nodes/NAME.crt/nodes/NAME.key. Private keys are created 0600 (umask 077). Idempotent: a
# certificate and key that already exist are kept (exit 0); replacing them needs --force, and a
# lone key or certificate (a half-finished run) is an error until --force.
# The relay certificate serves both as the relay's client identity and as the embedded
# broker's server certificate: give --san with every address or name agents dial.
set -eu
umask 077

dir=./pki days=825 force=0 san='' name=relay
usage() { sed -n '6,9p' "$0" | sed 's/^# *//' >&2; exit 2; }
die() { echo "pki.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --days) [ $# -ge 2 ] || usage; days=$2; shift 2 ;;
    --san) [ $# -ge 2 ] || usage; san=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "pki.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
cmd=$1; shift
# Options may also follow the command (relay --san ...).
rest=''
while [ $# -gt 0 ]; do
  case "$1" in
    --san) [ $# -ge 2 ] || usage; san=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --days) [ $# -ge 2 ] || usage; days=$2; shift 2 ;;
    --force) force=1; shift ;;
    -*) echo "pki.sh: unknown option $1" >&2; usage ;;
    *) rest="$rest $1"; shift ;;
  esac
done
case "$days" in ''|*[!0-9]*) die "--days must be a whole number" ;; esac

# Node names are Calico node names (DNS-1123 subdomains): no "/", "+" or "#" can reach a topic.
valid_name() {
  printf '%s' "$1" | grep -Eqx '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*' && [ ${#1} -le 253 ]
}
valid_san() {
  [ -z "$1" ] || printf '%s' "$1" | grep -Eqx '((IP:[0-9A-Fa-f:.]+|DNS:[A-Za-z0-9*.-]+),)*(IP:[0-9A-Fa-f:.]+|DNS:[A-Za-z0-9*.-]+)'
}

# exists BASE: 0 when BASE.crt and BASE.key exist and are kept; 1 when they are to be (re)made.
exists() {
  if [ -e "$1.crt" ] && [ -e "$1.key" ] && [ "$force" = 0 ]; then echo "kept $1.crt (exists; --force replaces it)"; return 0; fi
  if { [ -e "$1.crt" ] || [ -e "$1.key" ]; } && [ "$force" = 0 ]; then die "$1.crt or $1.key exists without the other; remove it or use --force"; fi
  return 1
}

# issue BASE CN EXTENSIONS: a P-256 key and a certificate signed by the CA.
issue() {
  [ -e "$dir/ca.crt" ] && [ -e "$dir/ca.key" ] || die "no CA in $dir: run scripts/pki.sh --dir $dir ca first"
  tmp=$(mktemp -d "$dir/.pki.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key" 2>/dev/null
  openssl req -new -key "$tmp/key" -subj "/CN=$2" -out "$tmp/csr"
  printf '%s\n' "$3" > "$tmp/ext"
  openssl x509 -req -in "$tmp/csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -sha256 -extfile "$tmp/ext" -out "$tmp/crt" 2>/dev/null
  chmod 600 "$tmp/key"
  chmod 644 "$tmp/crt"
  mv -f "$tmp/key" "$1.key"
  mv -f "$tmp/crt" "$1.crt"
  rm -rf "$tmp"
  trap - EXIT
  echo "wrote $1.crt and $1.key (CN=$2)"
}

mkdir -p "$dir"
case "$cmd" in
  ca)
    [ -z "$rest" ] || usage
    if exists "$dir/ca"; then exit 0; fi
    tmp=$(mktemp -d "$dir/.pki.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key" 2>/dev/null
    openssl req -x509 -new -key "$tmp/key" -subj "/CN=outpost MQTT CA" -days "$days" -sha256 \
      -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out "$tmp/crt"
    chmod 600 "$tmp/key"; chmod 644 "$tmp/crt"
    mv -f "$tmp/key" "$dir/ca.key"; mv -f "$tmp/crt" "$dir/ca.crt"
    echo "wrote $dir/ca.crt and $dir/ca.key (keep ca.key offline)"
    ;;
  relay)
    [ -z "$rest" ] || usage
    valid_name "$name" || die "relay name $name must be a DNS-1123 name"
    valid_san "$san" || die "--san must be a comma-separated list of IP:ADDR and DNS:NAME"
    if exists "$dir/relay"; then exit 0; fi
    issue "$dir/relay" "$name" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth,serverAuth
subjectAltName=DNS:$name${san:+,$san}"
    ;;
  broker)
    [ -z "$rest" ] || usage
    [ -n "$san" ] || die "broker needs --san with the addresses and names clients dial (IP:198.18.0.1,DNS:mqtt.example)"
    valid_san "$san" || die "--san must be a comma-separated list of IP:ADDR and DNS:NAME"
    if exists "$dir/broker"; then exit 0; fi
    issue "$dir/broker" "outpost broker" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
    ;;
  node)
    [ -n "$rest" ] || usage
    mkdir -p "$dir/nodes"
    for n in $rest; do
      valid_name "$n" || die "node name $n must be a DNS-1123 subdomain (lower case), as Calico node names are"
      # The relay's identity has the relay's rights on the broker: no node may carry it.
      [ "$n" != "$name" ] || die "node name $n is the relay's identity; give the relay another --name"
      if [ -e "$dir/relay.crt" ] && openssl x509 -in "$dir/relay.crt" -noout -subject -nameopt multiline | grep -Eqx "[[:space:]]*commonName[[:space:]]*= $n"; then
        die "node name $n is the relay's identity (relay.crt)"
      fi
      if exists "$dir/nodes/$n"; then continue; fi
      issue "$dir/nodes/$n" "$n" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:$n"
    done
    ;;
  *) usage ;;
esac
