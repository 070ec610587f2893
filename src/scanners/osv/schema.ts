/**
 * The parts of the OSV schema (ossf/osv-schema, docs/schema.md) the matcher reads, as zod
 * schemas. Unknown fields are dropped; the record is the external input, so everything the
 * matcher relies on is checked here and nowhere else.
 */
import { z } from 'zod';

const eventSchema = z.union([
  z.strictObject({ introduced: z.string() }),
  z.strictObject({ fixed: z.string() }),
  z.strictObject({ last_affected: z.string() }),
  z.strictObject({ limit: z.string() }),
]);
export type OsvEvent = z.infer<typeof eventSchema>;

export const osvRangeSchema = z.object({
  type: z.enum(['ECOSYSTEM', 'SEMVER', 'GIT']).or(z.string()),
  repo: z.string().optional(),
  events: z.array(eventSchema).min(1),
});
export type OsvRange = z.infer<typeof osvRangeSchema>;

export const osvSeveritySchema = z.object({ type: z.string(), score: z.string() });
export type OsvSeverity = z.infer<typeof osvSeveritySchema>;

const databaseSpecific = z.record(z.string(), z.unknown()).optional();

export const osvAffectedSchema = z.object({
  package: z.object({ ecosystem: z.string().min(1), name: z.string().min(1), purl: z.string().optional() }),
  severity: z.array(osvSeveritySchema).optional(),
  ranges: z.array(osvRangeSchema).optional(),
  versions: z.array(z.string()).optional(),
  database_specific: databaseSpecific,
});
export type OsvAffected = z.infer<typeof osvAffectedSchema>;

export const osvRecordSchema = z.object({
  schema_version: z.string().optional(),
  id: z.string().min(1),
  modified: z.string(),
  published: z.string().optional(),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  upstream: z.array(z.string()).optional(),
  summary: z.string().optional(),
  details: z.string().optional(),
  severity: z.array(osvSeveritySchema).optional(),
  // An entry without `package` names only a repository (GIT ranges), as the CVE records
  // converted from NVD do: it matches no package and is dropped, but the record still loads,
  // so its severity counts for the advisories that alias it (./database.ts).
  affected: z
    .array(z.union([osvAffectedSchema, z.looseObject({ package: z.undefined().optional() })]))
    .transform((list) => list.filter((a): a is OsvAffected => a.package !== undefined))
    .optional(),
  references: z.array(z.object({ type: z.string(), url: z.string() })).optional(),
  database_specific: databaseSpecific,
});
export type OsvRecord = z.infer<typeof osvRecordSchema>;
