// A question before something that can't be undone, in a modal alert dialog. Cancel has the focus, so
// Enter alone never destroys anything; Escape cancels.
import { openDialog, closeDialog } from '../dialogs.js';

/** Asks; resolves to `true` when the user confirmed with the `yes` button. */
export function confirmDialog({ title, text, yes, no }) {
  const d = document.getElementById('confirm');
  d.querySelector('#confirm-title').textContent = title;
  d.querySelector('#confirm-text').textContent = text;
  const ok = d.querySelector('.confirm-yes');
  const cancel = d.querySelector('.confirm-no');
  ok.textContent = yes;
  cancel.textContent = no;
  return new Promise((resolve) => {
    let answer = false;
    const finish = () => {
      ok.removeEventListener('click', onYes);
      cancel.removeEventListener('click', onNo);
      resolve(answer);
    };
    const onYes = () => {
      answer = true;
      closeDialog(d);
    };
    const onNo = () => closeDialog(d);
    ok.addEventListener('click', onYes);
    cancel.addEventListener('click', onNo);
    d.addEventListener('close', finish, { once: true });
    openDialog(d, cancel);
  });
}
