#!/usr/bin/env node
// The `llamats` executable: a committed shim so npm can link it before the build has run
// (npm ci links bins first, then builds in the root "prepare" script).
import "../dist/bin.js";
