/**
 * The Kubernetes client's classes and functions that Strand calls, loaded once for every module
 * of the cluster layer and the Kubernetes executor (they import values from here, types from
 * `@kubernetes/client-node`).
 *
 * The package is about 970 modules; importing them one by one cost every Kubernetes command
 * (`strand submit`, a run on the cluster, a leader pod) 0.8 s of wall time and 1.1 s of CPU.
 * `npm run build` bundles it into one minified file (scripts/bundle-kubernetes-client.mjs,
 * 0.35 s); the built CLI loads that. From the sources (tests) the package itself is loaded.
 * Both are the same code of the same version, so what is true of one is true of the other.
 */
import { existsSync } from 'node:fs';
import type * as K from '@kubernetes/client-node';

/** dist/vendor/kubernetes-client.js as seen from dist/src/cluster/; absent next to the sources. */
const bundled = new URL('../../vendor/kubernetes-client.js', import.meta.url);

const k8s = (existsSync(bundled) ? await import(bundled.href) : await import('@kubernetes/client-node')) as typeof K;

export const {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Log,
  PatchStrategy,
  RbacAuthorizationV1Api,
  VersionApi,
  makeInformer,
  setHeaderOptions,
} = k8s;
export type ApiException<T> = K.ApiException<T>;
export type AuthenticationV1Api = K.AuthenticationV1Api;
export type AuthorizationV1Api = K.AuthorizationV1Api;
export type BatchV1Api = K.BatchV1Api;
export type CoreV1Api = K.CoreV1Api;
export type CustomObjectsApi = K.CustomObjectsApi;
export type KubeConfig = K.KubeConfig;
export type Log = K.Log;
export type PatchStrategy = K.PatchStrategy;
export type RbacAuthorizationV1Api = K.RbacAuthorizationV1Api;
export type VersionApi = K.VersionApi;
