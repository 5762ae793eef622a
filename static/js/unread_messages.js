// The navigation bar's unread-messages badge, kept live by the notification stream: tasks.js
// owns the websocket and hands each {"type": "messages", "unread": N} over as a "notification"
// event. A count that grew is announced once, in the polite live region; the count a page
// already shows, sent again by each connection's snapshot, is not.

const badge = document.querySelector("[data-unread-messages]");
const live = document.getElementById("messages-status");
const gettext = window.gettext || ((text) => text);
const ngettext = window.ngettext || ((one, many, count) => (count === 1 ? one : many));
const interpolate = window.interpolate || ((format, values) => format.replace("%s", values[0]));

function unreadText(count) {
  return interpolate(ngettext("%s unread message", "%s unread messages", count), [count]);
}

document.addEventListener("notification", (event) => {
  const message = event.detail;
  if (!badge || message.type !== "messages") return;
  const before = Number(badge.dataset.unreadMessages) || 0;
  const count = message.unread;
  badge.dataset.unreadMessages = String(count);
  badge.hidden = count === 0;
  badge.querySelector("[aria-hidden]").textContent = String(count);
  badge.querySelector(".visually-hidden").textContent = unreadText(count);
  if (count > before && live) {
    live.textContent = `${gettext("New private message.")} ${unreadText(count)}`;
  }
});
