/**
 * Where data lives beyond the local file system: `s3://` objects and prefixes, `http(s)://`
 * files. Layer rules (scripts/check-layers.mjs): storage/ imports only itself, errors.ts and the
 * settings type of config/; api/, cli/ and executor/ may import it; the engine and staging never
 * do (remote data is fetched and uploaded at the edges of a run, around local staging).
 */
export * from './location.js';
export { S3Store, type S3StoreOptions, type ObjectInfo, type ListedObject, type Transferred } from './s3-store.js';
export { headHttp, downloadHttp, DEFAULT_MAX_DOWNLOAD_BYTES, type HttpInfo, type HttpOptions } from './http-source.js';
export { isPrivateAddress, type AddressPolicy } from './address-policy.js';
export { redactDeep, redactUrl, redactUrls } from './redact-url.js';
export { isTransient, withRetries, type RetryOptions } from './retry.js';
export { describeS3Error } from './s3-errors.js';
export type { S3Settings, StorageSettings } from '../config/storage-settings.js';
