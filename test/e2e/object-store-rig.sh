#!/usr/bin/env bash
# Object-store mode on the k8s rig (../shared/k8s-rig, host-link mode, already up): a real S3
# server (s3rver) on the host at 127.254.0.1:$PORT for the pods, a namespace with the Secret of
# its credentials, and a strand.yaml with `kubernetes.storage: objectStore` and no workspace claim;
# then the command given, with STRAND_CONFIG and the AWS_* variables set; then everything is
# removed again (server, its data, namespace).
#
#   bash test/e2e/object-store-rig.sh IMAGE conformance [conformance options...]
#   bash test/e2e/object-store-rig.sh IMAGE run [strand run options...]
#
# IMAGE is the Strand image in the rig's containerd (scripts/strand-image.sh prints its tag).
# Environment: STRAND_OS_PORT (default 9210), STRAND_OS_NAMESPACE (default strand-k8sobj-conf).
set -euo pipefail
cd "$(dirname "$0")/../.."
image="${1:?usage: object-store-rig.sh IMAGE conformance|run [args...]}"; shift
what="${1:?usage: object-store-rig.sh IMAGE conformance|run [args...]}"; shift
RIG_DIR="${RIG_DIR:-/var/lib/k8s-rig}"
KUBECTL="$RIG_DIR/bin/kubectl"
export KUBECONFIG="${KUBECONFIG:-$RIG_DIR/admin.kubeconfig}"
PORT="${STRAND_OS_PORT:-9210}"
NS="${STRAND_OS_NAMESPACE:-strand-k8sobj-conf}"
HOST=127.254.0.1
BUCKET=strand-conformance
key=strand-os key_secret="os-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
tmp="$(mktemp -d)"
log() { echo "[object-store-rig $(date +%H:%M:%S)] $*" >&2; }

cleanup() {
  [ -n "${fifo_pid:-}" ] && kill "$fifo_pid" 2>/dev/null || true
  [ -n "${s3_pid:-}" ] && kill "$s3_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  "$KUBECTL" delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# Stopped (Ctrl-C, timeout): the EXIT trap stops the S3 server too.
trap "exit 130" INT
trap "exit 143" TERM

mkfifo "$tmp/stdin"
sleep infinity > "$tmp/stdin" & fifo_pid=$!
node --openssl-legacy-provider test/support/s3-server-main.mjs --dir "$tmp/s3" --host "$HOST" --port "$PORT" \
  --access-key "$key" --secret-key "$key_secret" --bucket "$BUCKET" < "$tmp/stdin" > "$tmp/s3.out" 2> "$tmp/s3.err" & s3_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/s3.out" ] && break; sleep 0.2; done
[ -s "$tmp/s3.out" ] || { cat "$tmp/s3.err" >&2; echo "object-store-rig: the S3 server did not start" >&2; exit 1; }
log "S3 server at http://$HOST:$PORT (bucket $BUCKET)"

"$KUBECTL" create namespace "$NS" >/dev/null 2>&1 || true
"$KUBECTL" -n "$NS" delete secret strand-s3 >/dev/null 2>&1 || true
"$KUBECTL" -n "$NS" create secret generic strand-s3 --from-literal=AWS_ACCESS_KEY_ID="$key" --from-literal=AWS_SECRET_ACCESS_KEY="$key_secret" >/dev/null
cat > "$tmp/strand.yaml" <<Y
executor: kubernetes
kubernetes:
  kubeconfig: $KUBECONFIG
  namespace: $NS
  owner: strand-os
  defaultImage: localhost/bio:bookworm
  requestsPerSecond: 100
  storage: objectStore
  objectStore: { location: s3://$BUCKET/strand, credentialsSecret: strand-s3, image: $image }
storage:
  s3: { endpoint: "http://$HOST:$PORT", region: us-east-1, forcePathStyle: true }
Y
export AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$key_secret" AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
case "$what" in
  conformance) npm run conformance -- --executor kubernetes --cluster-config "$tmp/strand.yaml" "$@" ;;
  run) STRAND_CONFIG="$tmp/strand.yaml" node bin/strand.js run "$@" ;;
  *) echo "object-store-rig: unknown command $what (conformance or run)" >&2; exit 2 ;;
esac
