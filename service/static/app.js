// vidstyle web page: plain JS against the public API (no build step, no framework).
// Ids are user data: they only ever reach the DOM through textContent/attributes, never innerHTML.
"use strict";

const K = 8;
const PAGE = 50;
const $ = (id) => document.getElementById(id);

const state = { query: "", offset: 0, total: 0, selected: null, uploadUrl: null, stylize: [], renderUrls: [] };

function videoPath(id) {
  return "/v1/videos/" + encodeURIComponent(id);
}

async function api(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : response.statusText;
    throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return body;
}

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function thumb(id, i = 0) {
  const img = document.createElement("img");
  img.src = `${videoPath(id)}/thumbnail?i=${i}`;
  img.alt = id;
  img.loading = "lazy";
  img.decoding = "async";
  img.addEventListener("error", () => img.classList.add("missing"), { once: true });
  return img;
}

function card(result, extra) {
  const li = document.createElement("li");
  li.className = "card";
  li.dataset.videoId = result.video_id;
  li.tabIndex = 0;
  li.appendChild(thumb(result.video_id));
  const name = document.createElement("span");
  name.className = "id";
  name.textContent = result.video_id;
  li.appendChild(name);
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = result.score.toFixed(3);
  score.title = "cosine similarity";
  li.appendChild(score);
  if (extra) {
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = extra;
    li.appendChild(detail);
  }
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.width = `${Math.max(0, Math.min(1, result.score)) * 100}%`;
  li.appendChild(bar);
  const open = () => select(result.video_id);
  li.addEventListener("click", open);
  li.addEventListener("keydown", (e) => e.key === "Enter" && open());
  return li;
}

// Why `recommend` left a candidate out (the API's explain=1): a copy of the query, or too close in content.
function dropReason(d) {
  if (d.reason === "copy") return `copy of this video (copy score ${d.copy_score.toFixed(2)})`;
  return `near-duplicate in content (${d.content_score.toFixed(2)})`;
}

function fill(listId, results, extra) {
  const list = $(listId);
  list.replaceChildren(...results.map((r) => card(r, extra && extra(r))));
  if (!results.length) {
    const li = document.createElement("li");
    li.className = "empty muted";
    li.textContent = "no results";
    list.appendChild(li);
  }
}

// -- the catalogue list -------------------------------------------------------------------------------------

async function loadList(append = false) {
  if (!append) state.offset = 0;
  const params = new URLSearchParams({ q: state.query, offset: state.offset, limit: PAGE });
  const page = await api(`/v1/videos?${params}`);
  state.total = page.total;
  const items = page.items.map((item) => {
    const li = document.createElement("li");
    li.dataset.videoId = item.video_id;
    li.appendChild(thumb(item.video_id));
    const span = document.createElement("span");
    span.textContent = item.video_id;
    li.appendChild(span);
    li.addEventListener("click", () => select(item.video_id));
    li.classList.toggle("active", item.video_id === state.selected);
    return li;
  });
  const list = $("video-list");
  if (append) list.append(...items);
  else list.replaceChildren(...items);
  state.offset += page.items.length;
  $("count").textContent = `${page.total} video${page.total === 1 ? "" : "s"}`;
  $("more").hidden = state.offset >= page.total;
}

function markActive() {
  for (const li of $("video-list").children) {
    li.classList.toggle("active", li.dataset.videoId === state.selected);
  }
}

// -- one video ----------------------------------------------------------------------------------------------

async function select(id, pushHistory = true) {
  state.selected = id;
  markActive();
  if (pushHistory && location.hash !== `#video=${encodeURIComponent(id)}`) {
    history.pushState(null, "", `#video=${encodeURIComponent(id)}`);
  }
  $("selected-title").textContent = id;
  $("neighbours").hidden = false;
  $("recommend").hidden = false;
  setStatus("loading…");
  try {
    const path = videoPath(id);
    const [detail, style, content, rec] = await Promise.all([
      api(path),
      api(`${path}/similar?space=style&k=${K}`),
      api(`${path}/similar?space=content&k=${K}`),
      api(`${path}/recommend?k=${K}&explain=1`),
    ]);
    if (state.selected !== id) return; // a later click won
    const frames = [];
    for (let i = 0; i < detail.thumbnails; i++) {
      const t = detail.frame_times[i];
      frames.push(figure(thumb(id, i), t === undefined ? `#${i}` : `${t.toFixed(1)} s`));
    }
    $("keyframes").replaceChildren(...frames);
    fill("style-results", style.results);
    fill("content-results", content.results);
    fill("recommend-results", rec.results, (r) => `style ${r.style_score.toFixed(2)} · content ${r.content_score.toFixed(2)}`);
    fill("recommend-dropped", rec.dropped || [], dropReason);
    showStylized(id, content.results);
    setStatus("");
  } catch (err) {
    setStatus(`Could not load ${id}: ${err.message}`, true);
  }
}

// With style-transfer checkpoints configured: the nearest same-subject video rendered in this video's look by
// each method the server offers, next to both inputs, so one sees what each method (and Ghiasi's style vector)
// captured. Renders are fetched, not linked, to read the known style an N-style method picked (X-Stylize-Note).
const RENDER_SIZE = { gatys: 128 }; // Gatys optimises every pixel: the server caps it at 128 px anyway

function figure(img, text) {
  const f = document.createElement("figure");
  f.appendChild(img);
  const caption = document.createElement("figcaption");
  caption.textContent = text;
  f.appendChild(caption);
  return f;
}

async function renderInto(img, caption, method, other, id) {
  const params = new URLSearchParams({ content: other, like: id, size: RENDER_SIZE[method] || 256, method });
  const response = await fetch(`/v1/stylize/render?${params}`);
  if (!response.ok) {
    img.classList.add("missing");
    caption.textContent = `${method}: failed (${response.status})`;
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  state.renderUrls.push(url);
  img.src = url;
  const note = response.headers.get("X-Stylize-Note");
  if (note) caption.textContent = `${method}: ${note}`;
}

function showStylized(id, contentResults) {
  const section = $("stylized");
  const other = contentResults.length ? contentResults[0].video_id : null;
  section.hidden = !(state.stylize.length && other);
  state.renderUrls.forEach((u) => URL.revokeObjectURL(u));
  state.renderUrls = [];
  if (section.hidden) return;
  const renders = state.stylize.map((method) => {
    const img = document.createElement("img");
    img.className = "stylized";
    img.dataset.method = method;
    img.alt = `${other} in the style of ${id} (${method})`;
    const f = figure(img, method);
    renderInto(img, f.querySelector("figcaption"), method, other, id).catch(() => img.classList.add("missing"));
    return f;
  });
  $("stylized-strip").replaceChildren(
    figure(thumb(other), `content: ${other}`),
    figure(thumb(id), `style: ${id}`),
    ...renders,
  );
}

// -- search by upload ---------------------------------------------------------------------------------------

async function searchUpload(file) {
  state.selected = null;
  markActive();
  history.pushState(null, "", "#upload");
  if (state.uploadUrl) URL.revokeObjectURL(state.uploadUrl);
  state.uploadUrl = URL.createObjectURL(file);
  $("selected-title").textContent = `Upload: ${file.name}`;
  const preview = document.createElement(file.type.startsWith("video/") ? "video" : "img");
  preview.src = state.uploadUrl;
  if (preview.tagName === "VIDEO") {
    preview.muted = true;
    preview.controls = true;
  }
  $("keyframes").replaceChildren(preview);
  $("neighbours").hidden = false;
  $("recommend").hidden = true;
  $("stylized").hidden = true;
  setStatus("embedding the upload…");
  const query = async (space) => {
    const form = new FormData();
    form.append("file", file);
    return api(`/v1/search?space=${space}&k=${K}`, { method: "POST", body: form });
  };
  try {
    // Sequential: the server runs one model job at a time anyway.
    const style = await query("style");
    fill("style-results", style.results);
    const content = await query("content");
    fill("content-results", content.results);
    setStatus("");
  } catch (err) {
    $("style-results").replaceChildren();
    $("content-results").replaceChildren();
    setStatus(`Search failed: ${err.message}`, true);
  }
}

// -- wiring -------------------------------------------------------------------------------------------------

// The hash comes from whoever wrote the link: a malformed escape (e.g. "#video=%E0%A4%A") is reported, not thrown.
function fromHash() {
  const match = location.hash.match(/^#video=(.+)$/);
  if (!match) return;
  let id;
  try {
    id = decodeURIComponent(match[1]);
  } catch (_) {
    setStatus("The link names no valid video id (bad %-encoding); pick a video on the left.", true);
    return;
  }
  select(id, false);
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

document.addEventListener("DOMContentLoaded", async () => {
  $("filter").addEventListener(
    "input",
    debounce((e) => {
      state.query = e.target.value.trim();
      loadList().catch((err) => setStatus(err.message, true));
    }, 200),
  );
  $("more").addEventListener("click", () => loadList(true).catch((err) => setStatus(err.message, true)));
  $("upload").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) searchUpload(file);
    e.target.value = "";
  });
  window.addEventListener("popstate", fromHash);
  try {
    const info = await api("/v1/stylize");
    // Servers before per-method renders only say whether the default method (ghiasi) is available.
    const methods = info.methods || (info.available ? [{ method: "ghiasi", available: true }] : []);
    state.stylize = methods.filter((m) => m.available).map((m) => m.method);
  } catch (_) {
    state.stylize = []; // an older server: no stylisation, the rest of the page works
  }
  try {
    await loadList();
  } catch (err) {
    setStatus(`Could not list videos: ${err.message}`, true);
  }
  fromHash();
});
