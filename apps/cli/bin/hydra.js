#!/usr/bin/env node
// The `hydra` CLI. A committed stub, so pnpm can link the bin at install time,
// before the workspace is built (the root "prepare" script builds dist/).
import '../dist/cli.js';
