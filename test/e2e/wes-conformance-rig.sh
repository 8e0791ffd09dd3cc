#!/usr/bin/env bash
# CWL conformance through the lab server (issue 19): on the k8s rig (already up, the Strand image
# built), `strand server` with exactly the rights `strand rbac --server` prints, one member signed
# in with a ServiceAccount token (`strand login`), and ../shared/cwl-conformance.py running every
# test as a cwl-runner would, through `strand submit --server --wait` (the run sent over GA4GH WES,
# a leader Job in the member's namespace, the output object printed when it completes).
#
#   bash test/e2e/wes-conformance-rig.sh IMAGE OUT.json [cwl-conformance.py options...]
#
# IMAGE: the Strand image in the rig's containerd (scripts/strand-image.sh prints its tag).
# OUT.json: cwl-conformance.py's results (compare them with a direct run's with
# dist/test/conformance/agree-cli.js). Everything made is removed again at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
image="${1:?usage: wes-conformance-rig.sh IMAGE OUT.json [cwl-conformance.py options...]}"; shift
out="$(realpath -m "${1:?usage: wes-conformance-rig.sh IMAGE OUT.json [options...]}")"; shift
RIG_DIR="${RIG_DIR:-/var/lib/k8s-rig}"
RIG="${STRAND_RIG:-$(cd .. && pwd)/shared/k8s-rig}"
KUBECTL="$RIG_DIR/bin/kubectl"
export KUBECONFIG="${KUBECONFIG:-$RIG_DIR/admin.kubeconfig}"
WS="$RIG_DIR/volumes/workspace"
SYS=strand-wes-system PEOPLE=strand-wes-people MEMBER=conformance
STRAND="node $PWD/bin/strand.js"
tmp="$(mktemp -d)"
log() { echo "[wes-conformance-rig $(date +%H:%M:%S)] $*" >&2; }

member_ns() { node --input-type=module -e "import('$PWD/dist/src/server/members/namespace-name.js').then((m) => console.log(m.memberNamespaceName('system:serviceaccount:$PEOPLE:$MEMBER')))"; }
NS="$(member_ns)"

cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  bash "$RIG/volumes.sh" release strand-workspace "$NS" >/dev/null 2>&1 || true
  "$KUBECTL" delete namespace "$NS" "$PEOPLE" "$SYS" --ignore-not-found --wait=true --timeout=180s >/dev/null 2>&1 || true
  # volumes.sh's PV for this claim, if its release timed out: left bound to the old claim, it would never bind again.
  "$KUBECTL" delete pv "rig-workspace-$NS-strand-workspace" --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

"$KUBECTL" delete namespace "$NS" "$PEOPLE" "$SYS" --ignore-not-found --wait=true --timeout=180s >/dev/null
"$KUBECTL" delete pv "rig-workspace-$NS-strand-workspace" --ignore-not-found >/dev/null
"$KUBECTL" create namespace "$SYS" >/dev/null
"$KUBECTL" create namespace "$PEOPLE" >/dev/null
"$KUBECTL" -n "$PEOPLE" create serviceaccount "$MEMBER" >/dev/null
$STRAND rbac --server --namespace "$SYS" | "$KUBECTL" apply -f - >/dev/null

sa_token() { # NAMESPACE SA: the token of the Secret the 1.20 token controller makes for it
  local secret=""
  for _ in $(seq 1 60); do
    secret="$("$KUBECTL" -n "$1" get sa "$2" -o jsonpath='{.secrets[0].name}' 2>/dev/null || true)"
    [ -n "$secret" ] && break; sleep 1
  done
  "$KUBECTL" -n "$1" get secret "$secret" -o jsonpath='{.data.token}' | base64 -d
}

# The server connects with its own ServiceAccount's token: the rights above and nothing more.
server_url="$("$KUBECTL" config view --raw -o jsonpath='{.clusters[0].cluster.server}')"
ca_data="$("$KUBECTL" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
(umask 077; cat > "$tmp/server.kubeconfig" <<Y
apiVersion: v1
kind: Config
clusters: [{ name: rig, cluster: { server: "$server_url", certificate-authority-data: "$ca_data" } }]
users: [{ name: strand-server, user: { token: "$(sa_token "$SYS" strand-server)" } }]
contexts: [{ name: rig, context: { cluster: rig, user: strand-server, namespace: $SYS } }]
current-context: rig
Y
)
cat > "$tmp/lab.yaml" <<Y
listen: { host: 127.0.0.1, port: 0 }
kubeconfig: $tmp/server.kubeconfig
leader: { image: $image, imagePullPolicy: Never, runAsUser: 0 }
runs:
  kubernetes:
    workspace: { claimName: strand-workspace, mountPath: $WS, localPath: $WS }
    defaultImage: localhost/bio:bookworm
    requestsPerSecond: 100
limits: { bundleBytes: 900KiB }
Y
KUBECONFIG=/nonexistent $STRAND server --config "$tmp/lab.yaml" > "$tmp/server.out" 2> "$tmp/server.log" & server_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/server.out" ] && break; sleep 0.2; done
origin="$(head -1 "$tmp/server.out")"
[ -n "$origin" ] || { cat "$tmp/server.log" >&2; echo "wes-conformance-rig: the server did not start" >&2; exit 1; }
log "strand server at $origin"

# The member signs in (their namespace is made), then the lab gives it its workspace claim.
export XDG_CONFIG_HOME="$tmp/config"
sa_token "$PEOPLE" "$MEMBER" | $STRAND login --server "$origin" --token-stdin >/dev/null
curl -sf -o /dev/null -H "Authorization: Bearer $(sa_token "$PEOPLE" "$MEMBER")" "$origin/ga4gh/wes/v1/runs"
bash "$RIG/volumes.sh" claim strand-workspace "$NS" workspace >/dev/null
log "member namespace $NS ready"

started=$SECONDS
# Run from the suite's root, as cwltest and users do; STRAND_* of the caller do not leak in.
(cd ../shared/cwl-v1.2 && env -u STRAND_CONFIG python3 "$OLDPWD/../shared/cwl-conformance.py" --test conformance_tests.yaml \
  --json "$out" "$@" -- $STRAND submit --server --wait --quiet '{tool}' '{job}') || true
log "conformance through WES took $((SECONDS - started)) s; the server's log ends:"
tail -5 "$tmp/server.log" >&2
