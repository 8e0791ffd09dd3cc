#!/usr/bin/env cwl-runner
# Keep the confident calls: records whose QUAL is at least `min_qual`.
cwlVersion: v1.2
class: CommandLineTool
label: bcftools view -i QUAL>=min
doc: Drop low-quality records from a VCF.

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
    ramMin: 256

baseCommand: [bcftools, view, --no-version, --output-type, v]

inputs:
  variants:
    type: File
    inputBinding:
      position: 10
  min_qual:
    type: float
    default: 20
    inputBinding:
      prefix: --include
      valueFrom: QUAL>=$(self)
  output_name:
    type: string
    default: calls.vcf
    inputBinding:
      prefix: --output

outputs:
  vcf:
    type: File
    format: edam:format_3016
    outputBinding:
      glob: $(inputs.output_name)

$namespaces:
  edam: http://edamontology.org/
