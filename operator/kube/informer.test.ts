import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from '../../lib/errors.ts';
import type { KubeClient, KubeList, WatchEvent } from './client.ts';
import { Informer, type InformerEvent } from './informer.ts';
import type { ConfigMap } from './types.ts';
import { RESOURCES } from './types.ts';

const cm = (name: string, rv: string): ConfigMap => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

/** A scripted API: each list() and watch() call takes the next step. */
function fakeClient(
  lists: Array<KubeList<ConfigMap>>,
  watches: Array<(emit: (e: WatchEvent<ConfigMap>) => void, signal: AbortSignal) => Promise<void>>,
) {
  const calls: string[] = [];
  const client = {
    async list(_rt: unknown, _ns: unknown, query: Record<string, unknown>) {
      calls.push(`list ${query.labelSelector ?? ''}`);
      const next = lists.shift();
      if (!next) throw new KubeApiError('no more lists', undefined, 'Unreachable');
      return next;
    },
    async watch(
      _rt: unknown,
      _ns: unknown,
      query: Record<string, unknown>,
      onEvent: (e: WatchEvent<ConfigMap>) => void,
      options: { signal: AbortSignal },
    ) {
      calls.push(`watch rv=${query.resourceVersion}`);
      const step = watches.shift();
      if (!step) {
        await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve()));
        throw new KubeApiError('aborted', undefined, 'Aborted');
      }
      await step(onEvent, options.signal);
    },
  };
  return { client: client as unknown as KubeClient, calls };
}

describe('Informer', () => {
  it('lists, watches from the list version, relists on 410 Gone and reports deletions', async () => {
    const { client, calls } = fakeClient(
      [
        { metadata: { resourceVersion: '10' }, items: [cm('a', '5'), cm('b', '6')] },
        { metadata: { resourceVersion: '30' }, items: [cm('b', '6'), cm('c', '25')] },
        { metadata: { resourceVersion: '40' }, items: [cm('b', '6'), cm('c', '25')] },
      ],
      [
        async (emit) => {
          emit({ type: 'MODIFIED', object: cm('a', '11') });
          emit({ type: 'BOOKMARK', object: cm('', '15') });
        },
        async () => {
          throw new KubeApiError('too old', 410, 'Expired');
        },
        async (emit) => {
          emit({ type: 'ERROR', object: { code: 410, metadata: { name: '' } } as unknown as ConfigMap });
        },
      ],
    );
    const inf = new Informer<ConfigMap>(client, {
      resource: RESOURCES.configMaps,
      labelSelector: 'x=y',
      backoff: { baseMs: 1, maxMs: 2 },
    });
    const seen: string[] = [];
    inf.on((event: InformerEvent, obj) =>
      seen.push(`${event} ${obj.metadata.name}@${obj.metadata.resourceVersion}`),
    );
    inf.start();
    await inf.synced;
    for (let i = 0; i < 100 && calls.filter((c) => c.startsWith('list')).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < 100 && !calls.includes('watch rv=40'); i++)
      await new Promise((r) => setTimeout(r, 5));
    await inf.stop();
    assert.deepEqual(calls, [
      'list x=y',
      'watch rv=10',
      'watch rv=15',
      'list x=y',
      'watch rv=30',
      'list x=y',
      'watch rv=40',
    ]);
    assert.deepEqual(seen, ['add a@5', 'add b@6', 'update a@11', 'add c@25', 'delete a@11']);
    assert.deepEqual(
      inf.list().map((o) => o.metadata.name),
      ['b', 'c'],
    );
  });

  it('retries a failed list with backoff and becomes synced once it succeeds', async () => {
    const { client, calls } = fakeClient([], []);
    let attempt = 0;
    (client as unknown as { list: typeof client.list }).list = (async () => {
      if (attempt++ < 2) throw new KubeApiError('connection refused', undefined, 'Unreachable');
      return { metadata: { resourceVersion: '1' }, items: [] };
    }) as typeof client.list;
    const inf = new Informer<ConfigMap>(client, {
      resource: RESOURCES.configMaps,
      backoff: { baseMs: 1, maxMs: 2 },
    });
    inf.start();
    await inf.synced;
    assert.equal(inf.hasSynced, true);
    assert.equal(attempt, 3);
    await inf.stop();
    assert.ok(calls.includes('watch rv=1'));
  });

  it('assume() shows our own write at once and never goes back to an older version', () => {
    const { client } = fakeClient([], []);
    const inf = new Informer<ConfigMap>(client, { resource: RESOURCES.configMaps });
    inf.assume(cm('a', '20'));
    assert.equal(inf.get('ns', 'a')?.metadata.resourceVersion, '20');
    inf.assume(cm('a', '9'));
    assert.equal(inf.get('ns', 'a')?.metadata.resourceVersion, '20');
    inf.assume(cm('a', '100'));
    assert.equal(inf.get('ns', 'a')?.metadata.resourceVersion, '100');
  });
});
