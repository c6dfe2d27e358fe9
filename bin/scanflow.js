#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so the checkout needs no build step.
import { tsImport } from 'tsx/esm/api';

await tsImport('../src/cli/main.ts', import.meta.url);
