/** The tool layer: running CommandLineTools and ExpressionTools. */
export { buildCommandLine, collectBindings, compareKeys, toolUsesShell, type BoundArgument, type CommandLineOptions } from './command-line.js';
export { runCommandLineTool, classifyExitCode, containerImage, effectiveRequirements } from './run-command-line-tool.js';
export { runExpressionTool, completeFiles } from './run-expression-tool.js';
export { assertSupported, isSupportedRequirement, SUPPORTED_REQUIREMENTS, CUDA_REQUIREMENT } from './supported-requirements.js';
export { computeResources, type ResourceValues } from './resources.js';
export { buildEnvironment } from './environment.js';
export { formatNumber, shellQuote } from './value-format.js';
export { decideRetry, retriesFor, DEFAULT_RETRY, TASK_RETRY_HINT, type RetrySettings } from './task-retry.js';
