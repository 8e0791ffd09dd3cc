/** Kubernetes objects as multi-document YAML, for `--dry-run` and `strand kube rbac` output. */
import { stringify } from 'yaml';

/**
 * `objects` as YAML documents separated by `---`, preceded by `header` as `# ` comment lines.
 * Undefined fields are left out.
 */
export function toYamlDocuments(objects: object[], header?: string): string {
  const comment =
    header === undefined
      ? ''
      : header
          .replace(/\n+$/, '')
          .split('\n')
          .map((l) => (l === '' ? '#' : `# ${l}`))
          .join('\n') + '\n';
  const docs = objects.map((o) => stringify(JSON.parse(JSON.stringify(o)) as unknown, { lineWidth: 0 }));
  return comment + docs.map((d) => `---\n${d}`).join('');
}
