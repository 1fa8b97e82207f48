// Provider icons: SVG files shipped with the app (ui/icons, copied to dist/icons); the backend names
// one per provider (`icon`), with a generic fallback. Never a remote image: the CSP forbids them.
import { h } from './dom.js';

/** An icon for `provider` (anything with an `icon` name), decorative: the name is always beside it. */
export function providerIcon(provider, size = 32) {
  const name = /^[a-z0-9-]+$/.test(provider?.icon ?? '') ? provider.icon : 'generic';
  return h('img', { class: 'provider-icon', src: `icons/${name}.svg`, alt: '', width: size, height: size, dataset: { icon: name } });
}
