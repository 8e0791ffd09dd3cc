#!/usr/bin/env bash
# The container images the CWL conformance suite pulls, for podman, without any registry (as root):
# the rig's Debian image under the suite's names (../shared/k8s-rig/podman-images.sh: debian:stable-slim,
# python:3-slim, bash:4.4, alpine:latest, all the same image), then one change of our own:
# docker.io/library/bash:4.4 gets an entrypoint that behaves like the real bash image's, which runs
# `bash ARGS` when the first argument is an option or not a command (the suite's docker_entrypoint
# test runs `-c "echo moo > cow"` in it). Idempotent: a second run takes seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${STRAND_SHARED:-$here/../../../shared}"
bash "$shared/k8s-rig/podman-images.sh"

base=localhost/bio:bookworm
tag=docker.io/library/bash:4.4
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cat > "$ctx/entrypoint" <<'SH'
#!/bin/bash
# Like the official bash image: `bash:4.4 -c 'cmd'` and `bash:4.4 script.sh` run bash.
case "${1-}" in
  -*) exec bash "$@" ;;
esac
if [ $# -gt 0 ] && ! command -v -- "$1" >/dev/null 2>&1; then exec bash "$@"; fi
exec "$@"
SH
cat > "$ctx/Containerfile" <<C
FROM $base
COPY entrypoint /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["bash"]
C
chmod 755 "$ctx/entrypoint"
podman build --quiet --network none --pull=never -t "$tag" "$ctx" >/dev/null
out="$(podman run --rm "$tag" -c 'echo moo')"
[ "$out" = moo ] || { echo "podman-images: $tag -c 'echo moo' printed '$out'" >&2; exit 1; }
echo "podman-images: $tag has the bash image's entrypoint (self-check: -c 'echo moo' -> $out)" >&2
