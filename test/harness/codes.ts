import { AppError } from '../../src/lib/errors';

/** The AppError code a call fails with, or `ok`; any other error is thrown on. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}
