import "./notifications.css";
import { useState } from "react";
import { Link } from "react-router";
import { Dialog } from "../../../shared/Dialog";
import { groupByLevel, useNotifications, type NotificationLevel } from "../../../shared/notifications";

const LEVEL_NAMES: Record<NotificationLevel, string> = { ERROR: "Errors", WARNING: "Warnings", SUCCESS: "Done", INFO: "Information" };
const LEVEL_COLOURS: Record<NotificationLevel, string> = { ERROR: "#dc2626", WARNING: "#d97706", SUCCESS: "#16a34a", INFO: "#4f46e5" };

/** The header's notification button and the centre it opens: notifications grouped by level, each linking to its page. */
export function NotificationCenter() {
  const [open, setOpen] = useState(false);
  const items = useNotifications((s) => s.items);
  const markAllRead = useNotifications((s) => s.markAllRead);
  const clear = useNotifications((s) => s.clear);
  const unread = items.filter((n) => !n.read).length;
  const close = () => {
    markAllRead();
    setOpen(false);
  };
  return (
    <>
      <button type="button" className="ghost" aria-label={`Notifications (${unread} unread)`} onClick={() => setOpen(true)}>
        Notifications{unread > 0 && <span className="badge">{unread}</span>}
      </button>
      {open && (
        <Dialog title="Notifications" onClose={close}>
          {items.length === 0 && <p className="muted">Nothing yet: job results and refused actions are listed here.</p>}
          <div className="notification-groups">
            {groupByLevel(items).map(([level, list]) => (
              <section key={level} aria-label={LEVEL_NAMES[level]}>
                <h3 className="small" style={{ color: LEVEL_COLOURS[level] }}>
                  {LEVEL_NAMES[level]} ({list.length})
                </h3>
                <ul className="plain">
                  {list.map((n) => (
                    <li key={n.id} className={n.read ? "notification" : "notification unread"} style={{ borderLeftColor: LEVEL_COLOURS[level] }}>
                      <span className="muted small">{new Date(n.at).toLocaleString()}</span>{" "}
                      {n.link ? (
                        <Link to={n.link} onClick={close}>
                          {n.message}
                        </Link>
                      ) : (
                        n.message
                      )}
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </div>
          {items.length > 0 && (
            <div className="row end">
              <button type="button" onClick={clear}>
                Clear all
              </button>
            </div>
          )}
        </Dialog>
      )}
    </>
  );
}
