import { LocalExecutor } from '../../src/executor/local/local-executor.js';
import { describeExecutorContract } from './executor-contract.js';

describeExecutorContract('local', async (options) => new LocalExecutor(options, { killGraceMs: 1000 }));
