/**
 * `strand _pod-io stage-in|upload` (hidden): what Strand's own containers run in a task pod of
 * the object-store mode (src/executor/kubernetes/object-store-mode/pod-io.ts). Not for users.
 * A failure prints one line on stderr, which Kubernetes keeps as the container's termination
 * message (FallbackToLogsOnError) and Strand reports as the task's failure. The transfer code (and
 * its S3 client) is imported when the command runs, so other commands start no slower.
 */
import { Command } from 'commander';

export function addPodIoCommand(program: Command, finish: (code: number) => void): void {
  const io = new Command('_pod-io').description('transfers of a task pod (object-store mode; run by Strand in its containers)');
  const log = (line: string) => process.stdout.write(line + '\n');
  io.command('stage-in')
    .requiredOption('--manifest <s3-url>', "the task's stage-in manifest")
    .requiredOption('--root <dir>', "the pod's emptyDir")
    .requiredOption('--task-dir <dir>', "directory for Strand's files of this pod")
    .action(async (o: { manifest: string; root: string; taskDir: string }) => {
      const { podStore, stageIn } = await import('../executor/kubernetes/object-store-mode/pod-io.js');
      const store = podStore();
      try {
        await stageIn(store, { manifest: o.manifest, root: o.root, taskDir: o.taskDir, log });
      } finally {
        store.close();
      }
      finish(0);
    });
  io.command('upload')
    .requiredOption('--root <dir>', "the pod's emptyDir")
    .requiredOption('--workdir <dir>', "the task's working directory")
    .requiredOption('--task-dir <dir>', "directory for Strand's files of this pod")
    .requiredOption('--to <s3-url>', "the job's prefix")
    .requiredOption('--result <s3-url>', 'where result.json goes')
    .action(async (o: { root: string; workdir: string; taskDir: string; to: string; result: string }) => {
      const { podStore, upload } = await import('../executor/kubernetes/object-store-mode/pod-io.js');
      const store = podStore();
      try {
        await upload(store, { root: o.root, workDir: o.workdir, taskDir: o.taskDir, to: o.to, result: o.result, log });
      } finally {
        store.close();
      }
      finish(0);
    });
  program.addCommand(io, { hidden: true });
}
