/** Parts of a pod spec that settings name and the cluster layer's manifests use. */

/** A PersistentVolumeClaim and where pods mount it. */
export interface VolumeClaimMount {
  claimName: string;
  /** Where pods see the volume. */
  mountPath: string;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}
