#!/usr/bin/env cwl-runner
# Split every contig listed in a FASTA index into N windows of (nearly) equal size.
# Regions are written the way freebayes' --region reads them: chrom:start-end with 0-based
# start and exclusive end (BED-like), so consecutive windows neither overlap nor leave a gap.
cwlVersion: v1.2
class: ExpressionTool
label: make regions
doc: Cut each contig of a .fai index into `windows` regions for a scattered caller.

requirements:
  InlineJavascriptRequirement: {}

inputs:
  fai:
    type: File
    loadContents: true
    doc: A samtools .fai index (tab-separated; column 1 the name, column 2 the length).
  windows:
    type: int
    default: 4
    doc: Number of windows per contig.

outputs:
  regions: string[]

expression: |
  ${
    var n = Math.max(1, inputs.windows);
    var regions = [];
    var lines = inputs.fai.contents.split("\n");
    for (var i = 0; i < lines.length; i++) {
      var cols = lines[i].split("\t");
      if (cols.length < 2) continue;
      var name = cols[0];
      var length = parseInt(cols[1], 10);
      var size = Math.ceil(length / n);
      for (var start = 0; start < length; start += size) {
        regions.push(name + ":" + start + "-" + Math.min(length, start + size));
      }
    }
    return { regions: regions };
  }
