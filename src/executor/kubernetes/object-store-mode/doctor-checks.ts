/**
 * What `strand doctor` checks in object-store mode (kubernetes.storage: objectStore) instead of
 * a workspace claim: the bucket (with Strand's own credentials, from this machine), the Secret
 * the task pods read the bucket's credentials from, the image of the helper containers, and
 * their requests and limits as the namespace's LimitRanges will make them.
 */
import type { V1LimitRange } from '@kubernetes/client-node';
import type { DoctorCheck } from '../doctor-check.js';
import { isForbidden, isNotFound, type KubeApi } from '../../../cluster/kube-api.js';
import { fitToLimitRanges } from './helper-resources.js';
import type { ObjectStoreSettings } from './settings.js';

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
const quantities = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

export async function objectStoreChecks(
  api: KubeApi,
  ns: string,
  store: ObjectStoreSettings,
  bucketCheck: (() => Promise<void>) | undefined,
  limitRanges: readonly V1LimitRange[] | undefined,
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const where = `s3://${store.bucket}${store.prefix ? `/${store.prefix}` : ''}`;
  checks.push({ name: 'storage', level: 'ok', detail: `object-store mode: task files in ${where}; no workspace claim is needed` });

  if (!bucketCheck) {
    checks.push({ name: 'bucket', level: 'warn', detail: `not checked: no storage.s3 section in the config file to reach ${where} from here`, fix: 'set storage.s3 (endpoint, region, credentials profile) in strand.yaml (docs/object-stores.md)' });
  } else {
    try {
      await bucketCheck();
      checks.push({ name: 'bucket', level: 'ok', detail: `${store.bucket} exists and Strand's credentials may use it` });
    } catch (e) {
      checks.push({ name: 'bucket', level: 'fail', detail: msg(e), fix: 'create the bucket, or fix storage.s3 / the credentials Strand uses on this machine' });
    }
  }

  if (store.credentialsSecret === undefined) {
    checks.push({ name: 'bucket credentials in pods', level: 'warn', detail: 'no objectStore.credentialsSecret: pods must reach the bucket with the node\'s or pod\'s own identity (an instance role)' });
  } else {
    const name = store.credentialsSecret;
    try {
      await api.call(`get Secret ${name}`, () => api.core.readNamespacedSecret({ name, namespace: ns }));
      checks.push({ name: 'bucket credentials in pods', level: 'ok', detail: `Secret ${name} (given to the helper containers by reference, envFrom)` });
    } catch (e) {
      if (isNotFound(e)) {
        checks.push({
          name: 'bucket credentials in pods',
          level: 'fail',
          detail: `Secret ${name} does not exist in namespace ${ns}: every task pod would fail to start`,
          fix: `kubectl -n ${ns} create secret generic ${name} --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...`,
        });
      } else if (isForbidden(e)) {
        checks.push({ name: 'bucket credentials in pods', level: 'warn', detail: `Secret ${name}: not allowed to read Secrets here (Strand does not need to); make sure it exists in ${ns}` });
      } else {
        checks.push({ name: 'bucket credentials in pods', level: 'warn', detail: `cannot read Secret ${name}: ${msg(e)}` });
      }
    }
  }

  checks.push({ name: 'helper image', level: 'ok', detail: `${store.image} runs the stage-in and upload containers (${store.command.join(' ')}); the nodes must be able to pull it` });

  const fitted = fitToLimitRanges(store.helperResources, limitRanges ?? []);
  checks.push({
    name: 'helper resources',
    level: 'ok',
    detail:
      `requests ${quantities(fitted.requests)}; limits ${quantities(fitted.limits)} per helper container` +
      (fitted.notes.length ? ` (fitted to the namespace: ${fitted.notes.join('; ')})` : '') +
      (limitRanges === undefined ? ' (LimitRanges not readable: as configured)' : ''),
  });
  return checks;
}
