#!/usr/bin/env bash
# Build the Strand container image here, with no registry and no internet, and import it into the
# k8s rig's containerd (and, with --podman, into podman). The same content as the root Dockerfile
# builds for users (see docs/leader-in-cluster.md, "The image"):
#
#   base     Debian bookworm: the k8s rig's image archive ($RIG_DIR/images/bio.tar), its layer reused
#            as is (containerd already holds it, so only the Strand layer is new)
#   layer 2  /usr/local/bin/node          this machine's Node 20 (/usr/bin/node, or $STRAND_IMAGE_NODE)
#            /usr/local/lib/strand/       the package as `npm pack` makes it + production node_modules
#                                         (better-sqlite3 compiled for that same Node)
#            /usr/local/bin/strand        -> ../lib/strand/bin/strand.js
#            user strand (10001:10001), home /home/strand
#   config   ENTRYPOINT ["strand"], CMD ["--help"], USER 10001:10001, WORKDIR /home/strand
#
# Tags: localhost/strand:<package version>, localhost/strand:dev, and the content tag
# localhost/strand:<version>-<key> (key = hash of every input: base image, node, sources, lockfile,
# this script). Several worktrees share one containerd: use the content tag when you need exactly
# the image you built. The content tag is the only line printed on stdout; progress goes to stderr.
#
#   bash scripts/strand-image.sh            build (cached) + import into the rig's containerd
#   bash scripts/strand-image.sh --podman   also load it into podman
#   bash scripts/strand-image.sh --no-import  only the archive ($STRAND_IMAGE_CACHE/strand-<key>.tar)
#
# Cached in $STRAND_IMAGE_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/strand-image, outside the checkout:
# the archives are hundreds of MB): with nothing changed, a rerun
# only hashes the inputs and checks the tags (seconds). Needs root for the containerd import (as
# the rig does); reads the rig's files, never writes them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
RIG_DIR="${RIG_DIR:-/var/lib/k8s-rig}"
BASE_TAR="${STRAND_IMAGE_BASE:-$RIG_DIR/images/bio.tar}"
NODE_BIN="${STRAND_IMAGE_NODE:-/usr/bin/node}"
CACHE="${STRAND_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strand-image}"
RECIPE="strand-image v1"
UID_GID=10001
podman=0 import=1
for a in "$@"; do
  case "$a" in
    --podman) podman=1 ;;
    --no-import) import=0 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "strand-image: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done
t0=$SECONDS
log() { echo "[strand-image $((SECONDS - t0))s] $*" >&2; }
die() { echo "strand-image: $*" >&2; exit 1; }

[ -f "$BASE_TAR" ] || die "no base image archive $BASE_TAR (the k8s rig builds it: ../shared/k8s-rig/build.sh images)"
[ -x "$NODE_BIN" ] || die "no Node binary at $NODE_BIN (set STRAND_IMAGE_NODE)"
node_major="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || die "$NODE_BIN is Node $node_major; the image uses Node 20 (set STRAND_IMAGE_NODE)"
[ -d node_modules/better-sqlite3 ] || die "no node_modules here: run npm ci first"
mkdir -p "$CACHE"
version="$(node -p 'require("./package.json").version')"

# --- the key: every input of the image ---------------------------------------------------------
base_manifest="$(tar --occurrence=1 -xOf "$BASE_TAR" manifest.json)"
base_config="$(jq -r '.[0].Config' <<<"$base_manifest")"
base_layer="$(jq -r '.[0].Layers | if length == 1 then .[0] else error("base image must have one layer") end' <<<"$base_manifest")"
src_key="$(find src bin web scripts/build-ui.mjs scripts/bundle-kubernetes-client.mjs package.json package-lock.json tsconfig.json tsconfig.build.json test/conformance test/support \
  -type f ! -name '*.test.ts' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
node_key="$(sha256sum "$NODE_BIN" | cut -c1-64)"
key="$(printf '%s\n' "$RECIPE" "$base_config" "$node_key" "$src_key" "$(sha256sum "$0" | cut -c1-64)" | sha256sum | cut -c1-12)"
tag_content="localhost/strand:$version-$key"
tags=("localhost/strand:$version" "localhost/strand:dev" "$tag_content")
archive="$CACHE/strand-$key.tar"

# --- build the archive (unless cached) ---------------------------------------------------------
build_archive() {
  # dist: rebuilt when the sources changed since this checkout's last image build (npm run build);
  # the key lives in dist/, not in the cache, which other checkouts may share
  if [ "$(cat dist/.strand-image.key 2>/dev/null)" != "$src_key" ] || [ ! -f dist/src/cli/main.js ]; then
    log "npm run build"; npm run build >&2; echo "$src_key" > dist/.strand-image.key
  fi
  local w; w="$(mktemp -d "$CACHE/build.XXXX")"
  trap 'rm -rf "$w"' RETURN
  # the base layer, once per base image (hard-linked into each archive)
  local base_cached="$CACHE/base-${base_config%.json}.tar"
  if [ ! -f "$base_cached" ]; then
    log "base layer from $BASE_TAR"
    tar -xOf "$BASE_TAR" "$base_layer" > "$base_cached.tmp" && mv "$base_cached.tmp" "$base_cached"
  fi
  local baseroot="$RIG_DIR/images/bio-rootfs"
  # the package, as users get it from npm, and its production dependencies from this node_modules
  log "npm pack + production node_modules"
  npm pack --ignore-scripts --silent --pack-destination "$w" >/dev/null
  local r="$w/root" app="$w/root/usr/local/lib/strand"
  mkdir -p "$app" "$r/usr/local/bin" "$r/etc" "$r/home/strand"
  tar -xzf "$w/strand-$version.tgz" -C "$app" --strip-components=1
  cp package-lock.json "$app/"
  # node_modules/. : a worktree's node_modules may be a link to another checkout's; `cp -a` of the
  # link itself left npm prune to reinstall from its cache with --ignore-scripts, without the
  # native module of better-sqlite3 (the leader could not open its run store)
  mkdir -p "$app/node_modules"
  cp -a node_modules/. "$app/node_modules/"
  (cd "$app" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --silent >&2)
  rm -rf "$app/node_modules/.bin" "$app/node_modules/.package-lock.json"
  cp "$NODE_BIN" "$r/usr/local/bin/node"
  ln -s ../lib/strand/bin/strand.js "$r/usr/local/bin/strand"
  # the non-root user, added to the base image's passwd/group
  tar -xOf "$base_cached" ./etc/passwd > "$r/etc/passwd"
  tar -xOf "$base_cached" ./etc/group > "$r/etc/group"
  echo "strand:x:$UID_GID:$UID_GID:Strand:/home/strand:/bin/sh" >> "$r/etc/passwd"
  echo "strand:x:$UID_GID:" >> "$r/etc/group"
  chown "$UID_GID:$UID_GID" "$r/home/strand"
  check_libraries "$r" "$baseroot"
  # layer 2: deterministic (sorted, fixed mtime), so the same content gives the same digest
  mkdir -p "$w/img/base" "$w/img/strand"
  tar --numeric-owner --sort=name --mtime=@0 -C "$r" -cf "$w/img/strand/layer.tar" .
  ln "$base_cached" "$w/img/base/layer.tar" 2>/dev/null || cp "$base_cached" "$w/img/base/layer.tar"
  local d1 d2
  d1="sha256:$(sha256sum "$base_cached" | cut -c1-64)"
  d2="sha256:$(sha256sum "$w/img/strand/layer.tar" | cut -c1-64)"
  jq -n --arg d1 "$d1" --arg d2 "$d2" --arg v "$version" --arg u "$UID_GID:$UID_GID" --arg key "$key" '{
      architecture:"amd64", os:"linux", created:"1970-01-01T00:00:00Z",
      config:{
        Env:["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
        Entrypoint:["strand"], Cmd:["--help"], User:$u, WorkingDir:"/home/strand",
        Labels:{"org.opencontainers.image.title":"strand", "org.opencontainers.image.version":$v,
                "io.strand.image.key":$key}},
      rootfs:{type:"layers", diff_ids:[$d1, $d2]},
      history:[{created:"1970-01-01T00:00:00Z", created_by:"Debian bookworm (k8s rig image layer)"},
               {created:"1970-01-01T00:00:00Z", created_by:"scripts/strand-image.sh: node + strand"}]}' > "$w/img/config.json"
  local cid; cid="$(sha256sum "$w/img/config.json" | cut -c1-64)"
  mv "$w/img/config.json" "$w/img/$cid.json"
  jq -n --arg c "$cid.json" --args '[{Config:$c, RepoTags:$ARGS.positional, Layers:["base/layer.tar","strand/layer.tar"]}]' \
    "${tags[@]}" > "$w/img/manifest.json"
  tar -C "$w/img" -cf "$archive.tmp" manifest.json "$cid.json" base strand
  mv "$archive.tmp" "$archive"
  # keep only this archive (older ones are superseded)
  find "$CACHE" -maxdepth 1 -name 'strand-*.tar' ! -name "strand-$key.tar" -delete
  log "archive $archive ($(du -h "$archive" | cut -f1); Strand layer $(du -h "$w/img/strand/layer.tar" | cut -f1))"
}

# Every shared library Node and the native modules need must be in the base image, and the base
# glibc must be new enough for them.
check_libraries() { # staging root, base rootfs dir
  local r="$1" base="$2" f lib need have
  have="$(tar -tf "$base_cached" | sed -n 's#^\./\(usr/\)\{0,1\}lib\(64\)\{0,1\}/\(x86_64-linux-gnu/\)\{0,1\}\([^/]*\.so[^/]*\)$#\4#p' | sort -u)"
  local glibc_have; glibc_have="$(tar -tf "$base_cached" | sed -n 's#.*/libc\.so\.6$#&#p' | head -1)"
  [ -n "$glibc_have" ] || die "base image has no libc.so.6"
  glibc_have="$(tar -xOf "$base_cached" "$glibc_have" 2>/dev/null | strings | grep -o '^GLIBC_2\.[0-9]*$' | sort -V | tail -1)"
  while IFS= read -r -d '' f; do
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      grep -qx "$lib" <<<"$have" || die "${f#"$r"/} needs $lib, which the base image lacks"
    done
    need="$(objdump -T "$f" | grep -o 'GLIBC_2\.[0-9]*' | sort -V | tail -1 || true)"
    if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$glibc_have" | sort -V | tail -1)" != "$glibc_have" ]; then
      die "${f#"$r"/} needs $need; the base image's glibc offers $glibc_have"
    fi
  done < <(find "$r/usr/local/bin/node" "$r/usr/local/lib/strand/node_modules" -type f \( -name node -o -name '*.node' \) -print0)
  log "shared libraries: all present in the base image (glibc up to $glibc_have)"
}

if [ -f "$archive" ]; then log "archive cached ($archive)"; else build_archive; fi

# --- import ---------------------------------------------------------------------------------------
if [ "$import" = 1 ]; then
  ctr_tags="$(ctr -n k8s.io images ls -q 2>/dev/null)" || die "cannot reach the rig's containerd (ctr -n k8s.io; is the rig up?)"
  missing=0
  for t in "${tags[@]}"; do grep -qx "$t" <<<"$ctr_tags" || missing=1; done
  # localhost/strand:dev and :<version> may have been re-pointed by another worktree's build
  if [ "$missing" = 0 ]; then
    dev_key="$(ctr -n k8s.io images ls "name==localhost/strand:dev" 2>/dev/null | grep -o 'io.strand.image.key=[0-9a-f]*' || true)"
    [ "$dev_key" = "io.strand.image.key=$key" ] || missing=1
  fi
  if [ "$missing" = 1 ]; then
    log "importing into the rig's containerd (namespace k8s.io)"
    ctr -n k8s.io images import "$archive" >&2
    for t in "${tags[@]}"; do ctr -n k8s.io images label "$t" "io.strand.image.key=$key" >/dev/null; done
  else
    log "containerd has it (tags ${tags[*]})"
  fi
fi
if [ "$podman" = 1 ]; then
  if [ "$(podman image inspect --format '{{index .Labels "io.strand.image.key"}}' localhost/strand:dev 2>/dev/null)" = "$key" ] \
     && podman image exists "$tag_content"; then
    log "podman has it"
  else
    log "loading into podman"
    podman load -q -i "$archive" >&2
  fi
fi
log "done: ${tags[*]}"
echo "$tag_content"
