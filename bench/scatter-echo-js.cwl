#!/usr/bin/env cwl-runner
# Benchmark workflow: scatter-echo.cwl with JavaScript expressions (InlineJavascriptRequirement),
# so that the expression sandbox's cost per evaluation shows. Each task evaluates three
# expressions: a $() in an environment variable, a ${} block building the argument, and a $()
# naming stdout. The outputs are the same as scatter-echo.cwl's: <item>.txt holding the item.
cwlVersion: v1.2
class: Workflow
label: 1,000-way scatter of echo, with JavaScript expressions

requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}

inputs:
  items: string[]

outputs:
  echoed:
    type: File[]
    outputSource: echo/out

steps:
  echo:
    scatter: item
    in:
      item: items
    out: [out]
    run:
      class: CommandLineTool
      requirements:
        InlineJavascriptRequirement: {}
        EnvVarRequirement:
          envDef:
            ITEM_TWICE: $(String(parseInt(inputs.item.split('-')[1], 10) * 2))
      baseCommand: echo
      inputs:
        item: string
      arguments:
        - position: 1
          valueFrom: |
            ${
              var parts = inputs.item.split('-');
              return parts[0] + '-' + parts[1];
            }
      stdout: $(inputs.item + '.txt')
      outputs:
        out: stdout
