// The one timer of the window: it wakes once a minute, just after the minute turns, so that relative
// times ("in 59 min", "refreshed 3 min ago") age without a reload. It sleeps while the window is
// hidden and catches up at once when it is shown again; it asks the backend nothing.
import { msToNextMinute } from './time.js';

/** Calls `fn` after every full minute while the page is visible, and when it becomes visible. */
export function everyMinute(fn) {
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    timer = null;
    if (document.hidden) return;
    timer = setTimeout(() => {
      fn();
      schedule();
    }, msToNextMinute(Date.now()));
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) fn();
    schedule();
  });
  schedule();
}
