import test from 'ava';
import { countsOf, describeCarry } from '../../../src/steps/carry.js';
import { CARRY_NOTE, LOGOUT_WARNING, sessionWarning } from '../../../src/commands/apply.js';

test('the warning before the confirmation: users stay logged in only when the plan carries the sessions', (t) => {
  t.is(sessionWarning({ route: {} as never }), CARRY_NOTE);
  t.is(sessionWarning(undefined), LOGOUT_WARNING, 'a playbook without the step');
  t.is(sessionWarning({ route: null }), LOGOUT_WARNING, 'not asked, or nothing switches');
  t.is(
    sessionWarning({ route: null, cannot: 'memcached 10.0.0.1:11211 cannot list its keys (lru_crawler metadump: ERROR)' }),
    `${LOGOUT_WARNING} Sessions are not carried over: memcached 10.0.0.1:11211 cannot list its keys (lru_crawler metadump: ERROR).`,
  );
});

test('a pass is reported with every count, the errors by type and never a key', (t) => {
  const first = countsOf(1, { supported: true, live: 520, carried: 500, unchanged: 20, expired: 3, failed: 2, errors: { ConnectionError: 2 }, ledger: { abc: 1 }, seconds: 0.1234 });
  t.deepEqual(first, { pass: 1, live: 520, carried: 500, unchanged: 20, newer: 0, expired: 3, failed: 2, forgotten: 0, seconds: 0.1234 });
  t.is(describeCarry(first, { ConnectionError: 2 }), 'carried 500 of 520 live sessions in 0.12s: 20 already there (same expiry), 3 expired (skipped), 2 failed (ConnectionError x2)');
  const second = countsOf(2, { supported: true, live: 570, carried: 50, unchanged: 515, newer: 5, forgotten: 5, seconds: 0.05 });
  t.is(
    describeCarry(second),
    'carried 50 of 570 live sessions in 0.05s: 515 already there (unchanged since the first pass), 5 newer in the new backend (kept), 0 expired (skipped), 0 failed, 5 logged out meanwhile (their copies removed)',
  );
});
