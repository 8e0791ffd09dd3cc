/** Module resolution hooks (node:module register) that log each resolved URL; see register.mjs. */
import { appendFileSync } from 'node:fs';

let out;

export function initialize(data) {
  out = data?.out;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (out) appendFileSync(out, result.url + '\n');
  return result;
}
