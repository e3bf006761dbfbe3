#!/usr/bin/env bash
# Builds the instruction-profile QEMU plugin (profile.c) into OUTDIR/libprofile.so, unless it is
# already there and newer than profile.c; prints its path. The plugin header comes from Debian's
# QEMU source package (the machine's apt sources, as deb-src), so this needs gcc, pkg-config,
# libglib2.0-dev and network access the first time.
# usage: firmware/profile/build.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?OUTDIR}
mkdir -p "$out"
plugin=$(cd "$out" && pwd)/libprofile.so
if [ -f "$plugin" ] && [ "$plugin" -nt "$here/profile.c" ]; then
  echo "$plugin"
  exit 0
fi
# The header is kept next to the plugin: rebuilding after a change of profile.c needs no network.
if [ -f "$out/qemu-plugin.h" ]; then
  gcc -O2 -shared -fPIC -I"$out" $(pkg-config --cflags glib-2.0) "$here/profile.c" \
    -o "$plugin" $(pkg-config --libs glib-2.0) >&2
  echo "$plugin"
  exit 0
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{parts,lists/partial,cache/archives/partial}
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && grep '^deb ' "$f" | sed 's/^deb /deb-src /' >> "$work/parts/extra.list" || true
done
opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
apt-get "${opts[@]}" update >/dev/null 2>&1
(cd "$work" && apt-get "${opts[@]}" source --download-only qemu >/dev/null 2>&1 \
   && tar xf qemu_*.orig.tar.* --wildcards '*/include/qemu/qemu-plugin.h')
hdr=$(dirname "$(find "$work" -name qemu-plugin.h | head -1)")
cp "$hdr/qemu-plugin.h" "$out/qemu-plugin.h"
gcc -O2 -shared -fPIC -I"$hdr" $(pkg-config --cflags glib-2.0) "$here/profile.c" \
  -o "$plugin" $(pkg-config --libs glib-2.0) >&2
echo "$plugin"
