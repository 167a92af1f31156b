import test from 'ava';
import { execFileSync } from 'node:child_process';
import { BLOCK_BEGIN, BLOCK_END, NEUTRALISED, patchSettings, renderBlock, unifiedDiff, type Assignment } from '../../../src/settings/block.js';
import { redisBlock } from '../../../src/backends/redis.js';
import { TAG_GUARD } from '../../../src/settings/jinja.js';

const block = renderBlock(redisBlock({ url: 'redis://10.0.0.50:6379/0' }), 'session backend: redis');
const owned = ['SESSION_ENGINE', 'CACHES'];

/** The real locator (Python's ast), as the apply step runs it in the container. */
function locate(source: string): Assignment[] {
  const out = execFileSync('python3', ['src/facts/python/locate.py'], { input: JSON.stringify({ source, names: owned }) }).toString();
  return (JSON.parse(out).assignments as { name: string; line: number; end_line: number; top_level: boolean; kind: Assignment['kind'] }[]).map((a) => ({
    name: a.name, line: a.line, endLine: a.end_line, topLevel: a.top_level, kind: a.kind,
  }));
}

function patch(original: string) {
  return patchSettings(original, block, owned, locate(original));
}

test('an empty file gets just the block', (t) => {
  const r = patch('');
  t.is(r.text, block + '\n');
  t.true(r.text.startsWith(BLOCK_BEGIN));
});

test("the operator's other lines keep their exact bytes; the block goes at the end", (t) => {
  const original = '# my theme\nAVAILABLE_THEMES = [("material", "Material", "themes/material")]\n\nDEBUG = False   # keep\n';
  const r = patch(original);
  t.true(r.text.startsWith(original));
  t.true(r.text.endsWith(BLOCK_END + '\n'));
  t.deepEqual(r.neutralised, []);
});

test('a file without a final newline gets one before the block', (t) => {
  t.is(patch('X = 1').text, `X = 1\n${block}\n`);
});

test('earlier top-level SESSION_ENGINE and multi-line CACHES are commented out verbatim', (t) => {
  const original = "A = 1\nSESSION_ENGINE = 'django.contrib.sessions.backends.db'\nCACHES = {\n    'default': {'BACKEND': 'x'},\n}\nB = 2\n";
  const r = patch(original);
  t.is(
    r.text,
    `A = 1\n${NEUTRALISED}SESSION_ENGINE = 'django.contrib.sessions.backends.db'\n${NEUTRALISED}CACHES = {\n${NEUTRALISED}    'default': {'BACKEND': 'x'},\n${NEUTRALISED}}\nB = 2\n${block}\n`,
  );
  t.deepEqual(r.neutralised.map((a) => a.name), ['SESSION_ENGINE', 'CACHES']);
});

test('item assignments and update() calls on CACHES are neutralised too', (t) => {
  const r = patch("CACHES['default']['LOCATION'] = 'x'\nCACHES.update({})\n");
  t.is(r.neutralised.length, 2);
  t.true(r.text.startsWith(`${NEUTRALISED}CACHES['default']`));
});

test('nested assignments are left alone and reported (the block comes later and wins)', (t) => {
  const original = "try:\n    CACHES = {}\nexcept Exception:\n    pass\n";
  const r = patch(original);
  t.true(r.text.startsWith(original));
  t.deepEqual(r.leftAlone.map((a) => [a.name, a.line]), [['CACHES', 2]]);
});

test('a second patch replaces our block and changes nothing else (idempotent)', (t) => {
  const once = patch("SESSION_ENGINE = 'x'\nY = 1\n").text;
  const twice = patch(once).text;
  t.is(twice, once);
});

test('a changed target replaces the earlier block in place of appending another', (t) => {
  const once = patch('Y = 1\n').text;
  const other = renderBlock(redisBlock({ url: 'redis://10.9.9.9:6379/1' }), 'session backend: redis');
  const r = patchSettings(once, other, owned, locate(once));
  t.is(r.text, `Y = 1\n${other}\n`);
  t.is(r.text.split(BLOCK_BEGIN).length, 2);
});

test('CRLF files keep CRLF line endings', (t) => {
  const r = patch('A = 1\r\nB = 2\r\n');
  t.true(r.text.startsWith('A = 1\r\nB = 2\r\n# BEGIN'));
  t.false(/[^\r]\n/.test(r.text));
});

test('a begin marker without an end marker is refused', (t) => {
  t.throws(() => patchSettings(`${BLOCK_BEGIN} (x)\nA = 1\n`, block, owned, []), { message: /no '# END sessionctl managed block'/ });
});

test('the patched file parses and Python evaluates the block to what was asked', (t) => {
  const r = patch("SESSION_ENGINE = 'db'\n");
  const out = execFileSync('python3', ['-c', 'import sys, json; ns = {}; exec(sys.stdin.read(), ns); print(json.dumps([ns["SESSION_ENGINE"], ns["CACHES"]]))'], { input: r.text }).toString();
  t.deepEqual(JSON.parse(out), [
    'django.contrib.sessions.backends.cache',
    { default: { BACKEND: 'django_redis.cache.RedisCache', LOCATION: 'redis://10.0.0.50:6379/0', OPTIONS: { CLIENT_CLASS: 'django_redis.client.DefaultClient' } } },
  ]);
});

test('hostile values (quotes, newline, __import__) stay data in the rendered block', (t) => {
  const hostile = "x'\n__import__('os').system('touch /tmp/pwned')#\"\"\"";
  const text = renderBlock(redisBlock({ url: 'redis://10.0.0.50:6379/0', password: hostile }), 'test');
  t.is(text.split('\n').length, 4, 'no value can add a line');
  const out = execFileSync('python3', ['-c', 'import sys, json; ns = {}; exec(sys.stdin.read(), ns); print(json.dumps(ns["CACHES"]["default"]["OPTIONS"]["PASSWORD"]))'], { input: text }).toString();
  t.is(JSON.parse(out), hostile);
});

test('unifiedDiff is empty for no change and a real unified diff otherwise', (t) => {
  t.is(unifiedDiff('/f', 'a\n', 'a\n'), '');
  const d = unifiedDiff('/etc/kolla/horizon/_9999-custom-settings.py', 'A = 1\n', 'A = 1\nB = 2\n');
  t.regex(d, /^--- \/etc\/kolla\/horizon\/_9999-custom-settings\.py \(now\)$/m);
  t.regex(d, /^\+B = 2$/m);
});

test('a template (the deploy host\'s file): templated statements are left alone, plain ones commented out, a newline-eating tag gets a guard once', (t) => {
  const original = "CACHES = {{ horizon_caches }}\n{% if x %}\nSESSION_ENGINE = 'x'\n{% endif %}\n";
  const python = "CACHES = ____________________\n          \nSESSION_ENGINE = 'x'\n           \n";
  const r = patchSettings(original, block, owned, locate(python), { jinja: true });
  t.deepEqual([r.templated.map((a) => a.name), r.neutralised.map((a) => a.name)], [['CACHES'], ['SESSION_ENGINE']]);
  t.is(r.text, `CACHES = {{ horizon_caches }}\n{% if x %}\n${NEUTRALISED}SESSION_ENGINE = 'x'\n{% endif %}\n${TAG_GUARD}\n${block}\n`);
  const again = patchSettings(r.text, block, owned, locate(r.text.replace('{{ horizon_caches }}', '_'.repeat(20)).replace(/\{%.*%\}/g, (m) => ' '.repeat(m.length))), { jinja: true });
  t.is(again.text, r.text, 'a second run changes nothing');
  t.is(patchSettings(original, block, owned, locate(python)).text.includes(TAG_GUARD), false, 'a Dashboard host\'s file is no template');
});

/** The block with `eol` line endings, as the patch appends it. */
const blockIn = (eol: string) => block.split('\n').join(eol) + eol;
const N = NEUTRALISED;

// Every byte the change does not touch stays, whatever the endings; added lines take the file's most common one (LF on a tie).
const endings: [name: string, original: string, patched: string][] = [
  ['lone CR', "A = 1\rSESSION_ENGINE = 'db'\r", `A = 1\r${N}SESSION_ENGINE = 'db'\r${blockIn('\r')}`],
  // The reported case: a lone CR ends Python's line 1, so SESSION_ENGINE is line 2, not SECRET_KEY.
  ['a lone CR before SESSION_ENGINE', "# keys\rSESSION_ENGINE = 'db'\nSECRET_KEY = 'k'\n", `# keys\r${N}SESSION_ENGINE = 'db'\nSECRET_KEY = 'k'\n${blockIn('\n')}`],
  ['one CRLF in an LF file', "A = 1\r\nB = 2\nSESSION_ENGINE = 'db'\nC = 3\n", `A = 1\r\nB = 2\n${N}SESSION_ENGINE = 'db'\nC = 3\n${blockIn('\n')}`],
  ['one LF in a CRLF file', "A = 1\r\nB = 2\nC = 3\r\n", `A = 1\r\nB = 2\nC = 3\r\n${blockIn('\r\n')}`],
  [
    'a statement over CR, CRLF and LF, no final newline',
    "CACHES = {\r    'default': {},\r\n}\nB = 2",
    `${N}CACHES = {\r${N}    'default': {},\r\n${N}}\nB = 2\n${blockIn('\n')}`,
  ],
  ['blank lines of each kind', '\r\n\r\n\n\r', `\r\n\r\n\n\r${blockIn('\r\n')}`],
];
for (const [name, original, patched] of endings) {
  test(`line endings, ${name}: the patched file byte for byte; a second patch changes nothing`, (t) => {
    const once = patch(original).text;
    t.is(JSON.stringify(once), JSON.stringify(patched));
    t.is(patch(once).text, once);
  });
}

test('an earlier block in a file with CR and CRLF is replaced, the lines around it keep their endings', (t) => {
  const once = patch("A = 1\r\nSESSION_ENGINE = 'db'\rB = 2\r\n").text;
  const other = renderBlock(redisBlock({ url: 'redis://10.9.9.9:6379/1' }), 'session backend: redis');
  const moved = `C = 3\r${once}D = 4\n`;
  t.is(JSON.stringify(patchSettings(moved, other, owned, locate(moved)).text), JSON.stringify(`C = 3\rA = 1\r\n${N}SESSION_ENGINE = 'db'\rB = 2\r\nD = 4\n${other.split('\n').join('\r\n')}\r\n`));
});

test("locate.py and the patch count lines alike: with every kind of ending, Python then finds only the block's SESSION_ENGINE and the operator's SECRET_KEY", (t) => {
  // \f, \v, U+2028, U+0085 are no line breaks to Python's tokenizer (str.splitlines would split there).
  const original = "SECRET_KEY = 'k1'\r# a\rSESSION_ENGINE = 'db'\r\nX = (1,\r2)\nSECRET_KEY = 'k2'\n# \f\v\u2028\x85 not breaks\rCACHES = {}\r\n";
  const patched = patch(original).text;
  const out = execFileSync('python3', ['src/facts/python/locate.py'], { input: JSON.stringify({ source: patched, names: ['SESSION_ENGINE', 'CACHES', 'SECRET_KEY'] }) }).toString();
  const found = (JSON.parse(out).assignments as { name: string; line: number }[]).map((a) => a.name);
  t.deepEqual(found, ['SECRET_KEY', 'SECRET_KEY', 'SESSION_ENGINE', 'CACHES'], 'the operator\'s two keys stay; only the block assigns the managed names');
  const values = execFileSync('python3', ['-c', 'import sys, json; ns = {}; exec(sys.stdin.read(), ns); print(json.dumps([ns["SECRET_KEY"], ns["X"]]))'], { input: patched }).toString();
  t.deepEqual(JSON.parse(values), ['k2', [1, 2]]);
});

test('the diff of a file with a lone CR shows the lines Python sees, the CR as ␍, so no line hides another in a terminal', (t) => {
  const original = "# keys\rSESSION_ENGINE = 'db'\nSECRET_KEY = 'k'\n";
  const d = unifiedDiff('/f', original, patch(original).text);
  t.regex(d, /^ # keys␍$/m);
  t.regex(d, new RegExp(`^-SESSION_ENGINE = 'db'$\\n^\\+${NEUTRALISED}SESSION_ENGINE = 'db'$`, 'm'));
  t.regex(d, /^ SECRET_KEY = 'k'$/m);
  t.false(d.includes('\r'));
});
