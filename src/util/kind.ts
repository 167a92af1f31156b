/** A JSON value's kind, null and array apart from object: for checking what a host answered. */
export function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** `an array`, `a string`, `null`: a kind in a message. */
export function an(kind: string): string {
  return kind === 'null' ? 'null' : /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}
