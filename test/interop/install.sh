#!/usr/bin/env bash
# test/interop/install.sh: make the pinned LanceDB (package-lock.json here)
# available to the interop suite, and print the node_modules directory.
#
#   bash test/interop/install.sh        # prints e.g. /var/cache/lancedb/interop-<hash>/node_modules
#
# Idempotent, and a no-op (well under a second) once done:
#   - installs Debian's nodejs and npm with apt, only if `node` is missing
#     (root only; Debian 12 machines of this project already have node 20);
#   - runs `npm ci` once into $LANCEDB_INTEROP_CACHE/interop-<hash of the lock
#     file>/ (default /var/cache/lancedb), owned by the unprivileged user
#     $LANCEDB_USER (default lancedb), outside any scratch tree, so staged
#     copies of the repository share one install.  A new lock file gets a new
#     directory; an interrupted install is redone (it is only published, by a
#     rename, when complete).
# As root it creates the cache directory and runs npm as the user; as any
# other user it needs the cache directory to be writable (or complete).
# Progress goes to stderr; stdout carries only the path.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
user=${LANCEDB_USER:-lancedb}
cache=${LANCEDB_INTEROP_CACHE:-/var/cache/lancedb}
hash=$(sha256sum "$here/package-lock.json" | cut -c1-16)
target=$cache/interop-$hash

say() { echo "install.sh: $*" >&2; }

if [ -f "$target/.complete" ]; then
	echo "$target/node_modules"
	exit 0
fi

is_root=false
[ "$(id -u)" = 0 ] && is_root=true

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if ! $is_root; then
		say "node/npm are missing; run this script as root once to install Debian's nodejs and npm"
		exit 1
	fi
	say "installing nodejs and npm with apt"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Run a command as the owner of the cache (ourselves unless we are root).
as_owner() {
	if $is_root; then
		id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
		runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" PATH="$PATH" "$@"
	else
		"$@"
	fi
}

if $is_root; then
	mkdir -p "$cache"
	chown "$user:" "$cache"
	chmod 755 "$cache"
fi
if ! as_owner test -w "$cache"; then
	say "$cache is not writable; run this script as root once (or set LANCEDB_INTEROP_CACHE)"
	exit 1
fi

say "npm ci of @lancedb/lancedb and apache-arrow into $target (once per lock file)"
staging=$(as_owner mktemp -d "$cache/.interop-$hash.XXXXXX")
trap 'rm -rf "$staging"' EXIT
as_owner chmod 755 "$staging"
as_owner cp "$here/package.json" "$here/package-lock.json" "$staging/"
as_owner sh -c 'cd "$1" && npm ci --no-audit --no-fund --loglevel=error --no-update-notifier --cache "$2/npm-cache" >&2' \
	sh "$staging" "$cache"
# Refuse an install that cannot load the native module.
as_owner sh -c 'cd "$1" && node -e "require(\"@lancedb/lancedb\"); require(\"apache-arrow\")"' sh "$staging"
as_owner touch "$staging/.complete"
rm -rf "$target"
as_owner mv "$staging" "$target"
trap - EXIT
echo "$target/node_modules"
