/**
 * Java package metadata inside an archive: Maven's `META-INF/maven/<group>/<artifact>/
 * pom.properties` (`groupId`, `artifactId`, `version`), else the JAR manifest
 * (`META-INF/MANIFEST.MF`), whose `Implementation-Vendor-Id` + `Implementation-Title` +
 * `Implementation-Version` name a Maven artifact only when all three are there. OSV's Maven
 * ecosystem names a package `groupId:artifactId`.
 */
import type { ParsedPackage } from './types';

export const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;

function keyValues(text: string, separator: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#') || line.startsWith('!')) continue;
    const m = separator.exec(line);
    if (m?.index !== undefined && m.index > 0) out.set(line.slice(0, m.index).trim(), line.slice(m.index + m[0].length).trim());
  }
  return out;
}

export function parsePomProperties(text: string): ParsedPackage | null {
  const p = keyValues(text, /\s*[=:]\s*/);
  const group = p.get('groupId');
  const artifact = p.get('artifactId');
  const version = p.get('version');
  return group && artifact && version ? { name: `${group}:${artifact}`, version } : null;
}

export function parseManifest(text: string): ParsedPackage | null {
  // Continuation lines start with one space (JAR File Specification, manifest format).
  const joined = text.replace(/\r?\n /g, '');
  const m = keyValues(joined, /:\s*/);
  const group = m.get('Implementation-Vendor-Id');
  const artifact = m.get('Implementation-Title');
  const version = m.get('Implementation-Version');
  return group && artifact && version && !/\s/.test(artifact) ? { name: `${group}:${artifact}`, version } : null;
}
