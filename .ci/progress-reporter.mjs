// A vitest reporter for CI's watchdog (.ci/watchdog.mjs): appends one JSON line per step of the run (run start,
// file start and end, test start and result, hook start and end) to the file named by HYDRA_CI_PROGRESS, so
// the watchdog can tell a slow suite from a stalled one, name the files still running, and count the results
// when vitest itself never gets to write its report. Writes are synchronous: a line is on disk before the
// step it reports goes on. Without HYDRA_CI_PROGRESS the reporter does nothing.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';

export default class ProgressReporter {
  #file = process.env.HYDRA_CI_PROGRESS;
  #root = process.cwd();

  onInit(vitest) {
    this.#root = vitest.config.root;
  }

  #write(record) {
    if (!this.#file) return;
    try {
      appendFileSync(this.#file, `${JSON.stringify({ t: Date.now(), ...record })}\n`);
    } catch {
      // A full disk must not fail the run; the watchdog then sees no progress and says so.
    }
  }

  #module(testModule) {
    return { project: testModule.project.name, file: relative(this.#root, testModule.moduleId) };
  }

  onTestRunStart(specifications) {
    const files = specifications.map((s) => ({ project: s.project.name, file: relative(this.#root, s.moduleId) }));
    this.#write({ event: 'run-start', files: files.length, list: files });
  }

  onTestModuleStart(testModule) {
    this.#write({ event: 'file-start', ...this.#module(testModule) });
  }

  onTestModuleEnd(testModule) {
    this.#write({ event: 'file-end', ...this.#module(testModule), state: testModule.state() });
  }

  onHookStart(hook) {
    this.#write({ event: 'hook-start', name: hook.name });
  }

  onHookEnd(hook) {
    this.#write({ event: 'hook-end', name: hook.name });
  }

  onTestCaseReady(testCase) {
    this.#write({ event: 'test-start', file: relative(this.#root, testCase.module.moduleId) });
  }

  onTestCaseResult(testCase) {
    this.#write({
      event: 'test-end',
      file: relative(this.#root, testCase.module.moduleId),
      name: testCase.fullName,
      state: testCase.result().state,
    });
  }

  onTestRunEnd(testModules, _errors, reason) {
    // Every file that ran, also those that failed to load (they have no file-start or file-end).
    this.#write({ event: 'run-end', reason, ran: testModules.map((m) => relative(this.#root, m.moduleId)) });
  }
}
