/**
 * What the Kubernetes executor does with the API, as RBAC needs it: the source of the Role that
 * `rbacManifests()` prints and of the access checks run before a run starts.
 */
export interface Permission {
  /** API group: '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  verbs: string[];
  /** Short human reason, shown when the permission is missing. */
  why: string;
  /** Strand works without it (and says what it cannot do); doctor warns instead of failing. */
  optional?: true;
}

export const REQUIRED_PERMISSIONS: Permission[] = [
  {
    group: 'batch',
    resource: 'jobs',
    verbs: ['create', 'get', 'list', 'watch', 'delete', 'deletecollection', 'patch'],
    why: 'run each task as a Job, follow it, and remove it when cancelled or cleaned up',
  },
  { group: '', resource: 'pods', verbs: ['get', 'list', 'watch', 'delete'], why: "follow task pods to learn why a task ended (OOM, eviction, image pull)" },
  { group: '', resource: 'pods', subresource: 'log', verbs: ['get'], why: "read a task's output and the tail of a failed task's log" },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['create', 'get', 'list', 'delete', 'patch'],
    why: 'keep the per-run anchor that owns every Job of a run; a submitted run publishes its state in one (strand submit)',
  },
  {
    group: '',
    resource: 'secrets',
    verbs: ['create'],
    why: "strand submit: send the run's job in a Secret, and make the namespace's task cache key (strand-cache-key) if missing (never read back)",
    optional: true,
  },
  { group: '', resource: 'events', verbs: ['get', 'list', 'watch'], why: 'explain tasks that cannot be scheduled or started' },
  { group: '', resource: 'resourcequotas', verbs: ['get', 'list'], why: "check tasks' requests against the namespace quota before submitting" },
  { group: '', resource: 'limitranges', verbs: ['get', 'list'], why: "check tasks' requests against the namespace limit ranges" },
  { group: '', resource: 'persistentvolumeclaims', verbs: ['get', 'list'], why: 'check that the workspace and data volume claims exist and are bound' },
  {
    group: 'metrics.k8s.io',
    resource: 'pods',
    verbs: ['list'],
    why: "read task pods' CPU and memory use for strand report (clusters with metrics-server)",
    optional: true,
  },
];

/** `resource` or `resource/subresource`, as RBAC rules name it. */
export function permissionResource(p: Permission): string {
  return p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
}
