/**
 * Python distributions: the core metadata (`Name:`, `Version:`) in `*.dist-info/METADATA`
 * (wheels, pip installs) and `*.egg-info/PKG-INFO` (setuptools; an `.egg-info` may also be a
 * single file). Only the header block before the first blank line is read.
 */
import { eachLine } from './deb822';
import type { ParsedPackage } from './types';

export const PYTHON_METADATA = /(?:^|\/)[^/]+\.(?:dist-info\/METADATA|egg-info\/PKG-INFO|egg-info)$/;

export function parsePythonMetadata(text: string): ParsedPackage[] {
  let name: string | undefined;
  let version: string | undefined;
  // The header block only, line by line: the long description after it is never split.
  eachLine(text, (line) => {
    if (line.trim() === '') return false;
    const m = /^(Name|Version):\s*(.{1,1024}?)\s*$/i.exec(line);
    if (m?.[1]?.toLowerCase() === 'name') name ??= m[2];
    else if (m?.[1]?.toLowerCase() === 'version') version ??= m[2];
    return true;
  });
  return name && version ? [{ name, version }] : [];
}
