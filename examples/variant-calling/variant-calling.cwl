#!/usr/bin/env cwl-runner
# Call SNPs on a sample against a reference, one freebayes job per genomic window.
#
#   reference ─> index (samtools faidx) ─> split (cut each contig into N windows)
#                      │                         │
#   reads.bam ─────────┴──> call (freebayes, scattered over the windows)
#                                 ─> merge (bcftools concat | sort) ─> filter (QUAL >= min) ─> calls.vcf
cwlVersion: v1.2
class: Workflow
label: Scattered variant calling with freebayes
doc: |
  Index the reference, cut it into windows, call variants in every window in parallel
  with freebayes, merge the per-window VCFs in order and keep confident calls.

requirements:
  ScatterFeatureRequirement: {}

inputs:
  reference:
    type: File
    doc: Reference genome, FASTA.
  reads:
    type: File
    secondaryFiles: [.bai]
    doc: Coordinate-sorted, indexed BAM of the sample.
  windows:
    type: int
    default: 4
    doc: Windows per contig (the scatter width is contigs x windows).
  min_qual:
    type: float
    default: 20
    doc: Minimum QUAL of a call kept in the final VCF.

outputs:
  calls:
    type: File
    outputSource: filter/vcf
    doc: Confident calls, sorted by position.
  all_calls:
    type: File
    outputSource: merge/vcf
    doc: Every record freebayes emitted, merged and sorted.
  regions:
    type: string[]
    outputSource: split/regions
    doc: The windows the calling was scattered over.

steps:
  index:
    run: tools/samtools-faidx.cwl
    in:
      reference: reference
    out: [indexed, fai]

  split:
    run: tools/make-regions.cwl
    in:
      fai: index/fai
      windows: windows
    out: [regions]

  call:
    run: tools/freebayes.cwl
    scatter: region
    in:
      reference: index/indexed
      bam: reads
      region: split/regions
    out: [vcf]

  merge:
    run: tools/bcftools-concat.cwl
    in:
      vcfs: call/vcf
      output_name:
        default: all-calls.vcf
    out: [vcf]

  filter:
    run: tools/bcftools-filter.cwl
    in:
      variants: merge/vcf
      min_qual: min_qual
      output_name:
        default: calls.vcf
    out: [vcf]
