#!/usr/bin/env cwl-runner
# Word frequencies over a few text files, with coreutils only.
#
#   texts ──scatter──> words (tr)  ──┐
#         │                          ├──> count (sort | uniq -c | sort) ──> keep_top (head)
#         └─scatter──> lines (wc -l) │
#
# The two scattered steps run one job per input file, in parallel.
cwlVersion: v1.2
class: Workflow
label: Top words of a small corpus

requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}

inputs:
  texts:
    type: File[]
    doc: Plain text files to analyse.
  top:
    type: int
    default: 10
    doc: How many of the most frequent words to keep.

outputs:
  top_words:
    type: File
    outputSource: keep_top/top_words
    doc: The `top` most frequent words, as "count word" lines.
  word_counts:
    type: File
    outputSource: count/counts
    doc: Every word with its count, most frequent first.
  line_counts:
    type: int[]
    outputSource: lines/count
    doc: Number of lines in each input file, in input order.

steps:
  words:
    doc: One word per line, lower-cased, for each file (scattered).
    scatter: text
    in:
      text: texts
    out: [words]
    run:
      class: CommandLineTool
      requirements:
        ShellCommandRequirement: {}
        EnvVarRequirement:
          envDef:
            LC_ALL: C
      inputs:
        text: File
      arguments:
        - valueFrom: tr -cs 'A-Za-z' '\n' <
          shellQuote: false
        - $(inputs.text.path)
        - valueFrom: "| tr 'A-Z' 'a-z' | sed '/^$/d'"
          shellQuote: false
      stdout: $(inputs.text.nameroot).words
      outputs:
        words: stdout

  lines:
    doc: Count the lines of each file with `wc -l` (scattered).
    scatter: text
    in:
      text: texts
    out: [count]
    run:
      class: CommandLineTool
      baseCommand: [wc, -l]
      inputs:
        text:
          type: File
          streamable: true
      stdin: $(inputs.text.path)
      stdout: lines.txt
      outputs:
        count:
          type: int
          outputBinding:
            glob: lines.txt
            loadContents: true
            outputEval: $(parseInt(self[0].contents.trim(), 10))

  count:
    doc: Merge the word lists and count each word; ties are broken alphabetically.
    in:
      words: words/words
    out: [counts]
    run:
      class: CommandLineTool
      requirements:
        ShellCommandRequirement: {}
        EnvVarRequirement:
          envDef:
            LC_ALL: C
      inputs:
        words:
          type: File[]
          inputBinding:
            position: 1
      arguments:
        - valueFrom: cat
          position: 0
        - valueFrom: "| sort | uniq -c | sort -k1,1nr -k2,2"
          position: 2
          shellQuote: false
      stdout: counts.txt
      outputs:
        counts: stdout

  keep_top:
    doc: Keep the most frequent words.
    in:
      counts: count/counts
      top: top
    out: [top_words]
    run:
      class: CommandLineTool
      baseCommand: head
      inputs:
        top:
          type: int
          inputBinding:
            prefix: -n
        counts:
          type: File
          inputBinding:
            position: 1
      stdout: top-words.txt
      outputs:
        top_words: stdout
