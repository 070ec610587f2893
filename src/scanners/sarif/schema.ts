/**
 * The parts of a SARIF 2.1.0 log (OASIS sarif-v2.1.0-os, §3) that Portcullis reads, as zod
 * schemas. Other properties are allowed and ignored; the ones read are checked, so a broken
 * log is refused with the JSON path of its first problem.
 */
import { z } from 'zod';

const propertyBag = z.record(z.string(), z.unknown());
const message = z.object({ text: z.string().optional(), markdown: z.string().optional(), id: z.string().optional() });
export const LEVELS = ['none', 'note', 'warning', 'error'] as const;
const level = z.enum(LEVELS);

export const reportingDescriptorSchema = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  shortDescription: message.optional(),
  fullDescription: message.optional(),
  helpUri: z.string().optional(),
  defaultConfiguration: z.object({ level: level.optional() }).optional(),
  properties: propertyBag.optional(),
});
export type SarifRule = z.infer<typeof reportingDescriptorSchema>;

const location = z.object({
  physicalLocation: z
    .object({
      artifactLocation: z.object({ uri: z.string().optional() }).optional(),
      region: z.object({ startLine: z.number().int().min(1).optional() }).optional(),
    })
    .optional(),
});

/** §3.44: a stack is its frames (required); a stack without them is a broken log (sarif-sdk JSON1002). */
const stack = z.object({ message: message.optional(), frames: z.array(z.record(z.string(), z.unknown())) });

export const resultSchema = z.object({
  ruleId: z.string().min(1).optional(),
  ruleIndex: z.number().int().min(-1).optional(),
  rule: z.object({ id: z.string().optional(), index: z.number().int().min(-1).optional() }).optional(),
  kind: z.enum(['notApplicable', 'pass', 'fail', 'review', 'open', 'informational']).optional(),
  level: level.optional(),
  message,
  locations: z.array(location).optional(),
  stacks: z.array(stack).optional(),
  properties: propertyBag.optional(),
});
export type SarifResult = z.infer<typeof resultSchema>;

export const runSchema = z.object({
  tool: z.object({
    driver: z.object({
      name: z.string().min(1),
      version: z.string().optional(),
      semanticVersion: z.string().optional(),
      rules: z.array(reportingDescriptorSchema).optional(),
    }),
  }),
  results: z.array(resultSchema).nullish(),
});
export type SarifRun = z.infer<typeof runSchema>;

export const sarifLogSchema = z.object({
  version: z.literal('2.1.0'),
  $schema: z.string().optional(),
  runs: z.array(runSchema),
});
export type SarifLog = z.infer<typeof sarifLogSchema>;
