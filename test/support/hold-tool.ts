/**
 * A CommandLineTool that copies its input to `copy.txt`, then waits until the test lets it go (the
 * file named by its `release` input appears), so a run can be killed or cancelled while it runs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes `hold.cwl` in `dir`; returns its path. */
export function writeHoldTool(dir: string): string {
  const file = path.join(dir, 'hold.cwl');
  writeFileSync(
    file,
    [
      'cwlVersion: v1.2',
      'class: CommandLineTool',
      'baseCommand: [sh, -c, "cat \\"$0\\" > copy.txt; while [ ! -e \\"$1\\" ]; do sleep 0.1; done"]',
      'inputs:',
      '  src: {type: File, inputBinding: {position: 1}}',
      '  release: {type: string, inputBinding: {position: 2}}',
      'outputs:',
      '  copy: {type: File, outputBinding: {glob: copy.txt}}',
    ].join('\n'),
  );
  return file;
}
