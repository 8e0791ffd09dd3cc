#!/usr/bin/env cwl-runner
# Call variants in one region of a BAM with freebayes. The output VCF is named after the
# region, with every character outside [A-Za-z0-9._-] replaced (chr1:0-10000 -> chr1_0-10000.vcf).
cwlVersion: v1.2
class: CommandLineTool
label: freebayes
doc: Bayesian haplotype-based variant calling restricted to one region.

requirements:
  InlineJavascriptRequirement: {}
hints:
  DockerRequirement:
    dockerPull: quay.io/biocontainers/freebayes:1.3.6--hbfe0e7f_2
  SoftwareRequirement:
    packages:
      freebayes:
        version: ["1.3.6"]
        specs: ["https://bio.tools/freebayes"]
  ResourceRequirement:
    coresMin: 1
    ramMin: 1024

baseCommand: freebayes

inputs:
  reference:
    type: File
    secondaryFiles: [.fai]
    inputBinding:
      prefix: --fasta-reference
  region:
    type: string
    doc: chrom:start-end, 0-based start, exclusive end (freebayes' convention).
    inputBinding:
      prefix: --region
  bam:
    type: File
    secondaryFiles: [.bai]
    inputBinding:
      position: 10

stdout: $(inputs.region.replace(/[^A-Za-z0-9._-]/g, "_")).vcf

outputs:
  vcf:
    type: stdout
    format: edam:format_3016 # VCF

$namespaces:
  edam: http://edamontology.org/
