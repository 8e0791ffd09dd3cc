import { describe, expect, it } from 'vitest';
import { StorageError } from '../errors.js';
import { isRemoteLocation, parseRemoteLocation, parseS3Location, remoteBasename, s3Child } from './location.js';

describe('remote locations', () => {
  it('parses s3://bucket/key, keeping the key as written', () => {
    expect(parseS3Location('s3://my-bucket/a/b c.txt')).toEqual({ scheme: 's3', bucket: 'my-bucket', key: 'a/b c.txt' });
    expect(parseS3Location('s3://my-bucket')).toEqual({ scheme: 's3', bucket: 'my-bucket', key: '' });
    expect(parseS3Location('s3://my-bucket/')).toEqual({ scheme: 's3', bucket: 'my-bucket', key: '' });
    expect(parseS3Location('s3://my-bucket/dir/')).toEqual({ scheme: 's3', bucket: 'my-bucket', key: 'dir/' });
  });

  it('rejects malformed bucket names, naming the location', () => {
    for (const bad of ['s3://', 's3:///key', 's3://UPPER/key', 's3://ab/key', 's3://a..b/key']) {
      expect(() => parseS3Location(bad)).toThrow(StorageError);
      expect(() => parseS3Location(bad)).toThrow(bad);
    }
  });

  it('tells remote locations from paths and file URIs', () => {
    expect(isRemoteLocation('s3://b/k')).toBe(true);
    expect(isRemoteLocation('HTTPS://example.org/x')).toBe(true);
    expect(isRemoteLocation('file:///tmp/x')).toBe(false);
    expect(isRemoteLocation('/tmp/s3://x')).toBe(false);
    expect(parseRemoteLocation('file:///tmp/x')).toBeUndefined();
    expect(parseRemoteLocation('/tmp/x')).toBeUndefined();
    expect(parseRemoteLocation('http://127.0.0.1:9/a%20b.txt')).toEqual({ scheme: 'http', url: 'http://127.0.0.1:9/a%20b.txt' });
  });

  it('joins children under a prefix and names basenames', () => {
    const p = parseS3Location('s3://bkt/out');
    expect(s3Child(p, 'x/y.txt')).toEqual({ scheme: 's3', bucket: 'bkt', key: 'out/x/y.txt' });
    expect(s3Child(parseS3Location('s3://bkt'), 'y.txt').key).toBe('y.txt');
    expect(s3Child(parseS3Location('s3://bkt/out/'), 'y.txt').key).toBe('out/y.txt');
    expect(remoteBasename(parseS3Location('s3://bkt/a/b.txt'))).toBe('b.txt');
    expect(remoteBasename(parseS3Location('s3://bkt/a/dir/'))).toBe('dir');
    expect(remoteBasename({ scheme: 'https', url: 'https://h/x/a%20b.fa?sig=1' })).toBe('a b.fa');
  });
});
