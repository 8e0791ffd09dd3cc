#!/usr/bin/env bash
# End-to-end check of the variant-calling example: make the synthetic data (once), run the
# workflow, and verify that every planted SNP is in the final VCF. Works from any directory.
#
#   examples/variant-calling/run.sh                   # with Strand (node bin/strand.js)
#   STRAND=cwltool examples/variant-calling/run.sh    # with the reference runner
#
# Environment:
#   STRAND          runner command (default: node <repo>/bin/strand.js). A command whose first
#                   word ends in "cwltool" is called cwltool-style (no "run" subcommand).
#   OUTDIR          where to put the outputs (default: a fresh temp dir, removed on success)
#   USE_CONTAINERS  set to 1 to let the runner use the Docker hints (default: --no-container)
#   WINDOWS         windows per contig (default: the job's 4)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA="$HERE/data"
STRAND="${STRAND:-node $ROOT/bin/strand.js}"

for tool in samtools freebayes bcftools; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is not on the PATH (apt-get install -y samtools bcftools freebayes)" >&2; exit 1; }
done

if [[ ! -f "$DATA/reference.fa" || ! -f "$DATA/reads.bam" || ! -f "$DATA/reads.bam.bai" || ! -f "$DATA/truth.tsv" ]]; then
  node "$HERE/make-data.mjs" "$DATA"
fi

KEEP_OUTDIR=1
if [[ -z "${OUTDIR:-}" ]]; then
  OUTDIR="$(mktemp -d "${TMPDIR:-/tmp}/strand-variant-calling.XXXXXX")"
  KEEP_OUTDIR=0
fi
mkdir -p "$OUTDIR"
RESULT_JSON="$(mktemp "${TMPDIR:-/tmp}/strand-variant-calling-result.XXXXXX")"
cleanup() { rm -f "$RESULT_JSON"; [[ -n "${WINDOWS:-}" ]] && rm -f "$JOB"; return 0; }
trap cleanup EXIT

read -r -a RUNNER <<<"$STRAND"
CONTAINER_FLAG=(--no-container)
[[ "${USE_CONTAINERS:-0}" == 1 ]] && CONTAINER_FLAG=()
JOB="$HERE/job.yml"
if [[ -n "${WINDOWS:-}" ]]; then
  # Same job with another scatter width (the runner's command-line job options differ).
  JOB="$(mktemp "${TMPDIR:-/tmp}/strand-variant-calling-job.XXXXXX.yml")"
  cat >"$JOB" <<YAML
reference: { class: File, path: "$DATA/reference.fa" }
reads:
  class: File
  path: "$DATA/reads.bam"
  secondaryFiles: [{ class: File, path: "$DATA/reads.bam.bai" }]
windows: $WINDOWS
YAML
fi

if [[ "$(basename "${RUNNER[0]}")" == *cwltool ]]; then
  CMD=("${RUNNER[@]}" --quiet "${CONTAINER_FLAG[@]}" --outdir "$OUTDIR" "$HERE/variant-calling.cwl" "$JOB")
else
  CMD=("${RUNNER[@]}" run --outdir "$OUTDIR" "${CONTAINER_FLAG[@]}" "$HERE/variant-calling.cwl" "$JOB")
fi

echo "run.sh: ${CMD[*]}" >&2
START=$(date +%s.%N)
"${CMD[@]}" >"$RESULT_JSON"
END=$(date +%s.%N)
echo "run.sh: workflow finished in $(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }') s, outputs in $OUTDIR" >&2

# The runner prints the output object as JSON: take the path of `calls` from it.
CALLS="$(node -e '
  const out = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const f = out.calls;
  if (!f || f.class !== "File") { console.error("run.sh: no File output named calls"); process.exit(1); }
  console.log(f.path ?? decodeURIComponent(new URL(f.location).pathname));
' "$RESULT_JSON")"

node "$HERE/check-snps.mjs" "$CALLS" "$DATA/truth.tsv" --max-false-positives 0

[[ "$KEEP_OUTDIR" == 0 ]] && rm -rf "$OUTDIR"
exit 0
