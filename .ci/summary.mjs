// Prints CI's one summary line from vitest's JSON report; exits non-zero on any failure.
// A lint failure or a run that produced no report counts as one failed test. When vitest wrote no report (the
// watchdog stopped a stalled run), the results come from the watchdog's progress file
// (.ci/progress-reporter.mjs) instead, and the stall counts as one more failed test.
//
//   node .ci/summary.mjs REPORT LINT_FAILED TEST_EXIT [PROGRESS]
import { existsSync, readFileSync } from 'node:fs';

const STALLED_EXIT = '124'; // .ci/watchdog.mjs

const [reportPath, lintFailed, testExit, progressPath] = process.argv.slice(2);
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
} else if (progressPath && existsSync(progressPath)) {
  const withTests = new Set();
  const failedFiles = new Set();
  for (const line of readFileSync(progressPath, 'utf8').split('\n')) {
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // empty, or cut short by the kill
    }
    if (record.event === 'test-end') {
      withTests.add(record.file);
      if (record.state === 'passed') passed++;
      else if (record.state === 'failed') failed++;
      else skipped++;
    }
    if (record.event === 'file-end' && record.state === 'failed') failedFiles.add(record.file);
  }
  for (const file of failedFiles) if (!withTests.has(file)) failed++; // failed to load
} else {
  failed = 1;
}
// Every file vitest was given must have run: a pool error in one project makes vitest drop the projects after
// it (sequence.groupOrder) with no failed test to show for them.
if (progressPath && existsSync(progressPath)) {
  const planned = new Map();
  const ended = new Set();
  for (const line of readFileSync(progressPath, 'utf8').split('\n')) {
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (record.event === 'run-start') for (const f of record.list ?? []) planned.set(f.file, f.project);
    if (record.event === 'file-end') ended.add(record.file);
    if (record.event === 'run-end') for (const file of record.ran ?? []) ended.add(file);
  }
  const neverRan = [...planned].filter(([file]) => !ended.has(file));
  for (const [file, project] of neverRan) console.log(`never finished: ${file} (project ${project})`);
  failed += neverRan.length;
}
if (testExit === STALLED_EXIT) failed += 1;
if (failed === 0 && testExit !== '0') failed = 1;
if (lintFailed === '1') failed += 1;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
