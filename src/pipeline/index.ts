export * from './stage.js';
export { Pipeline, type StageFailure } from './runner.js';
export { STAGE_ORDER, type StageName } from './order.js';
