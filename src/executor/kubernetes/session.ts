/** A connection for the housekeeping commands (doctor, clean, logs): settings -> KubeApi. */
import { connect } from '../../cluster/connection.js';
import { resolveKubernetesSettings } from './index.js';
import { KubeApi } from '../../cluster/kube-api.js';
import type { KubernetesSettings } from './settings.js';
import type { ExecutorOptions } from '../executor.js';

export interface KubeSession {
  api: KubeApi;
  settings: KubernetesSettings;
  namespace: string;
}

export function openKubeSession(options: ExecutorOptions): KubeSession {
  const settings = resolveKubernetesSettings(options);
  const conn = connect({ kubeconfig: settings.kubeconfig, context: settings.context, namespace: settings.namespace });
  return { api: new KubeApi(conn, { requestsPerSecond: settings.requestsPerSecond }), settings, namespace: conn.namespace };
}
