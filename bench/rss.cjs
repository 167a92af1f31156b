// Preloaded into the measured CLI process: on exit, write its peak RSS (bytes) and CPU time (user +
// system, seconds) as JSON where the bench asks.
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  if (!process.env.SESSIONCTL_BENCH_RSS) return;
  const u = process.resourceUsage();
  writeFileSync(process.env.SESSIONCTL_BENCH_RSS, JSON.stringify({ rss: u.maxRSS * 1024, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6 }));
});
