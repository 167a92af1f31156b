/**
 * A YAML file that is a mapping of variables (kolla-ansible's globals.yml and passwords.yml), read
 * bounded, as plain values; a problem is a ConfigError at file:line:col. A file of secrets never has
 * a line quoted.
 */
import { isMap, isScalar, parseDocument } from 'yaml';
import { ConfigError, ConfigErrors, type SourcePos } from '../errors.js';
import { FILE_LIMITS, readLocalFile } from './files.js';

/** The top-level mapping of YAML text as plain values. */
export function yamlMap(text: string, file: string, secret: boolean): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const lines = text.split('\n');
  const pos = (offset: number): SourcePos => {
    let line = 1;
    let start = 0;
    for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      start = i + 1;
    }
    return { file, line, col: offset - start + 1, ...(secret ? {} : { lineText: lines[line - 1] ?? '' }) };
  };
  // yaml's messages quote the source: not for a file of secrets, which gets the error's code only.
  if (doc.errors.length) throw new ConfigErrors(doc.errors.slice(0, 10).map((e) => new ConfigError(`invalid YAML: ${secret ? e.code : e.message.split('\n')[0]}`, pos(e.pos[0]))));
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) throw new ConfigError('must be a YAML mapping of variables', pos(doc.contents.range?.[0] ?? 0));
  const out: Record<string, unknown> = {};
  for (const pair of doc.contents.items) {
    if (!isScalar(pair.key)) continue;
    const v = pair.value;
    out[String(pair.key.value)] = isScalar(v) ? v.value : v === null ? null : (v as { toJSON(): unknown }).toJSON();
  }
  return out;
}

/** Read such a file (at most an inventory's size) and its mapping. */
export async function yamlMapFile(file: string, what: string, secret: boolean): Promise<{ map: Record<string, unknown>; bytes: Buffer }> {
  const bytes = await readLocalFile(file, `${what} ${file}`, FILE_LIMITS.inventory);
  return { map: yamlMap(bytes.toString('utf8'), file, secret), bytes };
}
