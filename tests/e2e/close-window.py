#!/usr/bin/python3
"""Closes an X11 window the way a window manager does when the user clicks its close button.

Sends the ICCCM WM_DELETE_WINDOW client message to every top-level window whose title starts with the
given prefix. (WebDriver's "close window" only destroys the web view, which is not what a user does.)
Usage: close-window.py TITLE_PREFIX   (exit 1 when no such window exists)
       close-window.py --list         (prints the title of every top-level window, one a line)
"""
import sys

from Xlib import X, display, protocol


def titles(d, window):
    try:
        name = window.get_wm_name()
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        net = window.get_full_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"))
        if net is not None:
            name = net.value.decode("utf-8", "replace") if isinstance(net.value, bytes) else name
        return name or ""
    except Exception:  # a window may vanish while we look at it
        return ""


def main():
    prefix = sys.argv[1]
    d = display.Display()
    if prefix == "--list":
        for window in d.screen().root.query_tree().children:
            title = titles(d, window)
            if title:
                print(title)
        return
    wm_protocols = d.intern_atom("WM_PROTOCOLS")
    wm_delete = d.intern_atom("WM_DELETE_WINDOW")
    closed = 0
    for window in d.screen().root.query_tree().children:
        if not titles(d, window).startswith(prefix):
            continue
        event = protocol.event.ClientMessage(window=window, client_type=wm_protocols, data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(event, event_mask=X.NoEventMask)
        closed += 1
    d.flush()
    print(f"sent WM_DELETE_WINDOW to {closed} window(s) titled '{prefix}…'")
    sys.exit(0 if closed else 1)


if __name__ == "__main__":
    main()
