/** What a validation pass finds: errors (the document is rejected) and warnings (it is not). */
import type { SourceLocation } from '../../errors.js';

export interface Issue {
  severity: 'error' | 'warning';
  message: string;
  location: SourceLocation;
}

export class Issues {
  readonly list: Issue[] = [];
  error(location: SourceLocation, message: string): void {
    this.add({ severity: 'error', message, location });
  }
  warn(location: SourceLocation, message: string): void {
    this.add({ severity: 'warning', message, location });
  }
  private add(issue: Issue): void {
    // Once each: the same process may be reached through several steps.
    const key = (i: Issue) => `${i.severity} ${i.location.file}:${i.location.line}:${i.location.column} ${i.location.fieldPath} ${i.message}`;
    if (!this.list.some((i) => key(i) === key(issue))) this.list.push(issue);
  }
  get errors(): Issue[] {
    return this.list.filter((i) => i.severity === 'error');
  }
  get warnings(): Issue[] {
    return this.list.filter((i) => i.severity === 'warning');
  }
}
