// Live task cards: the notification stream's websocket (/ws/notifications/) updates the server-rendered cards in place.
// Reconnects with exponential backoff; every (re)connect starts with a snapshot of the user's
// current tasks, so the page is never stale. The server sends every word and URL a card shows
// (title, status label, badge, detail, cancel and dismiss URLs) in the page's language, so this
// file knows no task kind. Updates never move keyboard focus (unless the focused control
// disappears).

const container = document.getElementById("tasks");
const live = document.getElementById("tasks-status");
const template = document.getElementById("task-template");
const gettext = window.gettext || ((text) => text);
// Same result as the server's "%(percent)s%" translation: "45%" in English, "45 %" in Spanish.
const percentFormat = new Intl.NumberFormat(document.documentElement.lang || undefined, {
  style: "percent",
  maximumFractionDigits: 0,
});
// Dismissed here: a late message about them must not bring their card back.
const dismissed = new Set();
// One card per kind: the newest task of each kind seen so far (created_at), dismissed or not.
const newestOfKind = new Map();

function cards() {
  return container.querySelectorAll(".task[data-task-id]");
}

function cardOf(id) {
  return container.querySelector(`.task[data-task-id="${CSS.escape(id)}"]`);
}

function newCard(task) {
  const card = template.content.firstElementChild.cloneNode(true);
  card.dataset.taskId = task.id;
  card.dataset.taskName = task.name;
  const label = card.querySelector(".task-title");
  label.id = `task-${task.id}-label`;
  const bar = card.querySelector('[role="progressbar"]');
  bar.setAttribute("aria-labelledby", label.id);
  bar.dataset.taskId = task.id;
  for (const control of card.querySelectorAll("a, button")) {
    control.setAttribute("aria-describedby", label.id);
  }
  container.append(card);
  return card;
}

function removeCard(card) {
  const hadFocus = card.contains(document.activeElement);
  const next = card.nextElementSibling?.querySelector(".task-title");
  card.remove();
  if (hadFocus) (next || document.getElementById("content")).focus();
}

function render(task) {
  const newest = newestOfKind.get(task.name);
  if (!newest || task.created_at > newest) newestOfKind.set(task.name, task.created_at);
  const latest = newestOfKind.get(task.name);
  for (const other of cards()) {
    if (other.dataset.taskName === task.name && other.dataset.createdAt < latest) removeCard(other);
  }
  if (task.created_at < latest || task.dismissed || dismissed.has(task.id)) {
    const stale = cardOf(task.id);
    if (stale) removeCard(stale);
    return;
  }
  const card = cardOf(task.id) || (template && newCard(task));
  if (!card) return;
  // Messages can arrive out of order (snapshot vs. broadcast): keep the newest state.
  if (card.dataset.updatedAt && task.updated_at && task.updated_at < card.dataset.updatedAt) return;
  const previous = card.dataset.status;
  card.dataset.updatedAt = task.updated_at || "";
  card.dataset.createdAt = task.created_at || "";
  card.dataset.status = task.status;
  card.querySelector(".task-title").textContent = task.title;
  const badge = card.querySelector(".task-status");
  badge.textContent = task.status_label;
  badge.className = `task-status badge text-bg-${task.badge}`;
  card.querySelector(".task-detail").textContent = task.detail || "";
  // A final card is coloured as its badge, and only a success keeps its bar (as _task.html).
  for (const name of [...card.classList]) {
    if (name.startsWith("border-") || name.startsWith("bg-")) card.classList.remove(name);
  }
  card.classList.toggle("task-final", !task.active);
  if (!task.active) card.classList.add(`border-${task.badge}`, `bg-${task.badge}-subtle`);
  const bar = card.querySelector('[role="progressbar"]');
  bar.setAttribute("aria-valuenow", String(task.progress));
  bar.classList.toggle("d-none", !task.show_progress);
  const fill = bar.querySelector(".progress-bar");
  fill.style.width = `${task.progress}%`;
  fill.textContent = percentFormat.format(task.progress / 100);
  fill.className = `progress-bar bg-${task.badge}`;
  fill.classList.toggle("progress-bar-striped", task.active);
  fill.classList.toggle("progress-bar-animated", task.active);
  const download = card.querySelector(".task-download");
  download.classList.toggle("d-none", !task.download_url);
  if (task.download_url) download.href = task.download_url;
  const cancel = card.querySelector(".task-cancel");
  const cancelHadFocus = cancel.contains(document.activeElement);
  cancel.classList.toggle("d-none", !task.cancel_url);
  if (task.cancel_url) cancel.action = task.cancel_url;
  const dismiss = card.querySelector(".task-dismiss");
  dismiss.classList.toggle("d-none", !task.dismiss_url);
  if (task.dismiss_url) dismiss.action = task.dismiss_url;
  if (cancelHadFocus && !task.cancel_url) {
    // The focused button vanished: keep keyboard users in the card rather than on <body>.
    (task.download_url ? download : card.querySelector(".task-title")).focus();
  }
  if (!task.active) {
    // "Your export has started" under a card that says "ready": the card speaks for the task now.
    for (const flash of document.querySelectorAll(`.alert[data-task-id="${CSS.escape(task.id)}"]`)) {
      flash.remove();
    }
  }
  if (previous !== task.status) {
    live.textContent = task.detail ? `${task.title}: ${task.detail}` : task.title;
  }
  for (const button of document.querySelectorAll(`[data-task-kind="${CSS.escape(task.name)}"]`)) {
    button.disabled = task.active;
  }
}

// Dismissing posts in the background; the server tells this page's other tabs.
container?.addEventListener("submit", async (event) => {
  const form = event.target.closest(".task-dismiss");
  if (!form) return;
  event.preventDefault();
  const card = form.closest(".task");
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { "X-Requested-With": "fetch" },
    credentials: "same-origin",
  });
  if (response.ok) {
    dismissed.add(card.dataset.taskId);
    removeCard(card);
  }
});

function setConnectionState(text) {
  container.dataset.connection = text;
  let banner = document.getElementById("tasks-connection");
  if (!text) {
    banner?.remove();
    return;
  }
  if (!banner) {
    banner = document.createElement("div");
    banner.id = "tasks-connection";
    banner.className = "alert alert-warning py-1 small";
    container.prepend(banner);
  }
  banner.textContent = text;
}

// The snapshot ends with the ids of the user's current tasks: a card for any other task is
// stale (it ended long ago, or was dismissed, while this page was disconnected) and goes,
// unless it holds focus.
function forgetTasksNotIn(current) {
  for (const card of cards()) {
    if (!current.has(card.dataset.taskId) && !card.contains(document.activeElement)) {
      card.remove();
    }
  }
}

// The server's close code for a user with too many task sockets in one process
// (WEBSOCKETS_PER_USER, usertasks/consumers.py): reconnecting at once would only be refused again.
const TOO_MANY_SOCKETS = 4029;
const TOO_MANY_SOCKETS_RETRY = 60000;
let delay = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${container.dataset.wsPath}`);
  socket.addEventListener("open", () => {
    delay = 500;
    setConnectionState("");
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "task") render(message.task);
    else if (message.type === "snapshot") forgetTasksNotIn(new Set(message.task_ids));
    // Every other type belongs to a registered event source: its own script listens.
    else document.dispatchEvent(new CustomEvent("notification", { detail: message }));
  });
  socket.addEventListener("close", (event) => {
    if (event.code === TOO_MANY_SOCKETS) {
      setConnectionState(
        gettext("Too many tabs of this site are open: close some, and this one updates again."),
      );
      setTimeout(connect, TOO_MANY_SOCKETS_RETRY);
      return;
    }
    setConnectionState(gettext("Reconnecting…"));
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  });
}

if (container) {
  for (const card of cards()) {
    const seen = newestOfKind.get(card.dataset.taskName);
    if (!seen || card.dataset.createdAt > seen) {
      newestOfKind.set(card.dataset.taskName, card.dataset.createdAt);
    }
  }
  connect();
}
