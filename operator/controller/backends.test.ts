import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backendAllowed, parseBackendPrefix, parseBackendPrefixes } from './backends.ts';

const ALLOW = ['https://ingest.example.com/'];

describe('backendAllowed', () => {
  it('matches URLs on the listed host and below the listed path', () => {
    assert.equal(backendAllowed('https://ingest.example.com/', ALLOW), true);
    assert.equal(backendAllowed('https://ingest.example.com/v1/signals', ALLOW), true);
    assert.equal(backendAllowed('https://ingest.example.com', ALLOW), true, 'an empty path is /');
    assert.equal(backendAllowed('https://INGEST.Example.COM/v1', ALLOW), true, 'hosts are case-insensitive');
    assert.equal(backendAllowed('https://ingest.example.com:443/v1', ALLOW), true, 'default port');
    assert.equal(backendAllowed('https://ingest.example.com/v1?x=1#f', ALLOW), true);
  });

  it('never matches look-alike hosts', () => {
    for (const url of [
      'https://ingest.example.com.evil.io/',
      'https://ingest.example.com@evil.io/',
      'https://ingest.example.com:pw@evil.io/',
      'https://evil.io/https://ingest.example.com/',
      'https://evil.io/?https://ingest.example.com/',
      'https://eviLingest.example.com/',
      'https://ingest.example.co/',
      'https://ingest.example.com%2eevil.io/',
      'https://sub.ingest.example.com/',
    ]) {
      assert.equal(backendAllowed(url, ALLOW), false, url);
    }
  });

  it('requires the same scheme and port', () => {
    assert.equal(backendAllowed('http://ingest.example.com/', ALLOW), false);
    assert.equal(backendAllowed('https://ingest.example.com:8443/', ALLOW), false);
    assert.equal(
      backendAllowed('https://ingest.example.com:8443/', ['https://ingest.example.com:8443/']),
      true,
    );
    assert.equal(backendAllowed('https://ingest.example.com/', ['https://ingest.example.com:8443/']), false);
    assert.equal(backendAllowed('http://ingest.example.com:80/x', ['http://ingest.example.com/']), true);
  });

  it('matches paths on / boundaries only', () => {
    const allow = ['https://api.example.com/ingest'];
    assert.equal(backendAllowed('https://api.example.com/ingest', allow), true);
    assert.equal(backendAllowed('https://api.example.com/ingest/v1', allow), true);
    assert.equal(backendAllowed('https://api.example.com/ingestion', allow), false);
    assert.equal(backendAllowed('https://api.example.com/', allow), false);
    const slash = ['https://api.example.com/ingest/'];
    assert.equal(backendAllowed('https://api.example.com/ingest/v1', slash), true);
    assert.equal(backendAllowed('https://api.example.com/ingest', slash), false);
    assert.equal(backendAllowed('https://api.example.com/ingest-evil/', slash), false);
    // Dot segments are resolved before matching: they cannot climb out of the prefix.
    assert.equal(backendAllowed('https://api.example.com/ingest/../evil', slash), false);
    assert.equal(backendAllowed('https://api.example.com/ingest/%2e%2e/evil', slash), false);
  });

  it('refuses user information even on the listed host', () => {
    assert.equal(backendAllowed('https://user:pw@ingest.example.com/', ALLOW), false);
  });

  it('matches nothing with an empty list, an unset URL or a non-http(s) URL', () => {
    assert.equal(backendAllowed('https://ingest.example.com/', []), false);
    assert.equal(backendAllowed(undefined, ALLOW), false);
    assert.equal(backendAllowed('', ALLOW), false);
    assert.equal(backendAllowed('not a url', ALLOW), false);
    assert.equal(backendAllowed('ftp://ingest.example.com/', ['ftp://ingest.example.com/']), false);
  });

  it('skips bad list entries rather than matching them loosely', () => {
    assert.equal(backendAllowed('https://ingest.example.com/', ['ingest.example.com']), false);
    assert.equal(backendAllowed('https://ingest.example.com/', ['ingest.example.com', ...ALLOW]), true);
  });
});

describe('parseBackendPrefix', () => {
  it('normalizes a valid prefix', () => {
    assert.deepEqual(parseBackendPrefix('HTTPS://Ingest.Example.com:443/v1/'), {
      protocol: 'https:',
      host: 'ingest.example.com',
      path: '/v1/',
    });
  });
  it('describes what is wrong with a bad one', () => {
    assert.match(String(parseBackendPrefix('ingest.example.com')), /http\(s\) URL prefix/);
    assert.match(String(parseBackendPrefix('ftp://x/')), /http:\/\/ or https:\/\//);
    assert.match(String(parseBackendPrefix('https://u:p@x/')), /user information/);
    assert.match(String(parseBackendPrefix('https://x/?a=1')), /query or fragment/);
    assert.throws(() => parseBackendPrefixes(['https://ok/', 'nope']), /nope/);
  });
});
