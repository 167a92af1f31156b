import test from 'ava';
import { execFileSync } from 'node:child_process';
import { inspect } from 'node:util';

import { pyLiteral, shellJoin, shellQuote, type PyValue } from '../../../src/util/quote.js';
import { Masker, Secret, masker } from '../../../src/util/secret.js';

const hostile = [
  '',
  'plain',
  'with space',
  "it's",
  "''",
  '"double"',
  '$(touch /tmp/pwned)',
  '`id`',
  '${HOME}',
  'a\nb\r\nc',
  'tab\there',
  '\\',
  '*',
  '~root',
  '-n',
  '; rm -rf / #',
  'a&b|c>d<e',
  'ünïcødé ✓ 🎉',
  '!event',
  '\u2028',
];

/** Let a real sh parse the quoted word and print back what it received. */
const viaSh = (script: string): string => execFileSync('sh', ['-c', script], { encoding: 'utf8' });

for (const s of hostile) {
  test(`shellQuote round-trips through sh: ${JSON.stringify(s)}`, (t) => {
    t.is(viaSh(`printf %s ${shellQuote(s)}`), s);
  });
}

test('shellQuote leaves safe words bare and rejects NUL', (t) => {
  t.is(shellQuote('/etc/openstack-dashboard/local_settings.py'), '/etc/openstack-dashboard/local_settings.py');
  t.is(shellQuote('user@host:22,a=b+c%'), 'user@host:22,a=b+c%');
  t.is(shellQuote(''), "''");
  t.is(shellQuote("it's"), `'it'\\''s'`);
  t.throws(() => shellQuote('a\0b'), { instanceOf: TypeError });
});

test('shellJoin reveals secrets in command and masks them in display', (t) => {
  const pw = new Secret("s3cr'et $pw");
  const { command, display } = shellJoin(['printf', '%s|%s', 'user', pw]);
  t.is(viaSh(command), "user|s3cr'et $pw");
  t.is(display, "printf '%s|%s' user ***");
  t.false(display.includes('s3cr'));
});

test('shellJoin quotes a leading NAME=value so it stays the command', (t) => {
  t.is(shellJoin(['A=b', 'x']).command, "'A=b' x");
  t.is(shellJoin(['env', 'A=b']).command, 'env A=b');
  t.throws(() => shellJoin([]));
});

test('Secret never stringifies to its value', (t) => {
  const s = new Secret('hunter2-value');
  t.is(String(s), '***');
  t.is(`${s}`, '***');
  t.is(JSON.stringify({ s }), '{"s":"***"}');
  t.is(inspect({ s }), "{ s: *** }");
  t.is(s.reveal(), 'hunter2-value');
  t.false(inspect(s, { showHidden: true }).includes('hunter2'));
});

test('Masker masks raw, URL-encoded, JSON and shell-quoted forms, longest first', (t) => {
  const m = new Masker();
  m.add('p@ss w/rd');
  m.add(new Secret('abc'));
  m.add('abcdef');
  m.add('xy'); // too short to mask
  t.is(m.mask('raw p@ss w/rd end'), 'raw *** end');
  t.is(m.mask('redis://u:p%40ss%20w%2Frd@h'), 'redis://u:***@h');
  t.is(m.mask('q=p%40ss+w%2frd'), 'q=***');
  t.is(m.mask('abcdef abc xy'), '*** *** xy');
  t.is(m.mask('%61%62%63def'), '***');
  const emoji = new Masker();
  emoji.add('k🎉y');
  t.is(emoji.mask(`a=${encodeURIComponent('k🎉y')}&b=k🎉y`), 'a=***&b=***');
  const quoteSecret = new Masker();
  quoteSecret.add(`a"b'c`);
  t.is(quoteSecret.mask(JSON.stringify({ v: `a"b'c` })), '{"v":"***"}');
  t.is(quoteSecret.mask(shellQuote(`a"b'c`)), "'***'");
});

test('Secrets register with the process-wide masker', (t) => {
  new Secret('registered-token-123');
  t.is(masker.mask('error: token registered-token-123 rejected'), 'error: token *** rejected');
});

/** Evaluate a literal with Python and bring it back as JSON, tuples tagged as { tuple: [...] }. */
function pyEval(literal: string): unknown {
  const script = [
    'import ast, json, sys',
    'def tag(v):',
    '    if isinstance(v, tuple): return {"tuple": [tag(x) for x in v]}',
    '    if isinstance(v, list): return [tag(x) for x in v]',
    '    if isinstance(v, dict): return {k: tag(x) for k, x in v.items()}',
    '    return v',
    'print(json.dumps(tag(ast.literal_eval(sys.stdin.read()))))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: literal, encoding: 'utf8' }));
}

const pyStrings = [
  '',
  "'",
  '"""',
  "'''",
  'line1\nline2\r',
  '\\',
  '\\x41',
  "__import__('os').system('x')",
  "'); import os; os.system('x'); ('",
  '\u2028\u2029\u0085',
  '\0nul\x1b[31m\x7f',
  'ünïcødé 🎉',
  '\ud800 lone',
];

for (const s of pyStrings) {
  test(`pyLiteral string round-trips through python3: ${JSON.stringify(s)}`, (t) => {
    const lit = pyLiteral(s);
    t.regex(lit, /^[\x20-\x7e]*$/, 'single line of printable ASCII');
    t.is(pyEval(lit), s);
  });
}

const pyValues: Array<[string, PyValue, string]> = [
  ['scalars', [true, false, null, 0, -7, 3.25, 1e-7], '[True, False, None, 0, -7, 3.25, 1e-7]'],
  ['dict', { BACKEND: 'django.core.cache.backends.memcached.PyMemcacheCache', 'LOCATION': ['a:11211', 'b:11211'] }, ''],
  ['nested dict with hostile key', { "k'\n": { inner: [1, { tuple: [] }] } }, ''],
  ['tuples', { tuple: [{ tuple: ['one'] }, { tuple: [1, 2] }, { tuple: [] }] }, "(('one',), (1, 2), ())"],
];

for (const [name, value, expected] of pyValues) {
  test(`pyLiteral ${name}`, (t) => {
    const lit = pyLiteral(value);
    if (expected) t.is(lit, expected);
    t.false(lit.includes('\n'));
    t.deepEqual(pyEval(lit), value);
  });
}

test('pyLiteral rejects values with no Python literal', (t) => {
  const bad: unknown[] = [NaN, Infinity, -Infinity, undefined, () => 1, Symbol('x'), 1n, [undefined], { a: undefined }, new Date(0), new Secret('not-this-way'), [, 1]];
  for (const v of bad) t.throws(() => pyLiteral(v as PyValue), { instanceOf: TypeError }, inspect(v));
  const cyclic: PyValue[] = [];
  cyclic.push(cyclic);
  t.throws(() => pyLiteral(cyclic), { instanceOf: TypeError });
});

// Ansible renders the deploy host's settings file through Jinja: no literal may open its syntax.
const jinjaHostile = ['{{', '{%', '{#', 'a{{b', '{%x', '{#c#}', '{{ x }}', '}}', '%}', '#}', '{{{', '{{%#', '{\n{', "{'{", '{\\{', '{', 'x{', '{}', 'ü{{🎉{%'];

for (const s of jinjaHostile) {
  test(`pyLiteral never opens Jinja syntax and still round-trips: ${JSON.stringify(s)}`, (t) => {
    const lit = pyLiteral(s);
    t.notRegex(lit, /\{[{%#]/);
    t.is(pyEval(lit), s);
  });
}

test('pyLiteral: a { that opens nothing stays readable; dicts, lists and tuples of hostile values open nothing either', (t) => {
  t.is(pyLiteral('{a}'), "'{a}'");
  t.is(pyLiteral('a{{b'), "'a\\x7b{b'");
  const nested: PyValue = { '{{': { '{%': [{ '{#': { tuple: ['{{', {}] } }, {}], '': { '{': '{' } }, a: [[], {}, [{}]] };
  const lit = pyLiteral(nested);
  t.notRegex(lit, /\{[{%#]/);
  t.deepEqual(pyEval(lit), nested);
});

test('Masker masks a secret as a Python literal writes it (escapes, and a { written as \\x7b)', (t) => {
  const m = new Masker();
  m.add("a{{b'c\\d");
  m.add('päss{');
  t.is(m.mask(`PASSWORD = ${pyLiteral("a{{b'c\\d")}`), "PASSWORD = '***'");
  t.is(m.mask(`X = ${pyLiteral('päss{')}`), "X = '***'");
  t.is(m.mask(`X = ${pyLiteral('päss{{x')}`), "X = '***{x'", "the secret's last { is written \\x7b by what follows it");
});
