/** The Kubernetes executor's flags that `strand run` and `strand submit` share (as commander parses them). */
export interface KubernetesRunFlags {
  config?: string;
  context?: string;
  namespace?: string;
  maxParallel?: number;
  pendingTimeout?: number;
  maxMemory?: string;
  owner?: string;
}

/** Those flags as the executor's overrides (flags win over the config file's `kubernetes:`). */
export function kubernetesOverrides(flags: KubernetesRunFlags): Record<string, unknown> {
  return {
    context: flags.context,
    namespace: flags.namespace,
    maxParallel: flags.maxParallel,
    pendingTimeoutSeconds: flags.pendingTimeout,
    maxMemory: flags.maxMemory,
    owner: flags.owner,
  };
}
