// Two projects: `unit` needs no server; `integration` talks to real servers started once by
// test/harness/global-setup.ts (only when one of its tests is selected).
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
};

/** @type {import('jest').Config} */
export default {
  maxWorkers: 1,
  // Global only: jest ignores a testTimeout inside a project.
  testTimeout: 120_000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testMatch: ['**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
      globalSetup: '<rootDir>/test/harness/setup.js',
      globalTeardown: '<rootDir>/test/harness/teardown.js',
    },
  ],
};
