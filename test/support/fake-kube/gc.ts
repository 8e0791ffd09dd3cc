/**
 * The garbage collector (ownerReferences: background and foreground cascading deletion,
 * dangling owners) and the namespace controller (emptying and removing Terminating namespaces).
 */
import type { Api } from './api.js';
import { resourceByPlural } from './resources.js';
import type { StoredEvent } from './store.js';
import type { KubeObject } from './types.js';

export class GarbageCollector {
  private queued = new Set<string>();
  private stopped = false;

  constructor(private readonly api: Api) {
    api.store.onChange((ev) => this.observe(ev));
  }

  stop(): void {
    this.stopped = true;
  }

  private later(key: string, fn: () => void): void {
    if (this.queued.has(key)) return;
    this.queued.add(key);
    setImmediate(() => {
      this.queued.delete(key);
      if (this.stopped) return;
      try {
        fn();
      } catch {
        // object changed underneath us: the next event retries
      }
    });
  }

  private observe(ev: StoredEvent): void {
    const o = ev.object;
    const uid = o.metadata.uid!;
    if (ev.type === 'DELETED') {
      for (const d of this.api.store.dependentsOf(uid)) this.later(`dep/${d.obj.metadata.uid}`, () => this.attemptToDelete(d.plural, d.obj.metadata.uid!));
      for (const ref of o.metadata.ownerReferences ?? []) this.later(`fg/${ref.uid}`, () => this.foreground(ref.uid));
      if (ev.namespace) this.later(`ns/${ev.namespace}`, () => this.namespaceSweep(ev.namespace));
    } else {
      if (ev.type === 'ADDED' && o.metadata.ownerReferences?.length) this.later(`dep/${uid}`, () => this.attemptToDelete(ev.plural, uid));
      if (o.metadata.deletionTimestamp && o.metadata.finalizers?.includes('foregroundDeletion')) this.later(`fg/${uid}`, () => this.foreground(uid));
      if (ev.plural === 'namespaces' && o.metadata.deletionTimestamp) this.later(`ns/${o.metadata.name}`, () => this.namespaceSweep(o.metadata.name!));
    }
  }

  /** Deletes a dependent whose owners are all gone; drops references to owners that are gone. */
  private attemptToDelete(plural: string, uid: string): void {
    const found = this.api.store.findByUid(uid);
    if (!found) return;
    const obj = found.obj;
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const live = refs.filter((ref) => {
      const owner = this.api.store.findByUid(ref.uid);
      return owner && owner.obj.metadata.name === ref.name && owner.obj.kind === ref.kind;
    });
    const ownerInForeground = live.some((ref) => {
      const owner = this.api.store.findByUid(ref.uid)!.obj;
      return owner.metadata.deletionTimestamp !== undefined && owner.metadata.finalizers?.includes('foregroundDeletion');
    });
    const r = resourceByPlural(plural);
    const ns = obj.metadata.namespace ?? '';
    if (live.length === 0 || (ownerInForeground && live.every((ref) => this.isDeleting(ref.uid)))) {
      if (!obj.metadata.deletionTimestamp) this.api.delete(r, ns, obj.metadata.name!, { propagationPolicy: 'Background' });
    } else if (live.length < refs.length) {
      obj.metadata.ownerReferences = live;
      this.api.updateInternal(plural, obj);
    }
  }

  private isDeleting(uid: string): boolean {
    return this.api.store.findByUid(uid)?.obj.metadata.deletionTimestamp !== undefined;
  }

  /** An owner deleted with propagationPolicy=Foreground: delete dependents, then let it go. */
  private foreground(uid: string): void {
    const found = this.api.store.findByUid(uid);
    if (!found || !found.obj.metadata.deletionTimestamp || !found.obj.metadata.finalizers?.includes('foregroundDeletion')) return;
    const deps = this.api.store.dependentsOf(uid);
    for (const d of deps)
      if (!d.obj.metadata.deletionTimestamp) this.attemptToDelete(d.plural, d.obj.metadata.uid!);
    if (this.api.store.dependentsOf(uid).length === 0) {
      const o: KubeObject = found.obj;
      o.metadata.finalizers = o.metadata.finalizers!.filter((f) => f !== 'foregroundDeletion');
      if (o.metadata.finalizers.length === 0) delete o.metadata.finalizers;
      this.api.updateInternal(found.plural, o);
    }
  }

  private namespaceSweep(ns: string): void {
    const nsObj = this.api.store.get('namespaces', '', ns);
    if (!nsObj?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const plural of ['jobs', 'pods', 'events', 'configmaps', 'secrets', 'persistentvolumeclaims', 'resourcequotas', 'limitranges', 'serviceaccounts', 'roles', 'rolebindings']) {
      for (const o of this.api.store.list(plural, ns)) {
        remaining++;
        if (!o.metadata.deletionTimestamp) this.api.delete(resourceByPlural(plural), ns, o.metadata.name!, { propagationPolicy: 'Background' });
      }
    }
    if (remaining === 0) this.api.store.remove('namespaces', '', ns);
  }
}
