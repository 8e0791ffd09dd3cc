/** Strand's public library API. */
export { runDocument, rootPathFor, type RunRequest, type RunOutcome } from './api/run.js';
export { resolveConfig, type InlineConfig, type ResolvedConfig } from './config/config.js';
export { loadDocument, loadJob, resolveJobObject } from './loader/index.js';
export { createExecutor } from './executor/registry.js';
export type { Executor, TaskSpec, TaskResult, TaskReason } from './executor/executor.js';
export type { RunEvent } from './engine/events.js';
export * from './errors.js';
export type * from './model/types.js';
export type { ReusedFrom } from './engine/events.js';
export { registerRemoteIdentity, type RemoteIdentity } from './cache/digests.js';
export { listCache, clearCache, type CacheInventory, type CacheEntryInfo } from './cache/inventory.js';
