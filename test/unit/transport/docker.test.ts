import test from 'ava';
import { parseChangesJson, parseDiffLines } from '../../../src/transport/docker.js';

test("parseChangesJson reads the engine's {Path, Kind} list, in either key order", (t) => {
  const text = JSON.stringify([
    { Path: '/usr/local/lib/python3.11', Kind: 1 },
    { Kind: 0, Path: '/etc' },
    { Kind: 2, Path: '/tmp/x' },
  ]);
  t.deepEqual(parseChangesJson(text, false), {
    entries: [
      { path: '/usr/local/lib/python3.11', kind: 'added' },
      { path: '/etc', kind: 'modified' },
      { path: '/tmp/x', kind: 'deleted' },
    ],
    truncated: false,
  });
  t.deepEqual(parseChangesJson('null', false), { entries: [], truncated: false }, 'a container that changed nothing');
});

test('parseChangesJson cut off: the complete entries of the beginning, the partial one dropped', (t) => {
  const full = JSON.stringify([{ Kind: 1, Path: '/a' }, { Kind: 1, Path: '/b' }, { Kind: 0, Path: '/ccc' }]);
  const cut = full.slice(0, full.indexOf('/ccc') + 2);
  t.deepEqual(parseChangesJson(cut, true), { entries: [{ path: '/a', kind: 'added' }, { path: '/b', kind: 'added' }], truncated: true });
});

test('parseDiffLines reads `docker diff`; a cut-off last line is dropped', (t) => {
  t.deepEqual(parseDiffLines('C /usr\nA /usr/local/lib/python3.11/dist-packages/django_redis\nD /tmp/old\n', false).entries, [
    { path: '/usr', kind: 'modified' },
    { path: '/usr/local/lib/python3.11/dist-packages/django_redis', kind: 'added' },
    { path: '/tmp/old', kind: 'deleted' },
  ]);
  t.deepEqual(parseDiffLines('A /a\nA /b\nC /par', true), { entries: [{ path: '/a', kind: 'added' }, { path: '/b', kind: 'added' }], truncated: true });
  t.deepEqual(parseDiffLines('', false).entries, []);
  t.deepEqual(parseDiffLines('A /with space/x\n', false).entries, [{ path: '/with space/x', kind: 'added' }], 'paths with spaces');
});
