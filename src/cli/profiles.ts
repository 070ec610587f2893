/**
 * Profiles, like kubectl contexts: `~/.config/portcullis/config.yaml` (or
 * `$XDG_CONFIG_HOME/portcullis/config.yaml`) names servers, and one is current:
 *
 *     current: prod
 *     profiles:
 *       local: { server: http://127.0.0.1:8080 }
 *       prod:  { server: https://portcullis.bank.example, tokenEnv: PORTCULLIS_PROD_TOKEN }
 *
 * Tokens never go in the file: a profile may name the environment variable that holds its
 * token (`tokenEnv`, default PORTCULLIS_TOKEN).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { CliError, EXIT } from './common';

const profileSchema = z.strictObject({
  server: z.url(),
  tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
});
const fileSchema = z.strictObject({
  current: z.string().min(1).optional(),
  profiles: z.record(z.string().min(1), profileSchema).default({}),
});
export type Profile = z.infer<typeof profileSchema>;
export type ProfilesFile = z.infer<typeof fileSchema>;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'portcullis', 'config.yaml');
}

export function readProfiles(env: NodeJS.ProcessEnv = process.env): ProfilesFile {
  const file = configPath(env);
  if (!existsSync(file)) return { profiles: {} };
  const parsed = fileSchema.safeParse(YAML.parse(readFileSync(file, 'utf8')) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, EXIT.USAGE, 'fix the file, or see: portcullis config --help');
  }
  return parsed.data;
}

export function writeProfiles(data: ProfilesFile, env: NodeJS.ProcessEnv = process.env): string {
  const file = configPath(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, YAML.stringify(data), { mode: 0o600 });
  return file;
}

/** The profile in use: `--profile`, else PORTCULLIS_PROFILE, else the file's `current`. */
export function activeProfile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { name: string; profile: Profile } | undefined {
  const name = flag ?? env.PORTCULLIS_PROFILE;
  const data = readProfiles(env);
  const chosen = name ?? data.current;
  if (!chosen) return undefined;
  const profile = data.profiles[chosen];
  if (!profile) {
    throw new CliError(`no profile '${chosen}' in ${configPath(env)} (profiles: ${Object.keys(data.profiles).join(', ') || 'none'})`, EXIT.USAGE,
      `add it: portcullis config set-profile ${chosen} --server URL`);
  }
  return { name: chosen, profile };
}
