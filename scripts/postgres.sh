#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks of the decision log.
#
#   scripts/postgres.sh start DIR   initdb in DIR, start on a free loopback port, print its URL
#   scripts/postgres.sh stop DIR    stop the cluster started in DIR (the files stay for a post-mortem)
#   scripts/postgres.sh install     only install the server when missing (`make test` runs it
#                                   before pytest's workers, so two never run apt-get at once)
#
# PostgreSQL is installed from Debian's packages when no server binary is found, so a fresh
# machine needs nothing by hand. The cluster listens on 127.0.0.1 only, trusts local
# connections (it holds test data and lives for one run), and runs as a non-root user:
# the one the Debian package creates (postgres), or a system user made here.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR, or $0 install" >&2; exit 2; }
[[ $# -eq 2 || ( $# -eq 1 && $1 == install ) ]] || usage
action=$1
dir=${2:-}

find_bindir() {
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $found && -x $found/pg_ctl ]] && echo "$found"
}

bindir=$(find_bindir || true)
if [[ -z ${bindir:-} ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "postgres.sh: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
        exit 1
    fi
    echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq postgresql >&2
    bindir=$(find_bindir)
fi
[[ $action == install ]] && { echo "$bindir"; exit 0; }

# initdb refuses to run as root: use an unprivileged user.
run_as=()
owner=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
    owner=postgres
    id -u "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
    run_as=(runuser -u "$owner" --)
fi

case $action in
start)
    mkdir -p "$dir"
    chown "$owner" "$dir"
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U tenure -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    "${run_as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U tenure tenure
    url="postgresql://tenure@127.0.0.1:$port/tenure"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
stop)
    [[ -d $dir/data ]] || { echo "postgres.sh: no cluster in $dir" >&2; exit 1; }
    "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
*)
    usage
    ;;
esac
