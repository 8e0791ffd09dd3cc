/**
 * `node dist/test/conformance/agree-cli.js <harness.json> <independent.json>`: exit 1 when the
 * project's harness and ../shared/cwl-conformance.py count a different number of passes (CI runs
 * both on the tests not tagged docker), printing the tests they disagree on.
 */
import { readFileSync } from 'node:fs';
import { compareRunners } from './agree.js';

const [harnessFile, independentFile] = process.argv.slice(2);
if (!harnessFile || !independentFile) {
  process.stderr.write('usage: agree-cli.js <harness.json> <independent.json>\n');
  process.exit(2);
}
const a = compareRunners(JSON.parse(readFileSync(harnessFile, 'utf8')), JSON.parse(readFileSync(independentFile, 'utf8')));
process.stdout.write(`harness: ${a.harnessPassed} passed; cwl-conformance.py: ${a.independentPassed} passed\n`);
if (a.onlyHarness.length) process.stdout.write(`passed by the harness only: ${a.onlyHarness.join(', ')}\n`);
if (a.onlyIndependent.length) process.stdout.write(`passed by cwl-conformance.py only: ${a.onlyIndependent.join(', ')}\n`);
if (!a.agree) {
  process.stdout.write('FAIL: the two runners disagree\n');
  process.exit(1);
}
process.stdout.write('the two runners agree\n');
