/**
 * The deploy host's override goes through Ansible's template module (Jinja2, trim_blocks,
 * keep_trailing_newline) before Horizon runs it: our block must come out byte for byte, and the
 * operator's template around it must stay readable for Python's parser. The render tests use the
 * real Jinja2 of this machine's python3 and fail (they do not skip) when it cannot be imported.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { InternalError } from '../../../src/errors.js';
import { TAG_GUARD, assertJinjaInert, jinjaAsPython, jinjaOpener, tagEatsNewline } from '../../../src/settings/jinja.js';
import { BLOCK_BEGIN, NEUTRALISED, patchSettings, renderBlock, type Assignment, type SettingsBlock } from '../../../src/settings/block.js';
import { redisBlock } from '../../../src/backends/redis.js';
import type { PyValue } from '../../../src/util/quote.js';

/** Render with Jinja2 as Ansible's template module does, then exec the result and read `names` back (tuples tagged). */
const RENDER = `
import json, sys
try:
    import jinja2
except ImportError as exc:
    sys.stderr.write("%s" % exc)
    sys.exit(3)
req = json.load(sys.stdin)
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
out = env.from_string(req["template"]).render(**req["vars"])
ns = {}
exec(compile(out, "rendered", "exec"), ns)
def tag(v):
    if isinstance(v, tuple): return {"tuple": [tag(x) for x in v]}
    if isinstance(v, list): return [tag(x) for x in v]
    if isinstance(v, dict): return {k: tag(x) for k, x in v.items()}
    return v
print(json.dumps({"rendered": out, "values": {k: tag(ns[k]) for k in req["names"]}, "jinja2": jinja2.__version__}))
`;

function render(template: string, names: string[], vars: Record<string, unknown> = {}): { rendered: string; values: Record<string, unknown> } {
  const res = spawnSync('python3', ['-c', RENDER], { input: JSON.stringify({ template, names, vars }), encoding: 'utf8' });
  if (res.error) throw new Error(`python3 could not be started (${res.error.message}): the render tests need python3 with Jinja2`);
  if (res.status === 3) {
    throw new Error(`python3 cannot import jinja2 (${res.stderr.trim()}): these tests render with the real Jinja2 and do not skip; install it (Debian: apt-get install python3-jinja2, or pip install jinja2)`);
  }
  if (res.status !== 0) throw new Error(`rendering failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as { rendered: string; values: Record<string, unknown> };
}

/** Python's own ast over the text, as locate.py reads it in the container. */
function locate(source: string, names: string[]): { error?: string; assignments: Assignment[] } {
  const res = spawnSync('python3', ['src/facts/python/locate.py'], { input: JSON.stringify({ source, names }), encoding: 'utf8' });
  const out = JSON.parse(res.stdout) as { syntax_error: { line: number; msg: string } | null; assignments: { name: string; line: number; end_line: number; top_level: boolean; kind: Assignment['kind'] }[] };
  return {
    ...(out.syntax_error ? { error: `${out.syntax_error.line}: ${out.syntax_error.msg}` } : {}),
    assignments: out.assignments.map((a) => ({ name: a.name, line: a.line, endLine: a.end_line, topLevel: a.top_level, kind: a.kind })),
  };
}

const EMPTY: PyValue = {};
const HOSTILE = ['{{', '{%', '{#', '}}', '%}', '#}', 'a{{b', '{%x', '{# c #}', '{{ x }}', '{{{', "'\"", '\\', '\\x7b', 'line\nbreak\r\n', 'ünï🎉', '\u2028', '{\n{', '{}', "{{'%}"];

test('a block of hostile values renders through Jinja byte for byte, and Python reads the same values back', (t) => {
  const settings: SettingsBlock = [
    ...HOSTILE.map((v, i): [string, PyValue] => [`S${i}`, v]),
    ['D', Object.fromEntries(HOSTILE.map((v, i): [string, PyValue] => [v, { [`${v}${i}`]: [v, { tuple: [v, EMPTY] }, EMPTY] }]))],
    ['L', [[HOSTILE], [EMPTY], { '{': { '{': EMPTY } }]],
    ['CACHES', { default: { BACKEND: 'django_redis.cache.RedisCache', LOCATION: 'redis://10.0.0.50:6379/0', OPTIONS: { PASSWORD: 'a{{b}}{%c%}{#d#}' } } }],
  ];
  const block = renderBlock(settings, 'session backend: redis') + '\n';
  t.is(jinjaOpener(block), null);
  const { rendered, values } = render(block, settings.map(([name]) => name));
  t.is(rendered, block, 'byte for byte');
  t.deepEqual(values, Object.fromEntries(settings));
});

test("a real backend's block with a hostile password renders unchanged, inside an operator's template that Jinja does change", (t) => {
  const password = "p{{a}}s{%s%}{#w#}'\\";
  const block = renderBlock(redisBlock({ url: 'redis://10.0.0.50:6379/0', password }), 'session backend: redis');
  const template = [
    "SECRET_KEY = '{{ horizon_secret_key }}'",
    '{% if enable_theme %}',
    "DEFAULT_THEME = 'material'",
    '{% endif %}',
    "SESSION_ENGINE = 'django.contrib.sessions.backends.db'",
    'X = 1 {% if enable_theme %}{% endif %}',
    '',
  ].join('\n');
  const names = ['SESSION_ENGINE', 'CACHES'];
  const python = jinjaAsPython(template);
  if ('error' in python) return t.fail(python.error.msg);
  const found = locate(python.text, names);
  t.is(found.error, undefined);
  const patched = patchSettings(template, block, names, found.assignments, { jinja: true });
  t.true(patched.text.includes(`${NEUTRALISED}SESSION_ENGINE`), 'the plain statement is commented out');
  t.true(patched.text.includes(`${TAG_GUARD}\n${BLOCK_BEGIN}`), 'the last line ends with a tag whose end eats a newline');
  const { rendered, values } = render(patched.text, [...names, 'SECRET_KEY', 'DEFAULT_THEME'], { horizon_secret_key: 'k', enable_theme: true });
  t.true(rendered.endsWith(`\n${block}\n`), 'our block starts a line of its own and is untouched');
  t.is((values.CACHES as { default: { OPTIONS: { PASSWORD: string } } }).default.OPTIONS.PASSWORD, password);
  t.is(values.SESSION_ENGINE, 'django.contrib.sessions.backends.cache');
  t.deepEqual([values.SECRET_KEY, values.DEFAULT_THEME], ['k', 'material'], "the operator's template still renders as before");
});

test('without the guard, trim_blocks would glue our first line to the line of a closing tag (why the guard exists)', (t) => {
  const block = renderBlock([['X', 1]], 'why');
  t.is(render(`Y = 2 {% if True %}{% endif %}\n${block}\n`, ['X']).rendered, `Y = 2 ${block}\n`);
  t.is(render(`Y = 2 {% if True %}{% endif %}\n${TAG_GUARD}\n${block}\n`, ['X']).rendered, `Y = 2 ${TAG_GUARD}\n${block}\n`);
  t.is(render(`{{ 'Y = 3' -}}\n\n${TAG_GUARD}\n${block}\n`, ['X']).rendered, `Y = 3${TAG_GUARD}\n${block}\n`, 'a - eats every blank line, not the guard');
});

test('tagEatsNewline: only a tag end right before the newline, or one with a -', (t) => {
  const cases: [string, boolean][] = [
    ['', false],
    ['X = 1\n', false],
    ["X = '{{ a }}'\n", false],
    ['{% endif %}\n', true],
    ['{# c #}\r\n', true],
    ['{% endif %} \n', false],
    ['{% endif %}\n\n', false],
    ['{% endif -%}\n\n  \n', true],
    ['{{ a -}}\n\n', true],
    ['{{ a }}\n', false],
    [`{% endif %}\n${TAG_GUARD}\n`, false],
  ];
  for (const [text, eats] of cases) t.is(tagEatsNewline(text), eats, JSON.stringify(text));
});

test('jinjaAsPython keeps every line and column: statements and comments become spaces, expressions underscores, raw stays', (t) => {
  const cases: [string, string][] = [
    ['X = 1\n', 'X = 1\n'],
    ["SECRET_KEY = '{{ horizon_secret_key }}'\n", "SECRET_KEY = '________________________'\n"],
    ['DEBUG = {{ horizon_debug | bool }}\n', `DEBUG = ${'_'.repeat('{{ horizon_debug | bool }}'.length)}\n`],
    ['{% if a %}\nX = 1\n{% endif %}\n', '          \nX = 1\n           \n'],
    ['{# one\ntwo #}\nX = 1\n', '      \n      \nX = 1\n'],
    ["X = {{ {'a': {'b': 1}} }}\n", `X = ${'_'.repeat("{{ {'a': {'b': 1}} }}".length)}\n`],
    ["X = '{{ '}}' }}'\n", `X = '${'_'.repeat("{{ '}}' }}".length)}'\n`],
    ['{% raw %}\nX = "{{ a }}"\n{%- endraw %}\n', '         \nX = "{{ a }}"\n             \n'],
    ['L = [{% for h in hs %}"{{ h }}",{% endfor %}]\r\n', `L = [${' '.repeat(17)}"${'_'.repeat(7)}",${' '.repeat(12)}]\r\n`],
  ];
  for (const [template, python] of cases) {
    const got = jinjaAsPython(template);
    t.deepEqual(got, { text: python, templated: template !== python || template.includes('{') }, JSON.stringify(template));
    if ('text' in got) t.is(locate(got.text, ['X']).error, undefined, `Python parses ${JSON.stringify(got.text)}`);
  }
});

test('jinjaAsPython refuses what it cannot read, naming the line: an unclosed tag, a raw without endraw, an extends, a #jinja2: header', (t) => {
  t.deepEqual(jinjaAsPython('X = 1\nY = {{ a\n'), { error: { line: 2, col: 5, msg: 'a Jinja {{ that is never closed' } });
  t.deepEqual(jinjaAsPython('X = 1\n  {# a\n'), { error: { line: 2, col: 3, msg: 'a Jinja {# that is never closed' } });
  t.deepEqual(jinjaAsPython('{% raw %}\nX\n'), { error: { line: 1, col: 1, msg: 'a Jinja {% raw %} without its {% endraw %}' } });
  t.deepEqual(jinjaAsPython('# x\n{% extends "base.j2" %}\n'), { error: { line: 2, col: 1, msg: 'a template that extends another renders only its blocks, so the managed block appended to it would be dropped' } });
  const header = jinjaAsPython('#jinja2: variable_start_string: "[["\nX = 1\n');
  t.regex('error' in header ? header.error.msg : '', /^a '#jinja2:' header changes how Ansible renders the file/);
  const tagged = jinjaAsPython('{% if a %}DEBUG = True{% endif %}\n');
  t.regex(locate('text' in tagged ? tagged.text : '', ['DEBUG']).error ?? '', /^1: unexpected indent/, 'a tag before code on its line: Python names the line');
});

test('assertJinjaInert: an internal error naming where and the position; closing delimiters alone are inert', (t) => {
  t.notThrows(() => assertJinjaInert("X = '}} %} #} {a} {'\n", 'deploy:/f'));
  const err = t.throws(() => assertJinjaInert("X = 1\nY = 'a{%b'\n", 'deploy:/f'), { instanceOf: InternalError });
  t.is(err?.message, 'the managed block for deploy:/f would hold Jinja syntax at its line 2, column 7; nothing written');
  t.deepEqual(jinjaOpener('a\n  {#'), { line: 2, col: 3 });
});

test('a lone CR is a newline to Jinja and Python: a tag right before one gets the guard, and a refusal names the line they count', (t) => {
  const block = renderBlock([['X', 1]], 'why');
  t.is(render(`Y = 2 {% if True %}{% endif %}\r${block}\n`, ['X']).rendered, `Y = 2 ${block}\n`, 'trim_blocks eats the lone CR as it eats an LF');
  t.true(tagEatsNewline('{% endif %}\r'));
  const template = 'Y = 2\r{% if True %}{% endif %}\r';
  const patched = patchSettings(template, block, ['X'], [], { jinja: true }).text;
  t.is(JSON.stringify(patched), JSON.stringify(`${template}${TAG_GUARD}\r${block.split('\n').join('\r')}\r`));
  t.is(render(patched, ['X']).values.X, 1);
  t.deepEqual(jinjaAsPython('X = 1\rY = {{ a\n'), { error: { line: 2, col: 5, msg: 'a Jinja {{ that is never closed' } });
});
