/**
 * The client package as a user gets it (issue 17): build it (src/package/build.ts), `npm pack` it,
 * and `npm install` the tarball into a fresh temporary project, offline. The npm cache on a test
 * machine holds none of the package's dependencies, so they are made available first as symlinks
 * to this repository's installed copies (only the direct ones: Node resolves a symlinked package's
 * own imports from its real path); npm then installs the tarball with `--offline --no-package-lock`
 * and fetches nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackage, packPackage, PACKAGE_NAME, type Packed } from '../../src/package/build.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export { PACKAGE_NAME };

export interface InstalledPackage {
  /** The temporary directory holding everything below. */
  readonly tmp: string;
  /** The built (unpacked) package directory. */
  readonly built: string;
  readonly packed: Packed;
  /** The consumer project the tarball is installed in. */
  readonly project: string;
  /** The installed package inside the project's node_modules. */
  readonly installed: string;
  /** The installed `pqzk` bin link. */
  readonly bin: string;
  cleanup(): void;
}

/** Builds, packs and installs the package (about 5 s); `cleanup()` removes it all. */
export function installPackage(): InstalledPackage {
  const tmp = mkdtempSync(join(tmpdir(), 'pqzk-client-'));
  const built = buildPackage(join(tmp, 'package'));
  const packed = packPackage(built, join(tmp, 'pack'));
  const project = join(tmp, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const manifest = JSON.parse(readFileSync(join(built, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies)) {
    const link = join(project, 'node_modules', dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), link, 'dir');
  }
  const npm = spawnSync('npm', ['install', '--offline', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', packed.tarball], {
    cwd: project, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (npm.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`npm install of the tarball failed:\n${npm.stdout}${npm.stderr}`);
  }
  return {
    tmp, built, packed, project,
    installed: join(project, 'node_modules', ...PACKAGE_NAME.split('/')),
    bin: join(project, 'node_modules', '.bin', 'pqzk'),
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** Node binaries to run the installed package with: this one (24) and the system's, when it is another major. */
export function nodeBinaries(): Array<{ path: string; version: string }> {
  const out = [{ path: process.execPath, version: process.version }];
  for (const p of ['/usr/bin/node', '/usr/local/bin/node']) {
    const r = spawnSync(p, ['--version'], { encoding: 'utf8' });
    const v = r.stdout?.trim();
    if (r.status === 0 && v && v.split('.')[0] !== process.version.split('.')[0] && !out.some((o) => o.version === v)) out.push({ path: p, version: v });
  }
  return out;
}
