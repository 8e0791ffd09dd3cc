/**
 * Watch streams: chunked newline-delimited JSON events, label/field selectors applied (objects
 * moving in or out of a selector become ADDED/DELETED), bookmarks, timeoutSeconds, and an ERROR
 * event with a 410 Expired Status when the requested resourceVersion is older than the history.
 */
import type { ServerResponse } from 'node:http';
import type { ResourceInfo } from './resources.js';
import { groupVersion } from './resources.js';
import type { Selector } from './selectors.js';
import { expired } from './status.js';
import type { Store, StoredEvent } from './store.js';
import type { KubeObject, WatchEvent } from './types.js';

export interface WatchRequest {
  r: ResourceInfo;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  selector: Selector;
  allowBookmarks: boolean;
  timeoutSeconds: number;
  bookmarkIntervalMs: number;
}

export function serveWatch(store: Store, res: ServerResponse, w: WatchRequest, open: Set<ServerResponse>): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  open.add(res);
  const send = (ev: WatchEvent): void => {
    if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(ev) + '\n');
  };
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => {};
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    timers.forEach((t) => clearTimeout(t));
    open.delete(res);
    if (!res.writableEnded && !res.destroyed) res.end();
  };
  res.on('close', finish);

  const deliver = (ev: StoredEvent): void => {
    const now = w.selector(ev.object);
    if (ev.type === 'MODIFIED') {
      const before = ev.prev ? w.selector(ev.prev) : now;
      if (now && before) send({ type: 'MODIFIED', object: ev.object });
      else if (now && !before) send({ type: 'ADDED', object: ev.object });
      else if (!now && before) send({ type: 'DELETED', object: ev.object });
      return;
    }
    if (now) send({ type: ev.type, object: ev.object });
  };

  const rv = w.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    for (const o of store.list(w.r.plural, w.r.namespaced ? w.namespace : undefined)) if (w.selector(o)) send({ type: 'ADDED', object: o });
  } else {
    const from = Number(rv);
    const past = Number.isFinite(from) ? store.eventsSince(from, w.r.plural, w.r.namespaced ? w.namespace : undefined) : 'expired';
    if (past === 'expired') {
      send({ type: 'ERROR', object: expired(`too old resource version: ${rv} (${store.oldestRv})`) });
      finish();
      return;
    }
    for (const ev of past) deliver(ev);
  }
  unsubscribe = store.addWatcher({ plural: w.r.plural, namespace: w.r.namespaced ? w.namespace : undefined, deliver });
  if (w.allowBookmarks) {
    const tick = (): void => {
      const bookmark: KubeObject = { kind: w.r.kind, apiVersion: groupVersion(w.r), metadata: { resourceVersion: String(store.currentRv) } };
      send({ type: 'BOOKMARK', object: bookmark });
      timers[0] = setTimeout(tick, w.bookmarkIntervalMs);
    };
    timers[0] = setTimeout(tick, w.bookmarkIntervalMs);
  }
  timers[1] = setTimeout(finish, w.timeoutSeconds * 1000);
}
