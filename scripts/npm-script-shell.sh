#!/bin/sh
# npm's script shell for this repository (.npmrc: script-shell=${PWD}/scripts/npm-script-shell.sh).
# npm runs every script through it as `<this> -c "<command>"`: the project's own (start, test,
# build) and the install scripts of dependencies alike. It only prepares the environment, then
# hands the command to /bin/sh unchanged, so for every script but one it is plain sh.
#
# The exception is the native build of @confluentinc/kafka-javascript (librdkafka). Its prebuilt
# binary comes from a host this machine cannot reach, and its default source build downloads zlib
# and OpenSSL. CKJS_LINKING=dynamic (read from the environment only) makes it build its bundled
# librdkafka against Debian's libraries instead, which need their -dev packages. Before that one
# script, as root on Debian, the missing packages are installed with apt-get; otherwise the exact
# command to run is printed. See docs/kafka.md.

export CKJS_LINKING=dynamic

# Debian packages the librdkafka build links against, then the tools node-gyp drives it with.
STREAMGATE_KAFKA_DEV_PACKAGES="zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev pkg-config"

streamgate_missing_packages() {
  missing=""
  for pkg in $STREAMGATE_KAFKA_DEV_PACKAGES; do
    # "install ok installed" only: a removed package leaves "deinstall ok config-files" behind.
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=""
    [ "$status" = "install ok installed" ] || missing="$missing $pkg"
  done
  command -v make >/dev/null 2>&1 || missing="$missing make"
  command -v g++ >/dev/null 2>&1 || missing="$missing g++"
  command -v python3 >/dev/null 2>&1 || missing="$missing python3"
  printf '%s' "${missing# }"
}

streamgate_ensure_kafka_build_deps() {
  # Not Debian (no dpkg): nothing we know how to check; the build says what it lacks.
  command -v dpkg-query >/dev/null 2>&1 || return 0
  missing=$(streamgate_missing_packages)
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "streamgate: the Kafka client's native build needs Debian packages that are missing." >&2
    echo "streamgate: run: sudo apt-get install -y --no-install-recommends $missing" >&2
    return 0
  fi
  echo "streamgate: installing build dependencies of the Kafka client: $missing" >&2
  log=$(mktemp "${TMPDIR:-/tmp}/streamgate-apt-XXXXXX")
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1; then
    rm -f "$log"
  else
    cat "$log" >&2
    rm -f "$log"
    echo "streamgate: apt-get failed; install by hand: apt-get install -y $missing" >&2
  fi
}

if [ "${npm_package_name:-}" = "@confluentinc/kafka-javascript" ] && [ "${npm_lifecycle_event:-}" = "install" ]; then
  streamgate_ensure_kafka_build_deps
fi

exec /bin/sh "$@"
