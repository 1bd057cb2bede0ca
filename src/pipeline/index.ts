export * from './stage.js';
export * from './ports.js';
export * from './stage-module.js';
export { Pipeline, type StageFailure } from './runner.js';
