#!/usr/bin/env bash
# The real single-node cluster of ../shared/k8s-rig, set up for Strand's end-to-end tests, the
# conformance suite through the Kubernetes executor, and the Kubernetes benchmark. Run as root.
#
#   bash test/e2e/rig.sh up       build the rig (cached: seconds when built), start it, make the
#                                 namespaces, claims and Strand config files below
#   bash test/e2e/rig.sh prepare  only the namespaces, claims and config files (rig already up)
#   bash test/e2e/rig.sh env      print `export ...` lines for the e2e test (eval "$(... env)")
#   bash test/e2e/rig.sh down     stop the rig (data stays; ../shared/k8s-rig/down.sh)
#
# Pod network: host link (RIG_POD_HOST_LINK=1) unless RIG_POD_HOST_LINK says otherwise. Strand's
# tests work in both modes; host link is chosen so that tests needing pods to reach a server on the
# host (127.254.0.1:9000-9999) run on the same rig without a down/up to switch (the mode sticks).
#
# What it makes (idempotent):
#   namespace strand-e2e   claims strand-workspace (RWX) and strand-reference (ROX)  e2e tests
#   namespace strand-conf  claims strand-workspace (RWX)                            conformance, bench
#   $STRAND_RIG_STATE (default /tmp/strand-rig)/{e2e,conf}.yaml                      Strand config files
# Every claim of one kind sees the same host directory: $RIG_DIR/volumes/{workspace,reference}.
# Strand sees the workspace where pods do (one node): localPath = mountPath = that directory.
set -euo pipefail
RIG="${STRAND_RIG:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/k8s-rig}"
RIG_DIR="${RIG_DIR:-/var/lib/k8s-rig}"
STATE="${STRAND_RIG_STATE:-/tmp/strand-rig}"
KUBECTL="$RIG_DIR/bin/kubectl"
export KUBECONFIG="$RIG_DIR/admin.kubeconfig"
WS="$RIG_DIR/volumes/workspace"
REF="$RIG_DIR/volumes/reference"
log() { echo "[strand-rig $(date +%H:%M:%S)] $*" >&2; }

config() { # NAMESPACE [reference]: a strand.yaml for that namespace
  cat <<Y
# Written by test/e2e/rig.sh for the k8s rig (../shared/k8s-rig).
executor: kubernetes
kubernetes:
  kubeconfig: $KUBECONFIG
  namespace: $1
  owner: strand-e2e
  defaultImage: localhost/bio:bookworm
  workspace: { claimName: strand-workspace, mountPath: $WS, localPath: $WS }
Y
  if [ "${2:-}" = reference ]; then
    echo "  dataVolumes: [ { claimName: strand-reference, mountPath: $REF } ]"
  fi
  echo "  requestsPerSecond: 100"
}

prepare() {
  mkdir -p "$STATE"
  # volumes.sh claim re-reserves the PV even for a claim already Bound, which leaves that claim
  # Lost (the PV's claimRef loses its uid): claim only what is not Bound yet.
  claim() { # CLAIM NAMESPACE KIND
    [ "$("$KUBECTL" -n "$2" get pvc "$1" -o jsonpath='{.status.phase}' 2>/dev/null || true)" = Bound ] && return 0
    bash "$RIG/volumes.sh" claim "$1" "$2" "$3" >/dev/null
  }
  claim strand-workspace strand-e2e workspace
  claim strand-reference strand-e2e reference
  claim strand-workspace strand-conf workspace
  config strand-e2e reference > "$STATE/e2e.yaml"
  config strand-conf > "$STATE/conf.yaml"
  log "namespaces strand-e2e, strand-conf ready; config files in $STATE"
}

case "${1:-}" in
up)
  t0=$SECONDS
  bash "$RIG/build.sh" >/dev/null 2>"$STATE.build.log" || { tail -20 "$STATE.build.log" >&2; exit 1; }
  log "build.sh (cached) $((SECONDS - t0)) s"
  t1=$SECONDS
  RIG_POD_HOST_LINK="${RIG_POD_HOST_LINK:-1}" bash "$RIG/up.sh" >/dev/null
  log "up.sh $((SECONDS - t1)) s"
  prepare ;;
prepare) prepare ;;
env)
  echo "export KUBECONFIG=$KUBECONFIG"
  echo "export STRAND_E2E_CONFIG=$STATE/e2e.yaml"
  echo "export STRAND_E2E_IMAGE=localhost/bio:bookworm"
  echo "export STRAND_E2E_REFERENCE=$REF"
  echo "export STRAND_E2E_ALICE_KUBECONFIG=$RIG_DIR/alice.kubeconfig"
  echo "export STRAND_E2E_KUBECTL=$KUBECTL" ;;
down) bash "$RIG/down.sh" ;;
*) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
