export * from './stage.js';
export * from './ports.js';
export * from './module.js';
export { Pipeline, type StageFailure } from './runner.js';
