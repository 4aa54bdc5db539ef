// Prints CI's one summary line from vitest's JSON report; exits non-zero on any failure.
// A lint failure or a run that produced no report counts as one failed test.
import { existsSync, readFileSync } from 'node:fs';

const [reportPath, lintFailed, testExit] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // Suites that failed to load report no tests of their own.
  const brokenSuites = (report.testResults ?? []).filter(
    (s) => s.status === 'failed' && s.assertionResults.length === 0,
  );
  failed += brokenSuites.length;
  if (failed === 0 && testExit !== '0') failed = 1;
} else {
  failed = 1;
}
if (lintFailed === '1') failed += 1;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
