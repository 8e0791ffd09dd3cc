/** Reading a dashboard's event stream (server-sent events) in tests. */
import http from 'node:http';

/** Read `/api/events<query>` of the dashboard at `origin` until `until` holds for all that arrived; resolves it. */
export function readEventsUntil(origin: string, token: string, query: string, until: (all: string) => boolean): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let all = '';
    const req = http.get(new URL(`/api/events${query}`, origin), { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        all += chunk;
        if (until(all)) {
          req.destroy();
          resolve(all);
        }
      });
    });
    req.on('error', reject);
  });
}
