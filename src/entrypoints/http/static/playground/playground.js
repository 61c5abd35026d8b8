// The playground: same-origin requests only. The key is the HttpOnly cookie that
// POST /v1/keys sets, or a pasted key kept in this tab's memory and sent as a Bearer header.
"use strict";

const $ = (id) => document.getElementById(id);
let pastedKey = null;
let watching = null; // {id, controller}

function headers(extra = {}) {
  const all = { Accept: "application/json", ...extra };
  if (pastedKey) all.Authorization = `Bearer ${pastedKey}`;
  return all;
}

async function api(method, path, body, extra = {}) {
  const init = { method, headers: headers(extra), credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => null);
  return { response, data };
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

function inTime(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min` : `${s} s`;
}

function say(text) {
  $("message").textContent = text || "";
}

function problemText(data, response) {
  if (!data) return `The server answered ${response.status}.`;
  if (data.code === "quota_exceeded") {
    const retry = Number(response.headers.get("Retry-After"));
    if (!retry) return "You are out of credits, and this key's plan does not refill.";
    const at = new Date(Date.now() + retry * 1000).toLocaleString();
    return `You are out of credits. They come back at ${at} (in ${inTime(retry)}).`;
  }
  const fields = (data.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
  return fields ? `${data.detail} (${fields})` : data.detail || data.title;
}

async function refreshMe() {
  const { response, data } = await api("GET", "/v1/me");
  const signedIn = response.ok;
  $("no-key").hidden = signedIn;
  $("has-key").hidden = !signedIn;
  $("submit").disabled = !signedIn;
  if (!signedIn) return false;
  $("key-start").textContent = `Key ${data.start}…`;
  $("credits").textContent = String(data.credits.remaining ?? "unlimited");
  const refill = data.credits.refill;
  $("refill").textContent = refill
    ? `· refills to ${refill.amount} ${refill.interval}, next at ${when(data.credits.next_refill_at)}`
    : "";
  return true;
}

async function mint() {
  const { response, data } = await api("POST", "/v1/keys");
  if (!response.ok) return say(problemText(data, response));
  pastedKey = null;
  $("minted-key").textContent = data.key;
  $("minted").hidden = false;
  say("");
  await refreshMe();
  await refreshHistory();
}

function describe(job) {
  let text = `${job.id}: ${job.status}`;
  if (job.status === "queued" && job.queue) {
    text += `, ${job.queue.position} ahead`;
    if (job.queue.eta_seconds != null) text += `, about ${inTime(job.queue.eta_seconds)}`;
  }
  if (job.status === "running" && job.eta_seconds != null) text += `, about ${inTime(job.eta_seconds)} left`;
  if (job.error) text += ` (${job.error.code}: ${job.error.message})`;
  return text;
}

const TERMINAL = new Set(["succeeded", "failed", "canceled", "aborted"]);

async function showImages(job) {
  const box = $("images");
  box.replaceChildren();
  for (const [index, image] of job.images.entries()) {
    const response = await fetch(image.url, { headers: headers({ Accept: "*/*" }), credentials: "same-origin" });
    if (!response.ok) continue;
    const img = document.createElement("img");
    img.src = URL.createObjectURL(await response.blob());
    img.alt = `${job.request.prompt} (image ${index + 1} of ${job.images.length})`;
    box.append(img);
  }
}

function render(job) {
  $("job").hidden = false;
  $("job-status").textContent = describe(job);
  $("cancel").hidden = TERMINAL.has(job.status);
}

// Server-Sent Events over fetch (so a pasted key can go in a header). Returns false when the
// server has no event stream, and the caller long-polls instead.
async function streamJob(id, signal, onJob) {
  const response = await fetch(`/v1/jobs/${id}/events`, {
    headers: headers({ Accept: "text/event-stream" }), credentials: "same-origin", signal,
  });
  if (!response.ok || !(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
    return false;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", event = "", data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (event === "job" && data.length) onJob(JSON.parse(data.join("\n")));
        event = ""; data = [];
      } else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
  }
}

async function pollJob(id, signal, onJob) {
  for (;;) {
    const response = await fetch(`/v1/jobs/${id}`, {
      headers: headers({ Prefer: "wait=25" }), credentials: "same-origin", signal,
    });
    const job = await response.json();
    if (!response.ok) throw new Error(problemText(job, response));
    onJob(job);
    if (TERMINAL.has(job.status)) return;
  }
}

async function watch(job) {
  if (watching) watching.controller.abort();
  const controller = new AbortController();
  watching = { id: job.id, controller };
  let last = job;
  const onJob = (update) => { last = update; render(update); };
  render(job);
  try {
    const streamed = await streamJob(job.id, controller.signal, onJob);
    if (!streamed || !TERMINAL.has(last.status)) await pollJob(job.id, controller.signal, onJob);
  } catch (error) {
    if (error.name === "AbortError") return;
    say(String(error.message || error));
  }
  if (last.status === "succeeded") await showImages(last);
  await refreshMe();
  await refreshHistory();
}

async function generate(event) {
  event.preventDefault();
  say("");
  $("images").replaceChildren();
  const body = {
    prompt: $("prompt").value,
    n: Number($("n").value),
    size: $("size").value,
    quality: $("quality").value,
    output_format: $("format").value,
  };
  const key = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
  const { response, data } = await api("POST", "/v1/images/generations", body, { "Idempotency-Key": key });
  if (!response.ok) return say(problemText(data, response));
  refreshMe();
  await watch(data);
}

async function cancel() {
  if (!watching) return;
  const { response, data } = await api("POST", `/v1/jobs/${watching.id}/cancel`);
  if (!response.ok) return say(problemText(data, response));
  render(data);
}

async function refreshHistory() {
  const list = $("jobs");
  const { response, data } = await api("GET", "/v1/jobs?limit=10");
  list.replaceChildren();
  if (!response.ok) return;
  for (const job of data.data) {
    const item = document.createElement("li");
    item.textContent = `${when(job.created_at)} · ${job.status} · “${job.request.prompt}” `;
    if (job.status === "succeeded") {
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = "Show";
      show.setAttribute("aria-label", `Show the images of ${job.id}`);
      show.addEventListener("click", () => { render(job); showImages(job); });
      item.append(show);
    }
    list.append(item);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("mint").addEventListener("click", mint);
  $("paste-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    pastedKey = $("paste").value.trim() || null;
    $("paste").value = "";
    if (!(await refreshMe())) say("That key was not accepted.");
    else { say(""); await refreshHistory(); }
  });
  $("forget").addEventListener("click", () => {
    pastedKey = null;
    $("minted").hidden = true;
    $("no-key").hidden = false;
    $("has-key").hidden = true;
  });
  $("generate-form").addEventListener("submit", generate);
  $("cancel").addEventListener("click", cancel);
  if (await refreshMe()) await refreshHistory();
});
