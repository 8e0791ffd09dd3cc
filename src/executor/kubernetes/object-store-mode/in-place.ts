/**
 * Which `s3://` inputs the pods read in place (pure).
 *
 * A run's pods hold credentials for one bucket: `objectStore.location`'s, on the endpoint Strand
 * itself uses for the run's files (`storage.s3`; pods may reach it by another address,
 * `objectStore.endpoint`). An input object in that bucket is therefore readable by the pods with
 * exactly the rights the run already gives them, and is fetched by the pod's stage-in container
 * from where it is: never downloaded to this machine nor uploaded again under the run's prefix.
 *
 * Any other bucket is not the pods' to read: the credentials in `credentialsSecret` were not
 * given for it, so Strand does not send the pods there. Such an input is fetched by Strand with
 * its own credentials and put under the run's prefix, as before (docs/cloud-cluster-without-shared-storage.md).
 */
import type { ObjectStoreSettings } from './settings.js';

export function readsInPlace(settings: Pick<ObjectStoreSettings, 'bucket'>, location: { bucket: string; key: string }): boolean {
  return location.bucket === settings.bucket && location.key !== '' && !location.key.endsWith('/');
}
