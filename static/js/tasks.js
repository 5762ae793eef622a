// Live task progress: a websocket to /ws/tasks/ updates the server-rendered bars in place.
// Reconnects with exponential backoff; every (re)connect starts with a snapshot of the user's
// current tasks, so the page is never stale. Updates never move keyboard focus (unless the
// focused control disappears). Texts come from Django's JavaScript catalog (/jsi18n/), loaded
// before this module; without it they stay in English.

const container = document.getElementById("tasks");
const live = document.getElementById("tasks-status");
const template = document.getElementById("task-template");
const gettext = window.gettext || ((text) => text);
const interpolate = window.interpolate || ((format, values) =>
  format.replace(/%\((\w+)\)s/g, (_, name) => String(values[name])));
const STATUS_LABELS = {
  queued: gettext("Queued"),
  running: gettext("Running"),
  succeeded: gettext("Succeeded"),
  failed: gettext("Failed"),
  cancelled: gettext("Cancelled"),
};
// Same result as the server's "%(percent)s%" translation: "45%" in English, "45 %" in Spanish.
const percentFormat = new Intl.NumberFormat(document.documentElement.lang || undefined, {
  style: "percent",
  maximumFractionDigits: 0,
});
const BADGES = { succeeded: "success", failed: "danger", cancelled: "secondary" };
const ACTIVE = new Set(["queued", "running"]);

function cardFor(task) {
  let card = container.querySelector(`.task[data-task-id="${CSS.escape(task.id)}"]`);
  if (!card && template) {
    card = template.content.firstElementChild.cloneNode(true);
    card.dataset.taskId = task.id;
    const label = card.querySelector(".task-description");
    label.id = `task-${task.id}-label`;
    card.querySelector('[role="progressbar"]').setAttribute("aria-labelledby", label.id);
    card.querySelector('[role="progressbar"]').dataset.taskId = task.id;
    for (const control of card.querySelectorAll(".task-download, .task-cancel button")) {
      control.setAttribute("aria-describedby", label.id);
    }
    card.querySelector(".task-cancel").action = `/exports/${encodeURIComponent(task.id)}/cancel`;
    container.append(card);
  }
  return card;
}

function render(task) {
  const card = cardFor(task);
  if (!card) return;
  // Messages can arrive out of order (snapshot vs. broadcast): keep the newest state.
  if (card.dataset.updatedAt && task.updated_at && task.updated_at < card.dataset.updatedAt) return;
  const previous = card.dataset.status;
  card.dataset.updatedAt = task.updated_at || "";
  card.dataset.status = task.status;
  card.querySelector(".task-description").textContent = task.description;
  const badge = card.querySelector(".task-status");
  badge.textContent = STATUS_LABELS[task.status] || task.status;
  badge.className = `task-status badge text-bg-${BADGES[task.status] || "primary"}`;
  card.querySelector(".task-detail").textContent = task.error || task.notice || "";
  const bar = card.querySelector('[role="progressbar"]');
  bar.setAttribute("aria-valuenow", String(task.progress));
  const fill = bar.querySelector(".progress-bar");
  fill.style.width = `${task.progress}%`;
  fill.textContent = percentFormat.format(task.progress / 100);
  fill.classList.toggle("progress-bar-striped", ACTIVE.has(task.status));
  fill.classList.toggle("progress-bar-animated", ACTIVE.has(task.status));
  const download = card.querySelector(".task-download");
  download.classList.toggle("d-none", !task.download_url);
  if (task.download_url) download.href = task.download_url;
  const cancel = card.querySelector(".task-cancel");
  const cancelHadFocus = cancel.contains(document.activeElement);
  cancel.classList.toggle("d-none", !ACTIVE.has(task.status));
  if (cancelHadFocus && !ACTIVE.has(task.status)) {
    // The focused button vanished: keep keyboard users in the card rather than on <body>.
    (task.download_url ? download : card.querySelector(".task-description")).focus();
  }
  if (previous !== task.status) {
    const sentence = interpolate(
      gettext("%(description)s %(status)s."),
      { description: task.description, status: badge.textContent.toLowerCase() },
      true,
    );
    live.textContent = `${sentence} ${task.error || task.notice || ""}`.trim();
  }
  const exportButton = document.getElementById("export-button");
  if (exportButton && task.name === "export_posts") {
    exportButton.disabled = ACTIVE.has(task.status);
  }
}

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
// stale (it ended long ago while this page was disconnected) and goes, unless it holds focus.
function forgetTasksNotIn(current) {
  for (const card of container.querySelectorAll(".task[data-task-id]")) {
    if (!current.has(card.dataset.taskId) && !card.contains(document.activeElement)) {
      card.remove();
    }
  }
}

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
  });
  socket.addEventListener("close", () => {
    setConnectionState(gettext("Reconnecting…"));
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  });
}

if (container) connect();
