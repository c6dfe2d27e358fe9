// The LoadGen library: settings, schedule, runner, summary, SUTs and QSLs (Node only; workflow code
// imports settings.ts / types.ts directly).
export * from './settings.js';
export * from './schedule.js';
export * from './stats.js';
export * from './early-stopping.js';
export * from './detail-log.js';
export * from './summary.js';
export * from './sut.js';
export * from './qsl.js';
export * from './run.js';
export * from './suts/fixed-delay.js';
export * from './suts/http-oip.js';
