#!/usr/bin/env cwl-runner
# Join per-region VCFs (same samples, same header) into one coordinate-sorted VCF.
cwlVersion: v1.2
class: CommandLineTool
label: bcftools concat + sort
doc: Concatenate VCFs in the given order, then sort the result by position.

requirements:
  ShellCommandRequirement: {}
hints:
  DockerRequirement:
    dockerPull: quay.io/biocontainers/bcftools:1.16--hfe4b78e_1
  SoftwareRequirement:
    packages:
      bcftools:
        version: ["1.16"]
        specs: ["https://bio.tools/bcftools"]
  ResourceRequirement:
    coresMin: 1
    ramMin: 512

inputs:
  vcfs:
    type: File[]
    inputBinding:
      position: 1
  output_name:
    type: string
    default: merged.vcf

arguments:
  - valueFrom: bcftools concat --no-version --output-type u
    position: 0
    shellQuote: false
  - valueFrom: "| bcftools sort --output-type v --temp-dir ./sort-tmp --output"
    position: 2
    shellQuote: false
  - valueFrom: $(inputs.output_name)
    position: 3

outputs:
  vcf:
    type: File
    format: edam:format_3016
    outputBinding:
      glob: $(inputs.output_name)

$namespaces:
  edam: http://edamontology.org/
