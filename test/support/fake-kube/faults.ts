/** Injected faults, set through FakeKube's controls and read by the router, scheduler and kubelet. */
import type { Pod } from './types.js';

export type ImagePullFailure = 'ErrImagePull' | 'ImagePullBackOff' | 'InvalidImageName';
export type ImageMatcher = string | RegExp | ((image: string) => boolean);
export type PodPredicate = (pod: Pod) => boolean;

export interface RequestFault {
  status: 429 | 500 | 503;
  /** How many matching requests fail; then the fault is spent. */
  count: number;
  match?: { verb?: string; resource?: string; namespace?: string };
  /** Retry-After for 429 (seconds); default 1. */
  retryAfterSeconds?: number;
}

export class Faults {
  requestFaults: RequestFault[] = [];
  imagePull: Array<{ match: (image: string) => boolean; kind: ImagePullFailure }> = [];
  oomBelowMiB: number | undefined;
  unschedulable: Array<{ pred: PodPredicate; message: string }> = [];

  /** The fault the next request with these attributes meets, if any (consumes one count). */
  takeRequestFault(verb: string, resource: string, namespace: string | undefined): RequestFault | undefined {
    const f = this.requestFaults.find(
      (x) =>
        x.count > 0 &&
        (x.match?.verb === undefined || x.match.verb === verb) &&
        (x.match?.resource === undefined || x.match.resource === resource) &&
        (x.match?.namespace === undefined || x.match.namespace === namespace),
    );
    if (!f) return undefined;
    f.count--;
    if (f.count === 0) this.requestFaults = this.requestFaults.filter((x) => x !== f);
    return f;
  }

  imagePullFailure(image: string): ImagePullFailure | undefined {
    return this.imagePull.find((x) => x.match(image))?.kind;
  }

  unschedulableMessage(pod: Pod): string | undefined {
    return this.unschedulable.find((x) => x.pred(pod))?.message;
  }
}

export function imageMatcher(m: ImageMatcher): (image: string) => boolean {
  if (typeof m === 'function') return m;
  if (m instanceof RegExp) return (i) => m.test(i);
  return (i) => i === m || i.includes(m);
}
