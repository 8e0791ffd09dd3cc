/** Shared helpers for the fake-kube tests (real client wiring, polling until a condition holds). */
import * as k8s from '@kubernetes/client-node';
import type { FakeKube } from './index.js';

export interface Clients {
  kc: k8s.KubeConfig;
  batch: k8s.BatchV1Api;
  core: k8s.CoreV1Api;
  authz: k8s.AuthorizationV1Api;
}

export function clientsFor(fake: FakeKube): Clients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(fake.kubeconfigPath);
  return { kc, batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api), authz: kc.makeApiClient(k8s.AuthorizationV1Api) };
}

/** Polls `probe` until it returns a value other than undefined (or throws after a generous limit). */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, limitMs = 20_000): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Job running one shell command. */
export function shellJob(name: string, script: string, extra: Partial<k8s.V1PodSpec> = {}, jobExtra: Partial<k8s.V1JobSpec> = {}): k8s.V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...jobExtra,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', script] }],
          ...extra,
        },
      },
    },
  };
}

/** The ApiException a client call rejects with, with its body parsed. */
export async function apiError(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof k8s.ApiException) {
      const raw = err.body as unknown;
      const body = typeof raw === 'string' ? (JSON.parse(raw) as Record<string, unknown>) : (raw as Record<string, unknown>);
      return { code: err.code, body, headers: err.headers as Record<string, string> };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

export function jobCondition(job: k8s.V1Job | undefined, type: string): k8s.V1JobCondition | undefined {
  return job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}
