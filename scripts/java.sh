#!/usr/bin/env bash
# A Java runtime for the PySpark backend (Spark 4 runs on Java 17).
#
#   scripts/java.sh          print the java binary's path, installing Java first if there is none
#
# Installs Debian's openjdk-17-jre-headless only when no `java` is on the PATH (nor in
# JAVA_HOME), so a fresh machine needs nothing by hand and a machine with Java is untouched.
set -euo pipefail

if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    echo "$JAVA_HOME/bin/java"
    exit 0
fi
if command -v java >/dev/null 2>&1; then
    command -v java
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "java.sh: no java found and not root; install openjdk-17-jre-headless (apt-get) first" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The JRE's post-install script expects the man page folder Debian's slim images omit.
mkdir -p /usr/share/man/man1
apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends openjdk-17-jre-headless >&2
command -v java
