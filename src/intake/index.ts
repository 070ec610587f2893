/** The intake domain: request lifecycle, pipeline steps, decisions, approved images, events. */
export * from './events';
export * from './access';
export * from './ports';
export { Lifecycle } from './lifecycle';
export { Pipeline, RunInProgress, type PipelineDeps } from './pipeline';
export { RequestService, type NewRequest, type CreateResult } from './requests';
export { DecisionService } from './decisions';
export { ApprovedService, type ApprovedImage, type ResolveResult } from './approved';
export { policyEvaluator } from './policy';
