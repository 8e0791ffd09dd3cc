/** Reading a dashboard's event stream (server-sent events) in tests. */
import http from 'node:http';

/**
 * Read `/api/events<query>` of the dashboard at `origin` until `until` holds for all that arrived;
 * resolves it. With `timeoutMs`, gives up then, with the end of what arrived in the error.
 */
export function readEventsUntil(origin: string, token: string, query: string, until: (all: string) => boolean, timeoutMs?: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let all = '';
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            req.destroy();
            reject(new Error(`the event stream ${query} did not say it in ${timeoutMs / 1000} s; events:\n${all.slice(-2000)}`));
          }, timeoutMs);
    const req = http.get(new URL(`/api/events${query}`, origin), { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        all += chunk;
        if (until(all)) {
          clearTimeout(timer);
          req.destroy();
          resolve(all);
        }
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
