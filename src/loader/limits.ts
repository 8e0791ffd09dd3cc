/**
 * What the loader will read of a document or job file it did not write: how big a file, how deep
 * its nesting, how many documents `$import`/`$include`/`run` may bring in, and where `$include`
 * may read. One session per loadDocument/loadJob call holds the limits and what was spent so far.
 */
/** Largest CWL document, job file or `$include`d file read, in bytes (--max-document-size). */
export const DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * Deepest nesting of mappings and lists in a document or job file (after `$import`s too). The
 * `yaml` package composes nodes recursively and runs out of stack at about 390 nested flow
 * lists on Node's default stack, so the limit sits well below that; real documents nest < 30.
 */
export const MAX_NESTING_DEPTH = 128;

/** Documents `$import`, `$include` and `run` may bring in, each counted every time it is used. */
export const MAX_DOCUMENTS_BROUGHT_IN = 10_000;

/** Bytes those documents may add up to (counted each time too), as a multiple of the file limit. */
export const EXPANSION_FACTOR = 4;

export interface LoaderLimits {
  /** Largest file read, in bytes. */
  readonly maxDocumentBytes: number;
  /** Allow `$include` (and `$import` of a document that is not CWL) outside the including document's directory. */
  readonly allowIncludeOutside: boolean;
}

export interface LoaderLimitOptions {
  maxDocumentBytes?: number;
  allowIncludeOutside?: boolean;
  /**
   * Gets the path of every local file the document is made of (itself, its `run`, `$import` and
   * `$include` files), read or taken from the parse cache: what `strand submit` packs with a run.
   */
  files?: Set<string>;
  /**
   * Read local files only inside this directory (no `..`, absolute path or link leading out of
   * it): the documents a lab server loads came from someone else, and may name nothing of the
   * server's (a `run: /etc/passwd` is refused before it is read).
   */
  root?: string;
}

export class LoadSession {
  readonly limits: LoaderLimits;
  documents = 0;
  bytes = 0;
  private readonly files: Set<string> | undefined;
  /** Throws for a file this load may not read (load-root.ts, for LoaderLimitOptions.root). */
  private readonly checkRead: ((file: string) => void) | undefined;
  constructor(options: LoaderLimitOptions = {}, checkRead?: (file: string) => void) {
    this.files = options.files;
    this.checkRead = checkRead;
    this.limits = {
      maxDocumentBytes: options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
      allowIncludeOutside: options.allowIncludeOutside ?? false,
    };
  }

  /**
   * A local file this load is about to read (LoaderLimitOptions.files): fetch.ts noteLocalFile,
   * called before every read. Throws a ValidationError for a file outside `root`.
   */
  noteFile(file: string): void {
    this.checkRead?.(file);
    this.files?.add(file);
  }

  /** Count a document brought in; the reason why not when over a budget. */
  spend(bytes: number): string | undefined {
    this.documents++;
    this.bytes += bytes;
    if (this.documents > MAX_DOCUMENTS_BROUGHT_IN) {
      return `$import, $include and run bring in more than ${MAX_DOCUMENTS_BROUGHT_IN} documents (each counted every time it is used): are documents imported over and over through several levels?`;
    }
    const most = EXPANSION_FACTOR * this.limits.maxDocumentBytes;
    if (this.bytes > most) {
      return `$import, $include and run bring in more than ${formatBytes(most)} of documents (each counted every time it is used; ${EXPANSION_FACTOR} x --max-document-size)`;
    }
    return undefined;
  }
}

/** `16 MiB`, `512 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** `16MiB`, `16M`, `512k`, `1048576` -> bytes; undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(k|m|g)(i?b)?|b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const n = Math.floor(Number(m[1]) * unit);
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}
