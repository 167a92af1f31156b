import type { Step } from './types.js';
import { backendLogin, backendReachable, containerHealthy, diskSpace, djangoVersion, secretKeyConsistent, settingsLayout } from './preflight.js';
import { installClientLibrary } from './install.js';
import { backendLoads } from './backend-loads.js';
import { patchSettingsStep } from './settings.js';
import { healthGateStep, loadBalancerReady, restart, verifySettings } from './rollout.js';
import { crossHostSession } from './prove.js';
import { migrateSessions } from './migrate.js';
import { kollaOverride } from './kolla-override.js';
import { carrySessions, carrySessionsAgain } from './carry.js';

/** Every step a playbook may name, by the name it uses. */
export const STEPS: Record<string, Step> = {
  'container-healthy': containerHealthy,
  'settings-layout': settingsLayout,
  'django-version': djangoVersion,
  'backend-reachable': backendReachable,
  'backend-login': backendLogin,
  'disk-space': diskSpace,
  'secret-key-consistent': secretKeyConsistent,
  'install-client-library': installClientLibrary,
  'backend-loads': backendLoads,
  'patch-settings': patchSettingsStep,
  restart,
  'health-gate': healthGateStep,
  'verify-settings': verifySettings,
  'lb-ready': loadBalancerReady,
  'kolla-override': kollaOverride,
  'migrate-sessions': migrateSessions,
  'carry-sessions': carrySessions,
  'carry-sessions-again': carrySessionsAgain,
  'cross-host-session': crossHostSession,
};
