#!/usr/bin/env cwl-runner
# Index a FASTA reference: the reference is staged into the working directory so that
# `samtools faidx` writes reference.fa.fai beside it, and both leave as one File.
cwlVersion: v1.2
class: CommandLineTool
label: samtools faidx
doc: Index a FASTA file; the output carries the .fai as a secondary file.

requirements:
  InitialWorkDirRequirement:
    listing:
      - $(inputs.reference)
hints:
  DockerRequirement:
    dockerPull: quay.io/biocontainers/samtools:1.16.1--h6899075_1
  SoftwareRequirement:
    packages:
      samtools:
        version: ["1.16.1"]
        specs: ["https://bio.tools/samtools"]
  ResourceRequirement:
    coresMin: 1
    ramMin: 256

baseCommand: [samtools, faidx]

inputs:
  reference:
    type: File
    doc: A FASTA file (uncompressed).
    inputBinding:
      position: 1
      valueFrom: $(self.basename)

outputs:
  indexed:
    type: File
    format: edam:format_1929
    secondaryFiles: [.fai]
    outputBinding:
      glob: $(inputs.reference.basename)
  fai:
    type: File
    doc: "The index alone (one line per contig: name, length, offsets)."
    outputBinding:
      glob: $(inputs.reference.basename).fai

$namespaces:
  edam: http://edamontology.org/
