/**
 * `node --import <this file> …`: appends the URL of every module the process imports (ESM
 * resolution, which every import of a package from Strand's ESM code goes through) to the file
 * named by $STRAND_TEST_IMPORT_LOG. For test/cli/startup.test.ts.
 */
import { register } from 'node:module';

register(new URL('./hooks.mjs', import.meta.url), { data: { out: process.env.STRAND_TEST_IMPORT_LOG } });
