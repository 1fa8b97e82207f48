// Builds ui/dist: bundles src/main.js with esbuild and copies the page, styles and translations.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'safari16',
  outfile: join(dist, 'app.js'),
  legalComments: 'none',
});
cpSync(join(here, 'index.html'), join(dist, 'index.html'));
cpSync(join(here, 'styles'), join(dist, 'styles'), { recursive: true });
cpSync(join(here, 'icons'), join(dist, 'icons'), { recursive: true });
cpSync(join(here, '../icons/128x128.png'), join(dist, 'icon.png'));
console.log(`ui/dist built: app.js ${statSync(join(dist, 'app.js')).size} bytes`);
