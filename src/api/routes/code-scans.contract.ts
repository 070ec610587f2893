/** Contracts of code-scan evidence (code-scans.ts). */
import { z } from 'zod';
import { route } from '../contract';
import { CodeScanUpload, Request } from '../models';
import { requestParams } from './requests.contract';

export const SHA256 = /^[0-9a-f]{64}$/;
/** The SARIF 2.1.0 log as documented; its structure is checked by scanners/sarif (400 INVALID_SARIF with the JSON path). */
const sarifLog = z.looseObject({ version: z.literal('2.1.0'), runs: z.array(z.looseObject({})).min(1) });
const attached = Request.extend({ upload: CodeScanUpload });

export const codeScansContracts = [
  route({
    method: 'post', path: '/v1/requests/{id}/code-scans', auth: 'bearer',
    summary: "Attach code-scan evidence, a SARIF 2.1.0 log (developer of the request's team, or admin); any state but a terminal one",
    description: 'Up to server.codeScanBodyLimit and the codeScans.* bounds (413 CODE_SCAN_TOO_LARGE naming the key).',
    params: requestParams, body: sarifLog, bodyMediaTypes: ['application/json', 'application/sarif+json'],
    responses: {
      201: { description: 'stored: one `codeScans` entry per run; `upload` names the log by sha256', schema: attached },
      200: { description: 'this log (same sha256) was already attached: nothing changed, `upload.alreadyAttached` is true', schema: attached },
    },
    errors: ['INVALID_SARIF', 'CODE_SCAN_TOO_LARGE', 'FORBIDDEN', 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
  }),
  route({
    method: 'get', path: '/v1/requests/{id}/code-scans/{sha256}', auth: 'bearer', summary: 'The original SARIF log of one upload, byte for byte (readers of the request)',
    params: requestParams.extend({ sha256: z.string().describe('lowercase hex sha256 of the upload (400 INVALID_REQUEST otherwise)') }),
    responses: { 200: { description: 'the log', content: { 'application/sarif+json': sarifLog } } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
];
