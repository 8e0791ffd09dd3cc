import { LocalExecutor } from '../../src/executor/local/local-executor.js';
import { describeExecutorContract } from './executor-contract.js';

// Tasks started in this process, and through the process launcher (what large runs use).
describeExecutorContract('local', async (options) => new LocalExecutor(options, { killGraceMs: 1000, launcher: 'never' }));
describeExecutorContract('local via the process launcher', async (options) => new LocalExecutor(options, { killGraceMs: 1000, launcher: 'always' }));
