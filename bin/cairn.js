#!/usr/bin/env node
// The CLI as one bundled module (scripts/bundle-cli.mjs), which starts faster
// than its ~90 compiled modules loaded one by one.
import '../dist/src/cli/cairn.bundle.js';
