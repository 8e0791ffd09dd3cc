/**
 * Before a run starts, the Files and Directories a document writes out literally (an input's
 * default, a step input's default, an InitialWorkDir entry with a location), in the top-level
 * process and every process its steps run, are checked against the rule for files a document
 * names (staging/document-paths.ts): a document that names a host file fails before any task
 * runs, not when the step is reached. Not checked here, since they cannot be used: the default of
 * a top-level input the job gives, and of a step's input that the step feeds (its source or
 * default is checked instead). The same rule is applied again where each value enters the run
 * (prepareInputs, runStep, stageInitialWorkDir), together with what expressions make.
 */
import type { SourceLocation } from '../errors.js';
import type { CwlObject, CwlValue, Process, Requirement } from '../model/types.js';
import { defaultOf, type DefaultValues } from '../model/default-values.js';
import { writtenAt } from '../model/written-at.js';
import type { DocumentPaths } from '../staging/index.js';

export async function checkDocumentLiterals(top: Process, job: CwlObject, rule: DocumentPaths, defaults?: DefaultValues): Promise<void> {
  if (rule.allowAnywhere) return;
  const at = (model: object, field: string, file: string, fieldPath: string): SourceLocation => writtenAt(model, field) ?? { file, fieldPath };
  const listings = async (reqs: Requirement[], file: string) => {
    for (const r of reqs) {
      if (r.class === 'InitialWorkDirRequirement' && typeof r.listing !== 'string') {
        await rule.check(r.listing as CwlValue, at(r, 'listing', file, 'requirements.InitialWorkDirRequirement.listing'));
      }
    }
  };
  // Each step's process on its own (the loader bounds how many there are): two steps running one
  // tool may feed it differently.
  const visit = async (p: Process, fed: (id: string) => boolean): Promise<void> => {
    for (const i of p.inputs) {
      const d = defaultOf(i, defaults);
      if (d !== undefined && !fed(i.id)) await rule.check(d as CwlValue, at(i, 'default', p.sourceFile, `inputs.${i.id}.default`));
    }
    await listings([...p.requirements, ...p.hints], p.sourceFile);
    if (p.class !== 'Workflow') return;
    for (const s of p.steps) {
      for (const i of s.in) {
        const d = defaultOf(i, defaults);
        if (d !== undefined) await rule.check(d as CwlValue, at(i, 'default', p.sourceFile, `steps.${s.id}.in.${i.id}.default`));
      }
      await listings([...s.requirements, ...s.hints], p.sourceFile);
      const feeds = new Set(s.in.filter((i) => i.source.length > 0 || i.default !== undefined || i.valueFrom !== undefined).map((i) => i.id));
      await visit(s.run, (id) => feeds.has(id));
    }
  };
  await visit(top, (id) => job[id] !== undefined && job[id] !== null);
}
