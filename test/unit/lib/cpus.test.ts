/**
 * The cores `worker.scanThreads: auto` sizes the scan pool by: the CPU affinity, bounded by the
 * cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`), read from a cgroup
 * tree laid out in a temp folder as the kernel lays it out, and from this machine's own.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableCores, cgroupCores, coresOfCfs, coresOfCpuMax, type CgroupFiles } from '../../../src/lib/cpus';
import { ScanThreadPool } from '../../../src/scanners/builtin/threads/pool';
import { tempDir } from '../../harness/proc';

describe('cgroup CPU quota', () => {
  let root: string;
  beforeEach(() => { root = tempDir('cgroup'); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const put = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  const files = (procCgroup: string): CgroupFiles => ({
    procCgroup, root, read: (f) => { try { return readFileSync(f, 'utf8'); } catch { return undefined; } },
  });

  it('reads cgroup v2 cpu.max: a quota rounds up to whole cores, `max` is no quota', () => {
    expect(coresOfCpuMax('200000 100000\n')).toBe(2);
    expect(coresOfCpuMax('150000 100000')).toBe(2);
    expect(coresOfCpuMax('50000 100000')).toBe(1);
    expect(coresOfCpuMax('max 100000\n')).toBeUndefined();
    expect(coresOfCpuMax('')).toBeUndefined();
    expect(coresOfCpuMax(undefined)).toBeUndefined();
    expect(coresOfCpuMax('garbage')).toBeUndefined();
  });

  it('reads cgroup v1 cfs quota and period: -1 is no quota', () => {
    expect(coresOfCfs('400000\n', '100000\n')).toBe(4);
    expect(coresOfCfs('-1\n', '100000\n')).toBeUndefined();
    expect(coresOfCfs('100000', '0')).toBeUndefined();
    expect(coresOfCfs(undefined, '100000')).toBeUndefined();
  });

  it('v2: the process\'s own cgroup (a Kubernetes container limited to 2 CPUs)', () => {
    const pod = '/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope';
    put(`${pod}/cpu.max`, '200000 100000\n');
    put('cpu.max', 'max 100000\n');
    expect(cgroupCores(files(`0::${pod}\n`))).toBe(2);
  });

  it('v2: a container with its own cgroup namespace sees itself at the root', () => {
    put('cpu.max', '300000 100000\n');
    expect(cgroupCores(files('0::/\n'))).toBe(3);
  });

  it('v2: no quota anywhere is none', () => {
    put('user.slice/cpu.max', 'max 100000\n');
    expect(cgroupCores(files('0::/user.slice\n'))).toBeUndefined();
  });

  it('v1: the cpu controller mounted as cpu,cpuacct', () => {
    put('cpu,cpuacct/docker/abc/cpu.cfs_quota_us', '150000\n');
    put('cpu,cpuacct/docker/abc/cpu.cfs_period_us', '100000\n');
    const proc = ['12:memory:/docker/abc', '4:cpu,cpuacct:/docker/abc', '1:name=systemd:/docker/abc', '0::/docker/abc'].join('\n');
    expect(cgroupCores(files(proc))).toBe(2);
  });

  it('a path that climbs out of the mount is not followed', () => {
    put('cpu.max', 'max 100000\n');
    // A quota outside the cgroup mount, where a naive join of the '..' would read.
    const outside = `${root}-x`;
    mkdirSync(outside);
    try {
      writeFileSync(path.join(outside, 'cpu.max'), '100000 100000\n');
      expect(cgroupCores(files(`0::/../${path.basename(outside)}\n`))).toBeUndefined();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('availableCores is the affinity bounded by the quota, and at least 1', () => {
    put('cpu.max', '100000 100000\n');
    expect(availableCores(files('0::/\n'))).toBe(1);
    put('cpu.max', `${(os.availableParallelism() + 8) * 100000} 100000\n`);
    expect(availableCores(files('0::/\n'))).toBe(os.availableParallelism());
    expect(availableCores(files(''))).toBe(os.availableParallelism());
  });

  it('on this machine: between 1 and the affinity, and the scan pool\'s default size', () => {
    const cores = availableCores();
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(cores).toBeLessThanOrEqual(os.availableParallelism());
    expect(new ScanThreadPool().size).toBe(cores);
  });
});
