/** `portcullis code-scan upload ID FILE`: attaches a SARIF 2.1.0 log (SAST/SCA evidence) to a request. */
import { readFile, stat } from 'node:fs/promises';
import { apiClient, serverOption } from './api-client';
import { CliError, EXIT, outputOf, outputOptions, parseCommand, printJson, usageError } from './common';

export const usage = `usage: portcullis code-scan upload ID FILE [--output text|json] [--server URL] [--profile NAME]

Uploads FILE, a SARIF 2.1.0 log (Semgrep, CodeQL, Black Duck, WhiteHat…), as code-scan evidence
of request ID. FILE may be - for standard input.
`;

async function readInput(file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a regular file');
    return await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.USAGE);
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'upload') throw usageError('code-scan', sub ? `unknown subcommand '${sub}'` : 'a subcommand is required (upload)');
  const { values, positionals } = parseCommand('code-scan', rest, { ...serverOption, ...outputOptions });
  const output = outputOf('code-scan', values, ['text', 'json']);
  if (positionals.length !== 2) throw usageError('code-scan', 'ID and FILE are required');
  const body = await readInput(positionals[1]);
  const api = apiClient(values);
  const result = await api.post<unknown>(`/v1/requests/${encodeURIComponent(positionals[0])}/code-scans`, body, { 'content-type': 'application/sarif+json' });
  if (output === 'json') printJson(result);
  else process.stdout.write(`uploaded ${positionals[1]} (${body.length} bytes) to request ${positionals[0]}\n`);
  return EXIT.OK;
}
