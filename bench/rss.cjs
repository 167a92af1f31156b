// Preloaded into the measured CLI process: on exit, write its peak RSS (bytes) where the bench asks.
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  if (process.env.SESSIONCTL_BENCH_RSS) writeFileSync(process.env.SESSIONCTL_BENCH_RSS, String(process.resourceUsage().maxRSS * 1024));
});
