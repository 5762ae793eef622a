// Live task progress: a websocket to /ws/tasks/ updates the server-rendered bars in place.
// Reconnects with exponential backoff; every (re)connect starts with a snapshot of the user's
// current tasks, so the page is never stale. Updates never move keyboard focus.

const container = document.getElementById("tasks");
const live = document.getElementById("tasks-status");
const template = document.getElementById("task-template");
const STATUS_LABELS = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};
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
  fill.textContent = `${task.progress}%`;
  fill.classList.toggle("progress-bar-striped", ACTIVE.has(task.status));
  fill.classList.toggle("progress-bar-animated", ACTIVE.has(task.status));
  const download = card.querySelector(".task-download");
  download.classList.toggle("d-none", !task.download_url);
  if (task.download_url) download.href = task.download_url;
  card.querySelector(".task-cancel").classList.toggle("d-none", !ACTIVE.has(task.status));
  if (previous !== task.status && !ACTIVE.has(task.status)) {
    live.textContent = `${task.description} ${badge.textContent.toLowerCase()}. ${task.error || task.notice || ""}`;
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
  });
  socket.addEventListener("close", () => {
    setConnectionState("Reconnecting…");
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  });
}

if (container) connect();
