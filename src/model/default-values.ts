/**
 * A run's own values for some defaults of its (possibly shared, cached) process: a default that
 * names remote data is replaced, for that run only, by a copy pointed at the fetched files
 * (api/remote-data.ts). Keyed by the parameter that holds the default; the process is never changed.
 */
export type DefaultValues = ReadonlyMap<object, unknown>;

/** The default of `holder` for this run: its own value when it has one, else the document's. */
export function defaultOf<T>(holder: { default?: T }, values: DefaultValues | undefined): T | undefined {
  return values?.has(holder) ? (values.get(holder) as T) : holder.default;
}
