import type { BackendTarget } from './types.js';

const ENGINE = 'django.contrib.sessions.backends.signed_cookies';

/** Shown whenever signed cookies are chosen, even with --allow-insecure-cookie-sessions. */
export const COOKIE_WARNING =
  'signed-cookie sessions are for development only: Keystone tokens overflow the 4 KB cookie limit, and with the ' +
  'Pickle serializer (Horizon <= 2025.2) anyone who learns SECRET_KEY can run code on Horizon';

/** Signed cookies: the session lives in the browser, signed with SECRET_KEY; nothing to reach or install. */
export function cookieTarget(): BackendTarget {
  return {
    name: 'cookie',
    where: 'signed cookies (in the browser)',
    owns: ['SESSION_ENGINE'],
    settingsFor: () => ({ block: [['SESSION_ENGINE', ENGINE]], expect: { sessionEngine: ENGINE } }),
    reached: () => 'ok: nothing to reach, the session data lives in the browser cookie',
    // The "key" of a signed-cookie session is the signed data itself: reading it back on another host is the proof.
    holds: async () => true,
  };
}
