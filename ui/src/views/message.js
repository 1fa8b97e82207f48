// The status banner at the top: one message at a time, announced to screen readers.
import { h } from '../dom.js';
import { t } from '../i18n.js';

const box = () => document.getElementById('message');

/** Shows a message; `kind` is info, success or error; `code` is the backend's error code, if any. */
export function show(kind, text, code) {
  const el = box();
  el.replaceChildren(
    h('span', { class: 'message-text' }, text),
    h('button', { class: 'link-button', type: 'button', onClick: clear }, t('dismiss')),
  );
  el.dataset.kind = kind;
  if (code) el.dataset.code = code;
  else delete el.dataset.code;
  el.hidden = false;
}

/** Hides the banner. */
export function clear() {
  const el = box();
  el.hidden = true;
  el.replaceChildren();
  delete el.dataset.kind;
  delete el.dataset.code;
}
