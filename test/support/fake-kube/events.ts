/** Records core/v1 Events the way client-go's event recorder does (deduplicated by count). */
import type { Api } from './api.js';
import { randomBytes } from 'node:crypto';
import { type KubeObject, nowIso } from './types.js';

export interface CoreEvent extends KubeObject {
  involvedObject: { kind: string; namespace?: string; name: string; uid: string; apiVersion: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
}

export class EventRecorder {
  constructor(private readonly api: Api) {}

  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, host?: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const nsObj = this.api.store.get('namespaces', '', ns);
    if (!nsObj || nsObj.metadata.deletionTimestamp) return;
    const existing = (
      this.api.store.list('events', ns, (o) => {
        const e = o as CoreEvent;
        return e.involvedObject.uid === obj.metadata.uid && e.reason === reason && e.message === message && e.source.component === component;
      }) as CoreEvent[]
    )[0];
    const now = nowIso();
    if (existing) {
      existing.count += 1;
      existing.lastTimestamp = now;
      this.api.store.update('events', existing);
      return;
    }
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: {
        kind: obj.kind!,
        namespace: ns,
        name: obj.metadata.name!,
        uid: obj.metadata.uid!,
        apiVersion: obj.apiVersion!,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      source: host ? { component, host } : { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: host ?? '',
    };
    try {
      this.api.store.create('events', ev as unknown as KubeObject);
    } catch {
      // events are best effort, as in the real recorder
    }
  }
}
