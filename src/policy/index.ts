/** Policy: pure functions from findings, evidence, waivers and configuration to a verdict. */
export { evaluate, type CodeScanEvidence, type PolicyInput, type PolicyResult, type Waiver } from './evaluate';
export {
  allowlistEntrySchema,
  policyConfigSchema,
  waiverRequestSchema,
  type AllowlistEntry,
  type PolicyConfig,
  type PolicyConfigInput,
  type WaiverRequest,
} from './config';
