# scripts/lib.sh: set-up shared by scripts/test.sh and scripts/demo.sh.
#
# Both run as root on a fresh Debian 12 machine.  They install what they need
# with apt (idempotently), build in a scratch copy of the tree owned by an
# unprivileged user (PostgreSQL refuses to run as root), install the
# extension as root, and run every server as that user.

set -euo pipefail

LANCEDB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LANCEDB_USER=${LANCEDB_USER:-lancedb}
PG_BINDIR=/usr/lib/postgresql/15/bin

# Packages every build needs.
LANCEDB_BUILD_PACKAGES=(build-essential git postgresql-15 postgresql-server-dev-15 clang
	libprotobuf-c-dev protobuf-c-compiler libzstd-dev liblz4-dev libroaring-dev liburing-dev)

lancedb_log() { printf '\n=== %s\n' "$*"; }

lancedb_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "run this as root (it installs packages and creates the '$LANCEDB_USER' user)" >&2
		exit 1
	fi
}

# Install the named Debian packages that are not installed yet.
lancedb_install_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	lancedb_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The unprivileged user that owns scratch trees and runs PostgreSQL.
lancedb_ensure_user() {
	id -u "$LANCEDB_USER" >/dev/null 2>&1 ||
		useradd --create-home --shell /bin/bash "$LANCEDB_USER"
}

# Runs from / so that a caller's working directory the user cannot read
# (such as /root) draws no warnings; every caller passes absolute paths.
lancedb_as_user() {
	(cd / && runuser -u "$LANCEDB_USER" -- env PATH="$PG_BINDIR:$PATH" HOME="$(getent passwd "$LANCEDB_USER" | cut -d: -f6)" "$@")
}

# Copy the source tree (tracked and untracked-but-not-ignored files, as they
# are in the work tree) into a fresh scratch directory owned by the user, and
# print its path.  Builds and test outputs then never touch the checkout.
lancedb_stage_tree() {
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/lancedb-$1.XXXXXX")
	chmod 755 "$dir"
	(cd "$LANCEDB_REPO" && git ls-files -z -co --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$dir"
	chown -R "$LANCEDB_USER:" "$dir"
	echo "$dir"
}

# Build as the user with warnings as errors, then install as root.
lancedb_build_and_install() {
	local dir=$1
	lancedb_log "building lancedb (warnings are errors)"
	lancedb_as_user make -C "$dir" -s -j"$(nproc)" WERROR=1
	make -C "$dir" -s install >/dev/null
}

# lancedb_start_cluster DIR PORT [SETTINGS]: a throwaway cluster in DIR/data,
# listening only on a Unix socket in DIR, with lancedb preloaded and SETTINGS
# (postgresql.conf lines) added.  The caller stops it with
# lancedb_stop_cluster DIR (also from an EXIT trap).
lancedb_start_cluster() {
	local dir=$1 port=$2 settings=${3:-}
	lancedb_as_user "$PG_BINDIR/initdb" -D "$dir/data" -A trust --no-sync >/dev/null
	cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'lancedb'
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
shared_buffers = 512MB
max_wal_size = 4GB
$settings
CONF
	lancedb_as_user "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

lancedb_stop_cluster() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	lancedb_as_user "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
		lancedb_as_user "$PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}

# lancedb_fashion_client NAME PORT SCRIPT [ARGS...]: what the demo and the
# SQL benchmarks share.  Installs the client's packages, builds and installs
# the extension from a scratch copy, starts a throwaway cluster on PORT, and
# runs the Python client SCRIPT (a path inside the tree) against it as the
# unprivileged user.  The cluster and the scratch tree are removed on exit.
lancedb_fashion_client() {
	local name=$1 port=$2 script=$3
	shift 3
	lancedb_require_root
	lancedb_install_packages "${LANCEDB_BUILD_PACKAGES[@]}" \
		dataset-fashion-mnist python3 python3-numpy python3-psycopg2
	lancedb_ensure_user

	work=$(lancedb_stage_tree "$name")
	trap 'lancedb_stop_cluster "$work"; rm -rf "$work"' EXIT
	lancedb_build_and_install "$work"

	lancedb_log "starting a throwaway cluster"
	lancedb_start_cluster "$work" "$port"

	lancedb_as_user /usr/bin/python3 "$work/$script" --host "$work" --port "$port" "$@"
}
