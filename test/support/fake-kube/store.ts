/**
 * The fake etcd: objects by resource/namespace/name, one global monotonically increasing
 * resourceVersion, a bounded history of change events and the watch hub fed from it.
 */
import { randomUUID } from 'node:crypto';
import { type KubeObject, type WatchEventType, clone, nowIso } from './types.js';

export interface StoredEvent {
  rv: number;
  plural: string;
  namespace: string;
  type: Exclude<WatchEventType, 'BOOKMARK' | 'ERROR'>;
  object: KubeObject;
  /** The previous version, for MODIFIED events (lets selector-filtered watches emit ADDED/DELETED). */
  prev?: KubeObject;
}

export interface Watcher {
  plural: string;
  /** undefined: all namespaces. */
  namespace: string | undefined;
  deliver(ev: StoredEvent): void;
}

export type ChangeListener = (ev: StoredEvent) => void;

const key = (plural: string, ns: string, name: string): string => `${plural}/${ns}/${name}`;

export class Store {
  private readonly objects = new Map<string, KubeObject>();
  /** The same objects by resource, so listing one resource does not walk all of them. */
  private readonly byPlural = new Map<string, Map<string, KubeObject>>();
  private readonly byUid = new Map<string, string>();
  private rv = 1000;
  private history: StoredEvent[] = [];
  /** Watches may start from any resourceVersion >= this. */
  private oldestWatchableRv = 1000;
  private readonly watchers = new Set<Watcher>();
  private readonly listeners: ChangeListener[] = [];

  constructor(private readonly historyLimit: number) {}

  get currentRv(): number {
    return this.rv;
  }
  get oldestRv(): number {
    return this.oldestWatchableRv;
  }

  get(plural: string, ns: string, name: string): KubeObject | undefined {
    const o = this.objects.get(key(plural, ns, name));
    return o ? clone(o) : undefined;
  }

  /**
   * Objects of one resource, sorted like etcd keys (namespace, then name). `filter` sees the stored
   * object (do not modify it) and runs before copying, so callers that want a few pay for a few.
   */
  list(plural: string, ns?: string, filter?: (o: KubeObject) => boolean): KubeObject[] {
    const prefix = ns === undefined ? `${plural}/` : `${plural}/${ns}/`;
    const out: Array<[string, KubeObject]> = [];
    for (const [k, o] of this.byPlural.get(plural) ?? []) if (k.startsWith(prefix) && (!filter || filter(o))) out.push([k, o]);
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => clone(o));
  }

  /** True when some object of `plural` in `ns` passes `pred` (no copies). */
  some(plural: string, ns: string | undefined, pred: (o: KubeObject) => boolean = () => true): boolean {
    const prefix = ns === undefined ? `${plural}/` : `${plural}/${ns}/`;
    for (const [k, o] of this.byPlural.get(plural) ?? []) if (k.startsWith(prefix) && pred(o)) return true;
    return false;
  }

  private index(k: string, o: KubeObject | undefined): void {
    const plural = k.slice(0, k.indexOf('/'));
    let m = this.byPlural.get(plural);
    if (!m) this.byPlural.set(plural, (m = new Map()));
    const old = m.get(k);
    if (old?.metadata.uid !== undefined && this.byUid.get(old.metadata.uid) === k) this.byUid.delete(old.metadata.uid);
    if (o) {
      m.set(k, o);
      if (o.metadata.uid !== undefined) this.byUid.set(o.metadata.uid, k);
    } else m.delete(k);
  }

  findByUid(uid: string): { plural: string; obj: KubeObject } | undefined {
    const k = this.byUid.get(uid);
    const o = k === undefined ? undefined : this.objects.get(k);
    return k !== undefined && o ? { plural: k.split('/')[0]!, obj: clone(o) } : undefined;
  }

  /** Every stored object that names `uid` among its ownerReferences. */
  dependentsOf(uid: string): Array<{ plural: string; obj: KubeObject }> {
    const out: Array<{ plural: string; obj: KubeObject }> = [];
    for (const [k, o] of this.objects)
      if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push({ plural: k.split('/')[0]!, obj: clone(o) });
    return out;
  }

  create(plural: string, obj: KubeObject): KubeObject {
    const o = clone(obj);
    const ns = o.metadata.namespace ?? '';
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp = nowIso();
    o.metadata.resourceVersion = String(++this.rv);
    if (plural !== 'events' && plural !== 'configmaps' && plural !== 'secrets' && plural !== 'namespaces' && plural !== 'nodes')
      o.metadata.generation = 1;
    this.objects.set(key(plural, ns, o.metadata.name!), o);
    this.index(key(plural, ns, o.metadata.name!), o);
    this.emit({ rv: this.rv, plural, namespace: ns, type: 'ADDED', object: clone(o) });
    return clone(o);
  }

  /** Stores a new version; bumps generation when `spec` changed. */
  update(plural: string, obj: KubeObject): KubeObject {
    const o = clone(obj);
    const ns = o.metadata.namespace ?? '';
    const k = key(plural, ns, o.metadata.name!);
    const prev = this.objects.get(k);
    if (!prev) throw new Error(`fake-kube store: update of missing ${k}`);
    o.metadata.uid = prev.metadata.uid;
    o.metadata.creationTimestamp = prev.metadata.creationTimestamp;
    if (prev.metadata.generation !== undefined) {
      const specChanged = JSON.stringify(prev['spec']) !== JSON.stringify(o['spec']);
      o.metadata.generation = prev.metadata.generation + (specChanged ? 1 : 0);
    }
    o.metadata.resourceVersion = String(++this.rv);
    this.objects.set(k, o);
    this.index(k, o);
    this.emit({ rv: this.rv, plural, namespace: ns, type: 'MODIFIED', object: clone(o), prev: clone(prev) });
    return clone(o);
  }

  remove(plural: string, ns: string, name: string): KubeObject | undefined {
    const k = key(plural, ns, name);
    const prev = this.objects.get(k);
    if (!prev) return undefined;
    this.objects.delete(k);
    this.index(k, undefined);
    const o = clone(prev);
    o.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, plural, namespace: ns, type: 'DELETED', object: clone(o) });
    return o;
  }

  /** Events with rv > fromRv for a resource (and namespace), or 'expired' if history no longer reaches back. */
  eventsSince(fromRv: number, plural: string, ns: string | undefined): StoredEvent[] | 'expired' {
    if (fromRv < this.oldestWatchableRv) return 'expired';
    return this.history.filter((e) => e.rv > fromRv && e.plural === plural && (ns === undefined || e.namespace === ns));
  }

  /** Drops all history: every resourceVersion older than the current one becomes too old to watch from. */
  compact(): void {
    this.history = [];
    this.oldestWatchableRv = this.rv;
  }

  addWatcher(w: Watcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /** Synchronous hook for the simulated controllers. */
  onChange(l: ChangeListener): void {
    this.listeners.push(l);
  }

  private emit(ev: StoredEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.oldestWatchableRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) if (w.plural === ev.plural && (w.namespace === undefined || w.namespace === ev.namespace)) w.deliver(ev);
    for (const l of this.listeners) l(ev);
  }
}
