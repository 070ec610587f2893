/**
 * The cores this process may use: `os.availableParallelism()` (the CPUs its affinity allows),
 * bounded by a cgroup CPU quota when one is set (a Kubernetes `resources.limits.cpu`, `docker run
 * --cpus`). Node 20 counts the machine's cores, not the quota: a worker limited to 2 CPUs on a
 * 32-core node would size its scan-thread pool (`worker.scanThreads: auto`) at 32 threads, each
 * with its own heap (`worker.scanThreadMemoryMb`), all throttled to 2 CPUs' worth of time.
 *
 * cgroup v2 (`cpu.max`: `<quota> <period>` or `max <period>`) and v1 (`cpu.cfs_quota_us`, -1 when
 * unlimited, and `cpu.cfs_period_us`), read for the process's own cgroup (`/proc/self/cgroup`),
 * then at the mount's root (a container with its own cgroup namespace sees itself there). The
 * quota's cores are rounded up: 1.5 CPUs is 2 threads, which the quota then shares.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CgroupFiles {
  /** The text of /proc/self/cgroup. */
  procCgroup: string;
  /** Where cgroupfs is mounted. @defaultValue /sys/fs/cgroup */
  root: string;
  /** Reads a file's text; undefined when it cannot. */
  read: (file: string) => string | undefined;
}

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

function systemFiles(): CgroupFiles {
  return { procCgroup: readText('/proc/self/cgroup') ?? '', root: '/sys/fs/cgroup', read: readText };
}

/** Cores of a cgroup v2 `cpu.max` (`200000 100000` is 2), or undefined when unlimited or unreadable. */
export function coresOfCpuMax(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return coresOf(Number(quota), Number(period ?? 100000));
}

/** Cores of a cgroup v1 quota and period (`cpu.cfs_quota_us` -1 is unlimited), or undefined. */
export function coresOfCfs(quota: string | undefined, period: string | undefined): number | undefined {
  return coresOf(Number((quota ?? '').trim()), Number((period ?? '').trim()));
}

function coresOf(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

/** The CPU quota of this process's cgroup, in cores (rounded up), or undefined when none is set. */
export function cgroupCores(files: CgroupFiles = systemFiles()): number | undefined {
  const found: number[] = [];
  for (const line of files.procCgroup.split('\n')) {
    // `hierarchy-id:controllers:path`; the path may itself hold ':'.
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers, cgroupPath] = m;
    if (id === '0' && controllers === '') {
      for (const dir of candidates(files.root, cgroupPath)) {
        const cores = coresOfCpuMax(files.read(path.join(dir, 'cpu.max')));
        if (cores !== undefined) found.push(cores);
      }
    } else if (controllers.split(',').includes('cpu')) {
      // v1 mounts the cpu controller as `cpu`, `cpu,cpuacct` or `cpuacct,cpu`.
      for (const mount of new Set([controllers, 'cpu', 'cpu,cpuacct', 'cpuacct,cpu'])) {
        for (const dir of candidates(path.join(files.root, mount), cgroupPath)) {
          const cores = coresOfCfs(files.read(path.join(dir, 'cpu.cfs_quota_us')), files.read(path.join(dir, 'cpu.cfs_period_us')));
          if (cores !== undefined) found.push(cores);
        }
      }
    }
  }
  return found.length > 0 ? Math.min(...found) : undefined;
}

/** The process's own cgroup folder under `mount`, then the mount's root. */
function candidates(mount: string, cgroupPath: string): string[] {
  // A path with '..' (never written by the kernel) is not followed out of the mount.
  const own = path.join(mount, path.normalize(`/${cgroupPath}`));
  return own === mount ? [mount] : [own, mount];
}

/** The cores this process may use: its CPU affinity, bounded by its cgroup CPU quota. */
export function availableCores(files?: CgroupFiles): number {
  const quota = cgroupCores(files);
  return Math.max(1, Math.min(os.availableParallelism(), quota ?? Infinity));
}
