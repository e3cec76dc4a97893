// hubapps launcher: the little JavaScript the server-rendered pages need. No framework, no build.
// Everything shown from the server is set with textContent (never innerHTML), except the gallery
// fragment, which the service renders with autoescaping and which is inserted as a whole.
"use strict";
(function () {
  const body = document.body;
  const home = document.getElementById("hubapps-home");
  // Service pages carry their prefix and XSRF token on <body>; the Hub home gets them from the fragment.
  let prefix = body.dataset.prefix || (home && home.dataset.service) || "";
  let xsrf = body.dataset.xsrf || "";
  const pollMs = Number(body.dataset.pollMs || 1000);
  const LOGIN_FLAG = "hubapps-login-tried";

  const enc = encodeURIComponent;
  const appPath = (o, s) => `${prefix}api/apps/${enc(o)}/${enc(s)}`;
  const pagePath = (o, s) => `${prefix}ui/apps/${enc(o)}/${enc(s)}`;

  async function api(method, path, json) {
    const headers = { Accept: "application/json", "X-XSRFToken": xsrf };
    const init = { method, credentials: "same-origin", headers };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    const response = await fetch(path, init);
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (!response.ok) {
      const error = new Error(data.detail || `the launcher answered ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // -- dialog (confirmations and the card action menu) ---------------------------------------------
  const ACTIONS = {
    start: { label: "Start", cls: "btn-success" },
    stop: { label: "Stop", cls: "btn-outline-danger", confirm: "Stop “%s”? People using it will be disconnected." },
    restart: { label: "Restart", cls: "btn-outline-secondary", confirm: "Restart “%s”? People using it will be disconnected." },
    delete: { label: "Delete", cls: "btn-danger", confirm: "Delete “%s”? This cannot be undone: its settings and shares are removed." },
  };

  function dialogParts() {
    const dialog = document.getElementById("hubapps-dialog");
    if (!dialog) return null;
    return {
      dialog,
      title: document.getElementById("hubapps-dialog-title"),
      text: document.getElementById("hubapps-dialog-text"),
      actions: document.getElementById("hubapps-dialog-actions"),
      error: document.getElementById("hubapps-dialog-error"),
    };
  }

  function button(label, cls, onclick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `btn ${cls}`;
    b.textContent = label;
    b.addEventListener("click", onclick);
    return b;
  }

  function link(label, cls, href) {
    const a = document.createElement("a");
    a.className = `btn ${cls}`;
    a.textContent = label;
    a.href = href;
    return a;
  }

  function openDialog(title, text, children) {
    const d = dialogParts();
    if (!d) return null;
    d.title.textContent = title;
    d.text.textContent = text;
    d.error.textContent = "";
    d.actions.replaceChildren(...children);
    if (!d.dialog.open) d.dialog.showModal();
    const first = d.actions.querySelector("a,button");
    if (first) first.focus();
    return d;
  }

  async function perform(action, app, onDone) {
    const d = dialogParts();
    try {
      if (action === "delete") await api("DELETE", appPath(app.o, app.s));
      else await api("POST", `${appPath(app.o, app.s)}/${action}`);
    } catch (error) {
      if (d && d.dialog.open) d.error.textContent = error.message;
      else showError(error.message);
      return;
    }
    if (action === "start" || action === "restart") {
      window.location.assign(`${pagePath(app.o, app.s)}/watch`);
      return;
    }
    if (d && d.dialog.open) d.dialog.close();
    onDone();
  }

  function confirmThen(action, app, onDone) {
    const spec = ACTIONS[action];
    if (!spec.confirm) {
      perform(action, app, onDone);
      return;
    }
    openDialog(`${spec.label} app`, spec.confirm.replace("%s", app.n), [
      button(spec.label, spec.cls, () => perform(action, app, onDone)),
    ]);
  }

  function showError(message) {
    const target = document.getElementById("action-error") || document.getElementById("hubapps-count");
    if (target) target.textContent = message;
  }

  function actionMenu(trigger, onDone) {
    const card = trigger.closest(".hubapps-app");
    const name = card && card.querySelector(".hubapps-name");
    const app = { o: trigger.dataset.o, s: trigger.dataset.s, n: name ? name.textContent : trigger.dataset.s };
    const state = trigger.dataset.st;
    const children = [link("Open", "btn-primary", trigger.dataset.u), link("Details", "btn-outline-secondary", pagePath(app.o, app.s))];
    if (trigger.dataset.m === "1") {
      // A failed app (or one whose server does not answer) can be started again, or stopped.
      if (["stopped", "failed", "unknown"].includes(state)) {
        children.push(button("Start", ACTIONS.start.cls, () => perform("start", app, onDone)));
      }
      if (state !== "stopped") children.push(button("Stop", ACTIONS.stop.cls, () => confirmThen("stop", app, onDone)));
      if (state === "running" || state === "starting") {
        children.push(button("Restart", ACTIONS.restart.cls, () => confirmThen("restart", app, onDone)));
      }
      children.push(link("Edit", "btn-outline-secondary", `${pagePath(app.o, app.s)}/edit`));
      children.push(button("Delete", ACTIONS.delete.cls, () => confirmThen("delete", app, onDone)));
    }
    const d = openDialog(app.n, trigger.dataset.m === "1" ? "" : `Shared by ${app.o}`, children);
    if (d) d.dialog.addEventListener("close", () => trigger.focus(), { once: true });
  }

  // -- Hub home: the gallery fragment ---------------------------------------------------------------
  const GALLERY_RETRIES = 15;
  const TRANSITION_POLL_MS = Math.max(pollMs * 2, 1000);

  async function loadGallery(attempt = 0) {
    const slot = document.getElementById("hubapps-gallery-slot");
    const url = `${prefix}ui/gallery${window.location.search}`;
    let response = null;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    } catch (e) {
      response = null;
    }
    if (response === null || [502, 503, 504].includes(response.status)) {
      // The launcher may be starting with the Hub: try again for a little while.
      if (attempt < GALLERY_RETRIES) {
        window.setTimeout(() => loadGallery(attempt + 1), 1000);
        return;
      }
      slot.textContent = "The app launcher is not answering. Reload the page to try again.";
      slot.removeAttribute("aria-busy");
      return;
    }
    if (response.status === 401 || response.status === 403) {
      // Not logged in to the launcher yet: go through its (invisible) Hub login once, then come back.
      if (!window.sessionStorage.getItem(LOGIN_FLAG)) {
        window.sessionStorage.setItem(LOGIN_FLAG, "1");
        const next = window.location.pathname + window.location.search;
        window.location.replace(`${prefix}oauth_login?next=${enc(next)}`);
        return;
      }
      window.sessionStorage.removeItem(LOGIN_FLAG);
      slot.textContent = "You could not be logged in to the app launcher. ";
      slot.append(link("Try again", "btn btn-link p-0", window.location.href));
      slot.removeAttribute("aria-busy");
      return;
    }
    window.sessionStorage.removeItem(LOGIN_FLAG);
    if (!response.ok) {
      slot.textContent = `The app launcher answered ${response.status}. Reload the page to try again.`;
      slot.removeAttribute("aria-busy");
      return;
    }
    slot.innerHTML = await response.text(); // rendered by the service with autoescaping
    slot.removeAttribute("aria-busy");
    const gallery = document.getElementById("hubapps-gallery");
    if (gallery) {
      xsrf = gallery.dataset.xsrf || xsrf;
      prefix = gallery.dataset.prefix || prefix;
      bindGallery(gallery, () => loadGallery());
      followTransitions(gallery);
    }
  }

  // While an app starts or stops, its card is shown again until it has arrived (stopped, running,
  // failed): the fragment is fetched again, unless the person is busy in a dialog or the filters.
  let refreshTimer = 0;
  function followTransitions(gallery) {
    window.clearTimeout(refreshTimer);
    if (!gallery.querySelector('.hubapps-act[data-st="starting"], .hubapps-act[data-st="stopping"]')) return;
    const refresh = () => {
      const d = dialogParts();
      const busy = (d && d.dialog.open) || (document.activeElement && document.activeElement.closest("form.hubapps-filters"));
      if (busy || document.hidden) refreshTimer = window.setTimeout(refresh, TRANSITION_POLL_MS);
      else loadGallery();
    };
    refreshTimer = window.setTimeout(refresh, TRANSITION_POLL_MS);
  }

  function bindGallery(root, reload) {
    const form = root.querySelector("form.hubapps-filters");
    if (form) {
      form.querySelectorAll("select").forEach((select) =>
        select.addEventListener("change", () => form.requestSubmit()),
      );
    }
    root.querySelectorAll(".hubapps-act").forEach((trigger) =>
      trigger.addEventListener("click", () => actionMenu(trigger, reload)),
    );
  }

  // -- details page: actions, copy, live log ---------------------------------------------------------
  function bindDetails() {
    const detail = document.getElementById("app-detail");
    if (!detail) return;
    document.querySelectorAll(".hubapps-do").forEach((b) =>
      b.addEventListener("click", () =>
        confirmThen(b.dataset.do, { o: b.dataset.o, s: b.dataset.s, n: b.dataset.n }, () => {
          if (b.dataset.do === "delete") window.location.assign(document.body.dataset.appsHome);
          else window.location.reload();
        }),
      ),
    );
    const url = document.getElementById("app-url");
    if (url && !url.value) url.value = new URL(url.dataset.path, window.location.href).href;
    const copy = document.getElementById("copy-url");
    if (copy) {
      copy.addEventListener("click", async () => {
        const status = document.getElementById("copy-status");
        try {
          await navigator.clipboard.writeText(url.value);
          status.textContent = "Address copied.";
        } catch (e) {
          url.select();
          status.textContent = "Press Ctrl+C (⌘C) to copy the selected address.";
        }
      });
    }
    const log = document.getElementById("app-log");
    if (log && log.dataset.live === "1") followLog(log, detail.dataset.o, detail.dataset.s);
    bindLinks(detail.dataset.o, detail.dataset.s);
    if (["starting", "stopping"].includes(detail.dataset.st)) followState(detail);
  }

  // A page shown while the app starts or stops is shown again once it has arrived.
  function followState(detail) {
    const shown = detail.dataset.st;
    const tick = async () => {
      if (!document.hidden) {
        try {
          const app = await api("GET", appPath(detail.dataset.o, detail.dataset.s));
          if (app.state !== shown) {
            window.location.reload();
            return;
          }
        } catch (error) {
          if (error.status === 404) return;
        }
      }
      window.setTimeout(tick, Math.max(pollMs * 2, 1000));
    };
    window.setTimeout(tick, Math.max(pollMs * 2, 1000));
  }

  // Share links (JupyterHub share codes): create one (its address is shown once), copy, revoke.
  function bindLinks(owner, server) {
    const section = document.getElementById("share-links");
    if (!section) return;
    const path = `${appPath(owner, server)}/share-links`;
    const status = document.getElementById("link-status");
    const table = document.getElementById("link-table");
    const list = document.getElementById("link-list");
    const none = document.getElementById("link-none");
    const all = document.getElementById("link-revoke-all");
    const say = (text) => (status.textContent = text);
    // As the page shows them (the when filter of rendering.py): "2026-01-31 14:05 UTC".
    const when = (iso, none) => (iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : none);

    const revoke = async (id) => {
      try {
        await api("DELETE", id ? `${path}?id=${enc(id)}` : path);
        await refresh();
        say(id ? "The link was revoked." : "Every link was revoked.");
      } catch (error) {
        say(error.message);
      }
    };
    const cell = (row, text) => {
      const td = document.createElement("td");
      td.textContent = text;
      row.append(td);
    };
    async function refresh() {
      const links = await api("GET", path);
      list.replaceChildren();
      for (const l of links) {
        const row = document.createElement("tr");
        row.dataset.id = l.id;
        cell(row, when(l.created_at, ""));
        cell(row, when(l.expires_at, "never"));
        cell(row, String(l.exchange_count));
        const td = document.createElement("td");
        td.className = "text-end";
        td.append(button("Revoke", "btn-sm btn-outline-danger link-revoke", () => revoke(l.id)));
        row.append(td);
        list.append(row);
      }
      table.hidden = !links.length;
      none.hidden = links.length > 0;
      all.hidden = !links.length;
    }

    list.querySelectorAll(".link-revoke").forEach((b) => b.addEventListener("click", () => revoke(b.dataset.id)));
    all.addEventListener("click", () => revoke(""));
    const create = document.getElementById("link-create");
    if (!create) return;
    const url = document.getElementById("link-url");
    create.addEventListener("click", async () => {
      create.disabled = true;
      try {
        const expires = Number(document.getElementById("link-expires").value);
        const link = await api("POST", path, { expires_in: expires });
        await refresh();
        url.value = new URL(link.accept_url, window.location.href).href;
        document.getElementById("link-new").hidden = false;
        url.select();
        say("Link created. Copy it now: its address is not shown again.");
      } catch (error) {
        say(error.message);
      } finally {
        create.disabled = false;
      }
    });
    document.getElementById("link-copy").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(url.value);
        say("Link copied.");
      } catch (e) {
        url.select();
        say("Press Ctrl+C (⌘C) to copy the selected link.");
      }
    });
  }

  function followLog(pre, owner, server) {
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try {
          const data = await api("GET", `${appPath(owner, server)}/logs?lines=200`);
          const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
          pre.textContent = data.lines.length ? data.lines.join("\n") : "(no output yet)";
          if (atEnd) pre.scrollTop = pre.scrollHeight;
        } catch (error) {
          pre.textContent = error.message;
          if (error.status === 409 || error.status === 404) stopped = true;
        }
      }
      window.setTimeout(tick, Math.max(pollMs * 2, 1000));
    };
    tick();
  }

  // -- start progress ------------------------------------------------------------------------------
  function bindWatch() {
    const root = document.getElementById("watch");
    if (!root) return;
    const o = root.dataset.o;
    const s = root.dataset.s;
    const el = (id) => document.getElementById(id);
    let seenStarting = false;
    let done = false;
    let misses = 0;
    // After a form restarted the app (?restart=<when the old run started>, or 1 if unknown), the old
    // run may still answer "running" (the Hub stops it in the background, and a cached answer can lag):
    // it is not opened; the page waits for the new run, for as long as a restart may take.
    const restartFrom = new URLSearchParams(window.location.search).get("restart");
    const restartUntil = Date.now() + 1000 * Number(root.dataset.restartTimeout || 120);
    let seenDown = false;
    const oldRun = (status) => {
      if (!restartFrom || status.state !== "running") return false;
      if (status.started && restartFrom !== "1") return status.started === restartFrom;
      return !seenDown && !seenStarting;
    };
    let stoppedPolls = 0;

    const setProgress = (value) => {
      el("watch-bar").style.width = `${value}%`;
      el("watch-progress").setAttribute("aria-valuenow", String(value));
    };
    const fail = (reason, lines) => {
      done = true;
      el("watch-verb").textContent = "Could not start";
      el("watch-status").textContent = "The app stopped before it was ready.";
      el("watch-reason").textContent = reason || "The app exited. Its last output is below.";
      el("watch-failed").classList.remove("d-none");
      if (lines && lines.length) el("watch-log").textContent = lines.join("\n");
      const start = el("watch-start");
      if (start) start.classList.remove("d-none");
      el("watch-failed").focus();
    };
    const start = async () => {
      el("watch-failed").classList.add("d-none");
      el("watch-verb").textContent = "Starting";
      const b = el("watch-start");
      if (b) b.classList.add("d-none");
      done = false;
      seenStarting = false;
      try {
        await api("POST", `${appPath(o, s)}/start`);
        seenStarting = true;
      } catch (error) {
        el("watch-status").textContent = error.message;
        if (error.status === 403 || error.status === 429) {
          // Not allowed, or not yet (a viewer's start): say so, and offer the button again.
          done = true;
          el("watch-verb").textContent = "Not running:";
          if (b) b.classList.remove("d-none");
          return;
        }
      }
      poll();
    };
    const poll = async () => {
      if (done) return;
      let status;
      try {
        status = await api("GET", `${appPath(o, s)}/status`);
        misses = 0;
      } catch (error) {
        misses += 1;
        el("watch-status").textContent = error.message;
        if (misses < 30) window.setTimeout(poll, pollMs);
        return;
      }
      const down = !seenStarting && (status.state === "stopping" || status.state === "stopped");
      if (restartFrom && Date.now() < restartUntil && (oldRun(status) || down)) {
        if (status.state !== "running") seenDown = true;
        el("watch-verb").textContent = "Restarting";
        el("watch-status").textContent =
          status.state === "stopped" ? "The old version stopped; starting the new one…" : "Stopping the old version…";
        setProgress(5);
        window.setTimeout(poll, pollMs);
        return;
      }
      if (status.log_tail && status.log_tail.length) el("watch-log").textContent = status.log_tail.join("\n");
      if (status.state !== "stopped") stoppedPolls = 0;
      if (status.state === "failed") {
        seenStarting = true;
        fail(status.reason, status.log_tail);
        return;
      }
      if (status.state === "starting" && status.app_state) {
        // The Hub runs the server, the app is not answering yet (or restarts after a crash).
        seenStarting = true;
        setProgress(95);
        const secs = status.elapsed ? ` (${Math.round(status.elapsed)} s)` : "";
        el("watch-status").textContent = status.reason || `The app is starting${secs}: waiting for it to answer…`;
      } else if (status.state === "starting") {
        seenStarting = true;
        setProgress(Math.min(status.progress || 10, 90));
        el("watch-status").textContent = status.message || "The Hub is starting the app…";
      } else if (status.state === "running") {
        done = true;
        setProgress(100);
        el("watch-verb").textContent = "Opening";
        el("watch-status").textContent = "The app is ready. Opening it…";
        el("watch-open").classList.remove("d-none");
        window.location.assign(root.dataset.u);
        return;
      } else if (status.state === "stopped") {
        // Starting a failed app stops its server first: stopped for a moment is not a failure.
        stoppedPolls = seenStarting ? stoppedPolls + 1 : 0;
        if (seenStarting && stoppedPolls < 3) {
          window.setTimeout(poll, pollMs);
          return;
        }
        if (seenStarting) {
          fail(status.reason || status.message, status.log_tail);
          return;
        }
        done = true;
        el("watch-verb").textContent = "Not running:";
        el("watch-status").textContent = "The app is stopped.";
        const b = el("watch-start");
        if (b) b.classList.remove("d-none");
        return;
      } else {
        el("watch-status").textContent = status.reason || `The app is ${status.state}…`;
      }
      window.setTimeout(poll, pollMs);
    };
    const b = el("watch-start");
    if (b) b.addEventListener("click", start);
    // Opening this page never starts anything: only the Start button (a POST with the XSRF token) does.
    poll();
  }

  // -- deploy / edit form ----------------------------------------------------------------------------
  function bindForm() {
    const form = document.getElementById("app-form");
    if (!form) return;
    const framework = document.getElementById("framework");
    const toggle = () => {
      const git = document.getElementById("source-git").checked;
      form.querySelectorAll(".hubapps-git").forEach((n) => (n.hidden = !git));
      const option = framework.selectedOptions[0];
      const needsFile = !option || option.dataset.needsFile === "1";
      form.querySelectorAll(".hubapps-command").forEach((n) => (n.hidden = needsFile && !document.getElementById("command").value));
      // The owner's files offered for the file field: those the chosen framework runs.
      const suffixes = ((option && option.dataset.suffixes) || "").split(" ").filter(Boolean);
      form.querySelectorAll("#hubapps-files option").forEach((o) => {
        o.disabled = suffixes.length > 0 && !suffixes.some((x) => o.value.endsWith(x));
      });
      // The chosen framework's logo and help (textContent: the help is data, never markup).
      const help = document.getElementById("framework-help");
      if (help && option) {
        const logo = help.querySelector("img");
        if (logo) logo.src = option.dataset.logo || "";
        const text = help.querySelector(".hubapps-fw-help");
        if (text) text.textContent = option.dataset.help || "";
        if (text && option.dataset.unavailable) text.textContent += " Not available on this Hub: " + option.dataset.unavailable + ".";
      }
    };
    form.querySelectorAll("input[name=source]").forEach((r) => r.addEventListener("change", toggle));
    framework.addEventListener("change", toggle);
    toggle();
    const rows = document.getElementById("env_rows");
    document.getElementById("env-add").addEventListener("click", () => {
      const list = document.getElementById("env-list");
      const template = list.querySelector(".hubapps-env-row:last-child");
      const index = Number(rows.value);
      const row = template.cloneNode(true);
      row.querySelectorAll("input,label").forEach((node) => {
        for (const attr of ["id", "name", "for"]) {
          const value = node.getAttribute(attr);
          if (value) node.setAttribute(attr, value.replace(/_\d+$/, `_${index}`));
        }
        if (node.type === "hidden") node.remove();
        else if (node.type === "checkbox") node.checked = false;
        else if (node.tagName === "INPUT") {
          node.value = "";
          if (node.name.startsWith("env_value_")) {
            node.type = "text";
            node.placeholder = "value";
          }
        }
      });
      list.append(row);
      rows.value = String(index + 1);
      row.querySelector("input").focus();
    });
    const file = document.getElementById("thumbnail");
    const note = document.getElementById("thumbnail-note");
    const submit = document.getElementById("submit");
    const max = Number(form.dataset.maxBytes);
    const kib = (n) => `${Math.round(n / 1024)} KiB`;
    // A photo larger than the service takes is scaled down here, in the browser, to a few times the
    // thumbnail's box (the service still refuses anything over its byte and pixel limits).
    const maxPixels = Number(form.dataset.maxPixels || 0);
    const shrink = async (chosen, bitmap) => {
      const boxW = 2 * Number(form.dataset.thumbWidth || 480);
      const boxH = 2 * Number(form.dataset.thumbHeight || 320);
      for (const scale of [1, 0.75, 0.5, 0.35]) {
        const ratio = Math.min(1, (boxW * scale) / bitmap.width, (boxH * scale) / bitmap.height);
        const canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(bitmap.width * ratio));
        canvas.height = Math.max(1, Math.round(bitmap.height * ratio));
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        for (const type of ["image/webp", "image/jpeg"]) {
          const blob = await new Promise((resolve) => canvas.toBlob(resolve, type, 0.85));
          if (blob && blob.type === type && blob.size <= max) {
            const name = chosen.name.replace(/\.[^.]*$/, "") + (type === "image/webp" ? ".webp" : ".jpg");
            return new File([blob], name, { type });
          }
        }
      }
      throw new Error("still too large");
    };
    file.addEventListener("change", async () => {
      // A newly chosen file replaces the image a refused form carried back (the body stays small).
      const carried = form.querySelector("input[name=thumbnail_data]");
      if (carried) carried.value = "";
      const chosen = file.files[0];
      file.setCustomValidity("");
      note.textContent = "";
      if (!chosen) return;
      let bitmap = null;
      try {
        bitmap = await createImageBitmap(chosen);
      } catch (error) {
        return; // not an image this browser reads: the launcher says what is wrong with it
      }
      if (chosen.size <= max && (!maxPixels || bitmap.width * bitmap.height <= maxPixels)) return;
      submit.disabled = true;
      note.textContent = `Scaling the image down (${kib(chosen.size)}, ${bitmap.width}×${bitmap.height})…`;
      try {
        const smaller = await shrink(chosen, bitmap);
        const list = new DataTransfer();
        list.items.add(smaller);
        file.files = list.files;
        note.textContent = `Scaled down from ${kib(chosen.size)} to ${kib(smaller.size)}; it is stored smaller still.`;
      } catch (error) {
        note.textContent = "";
        file.setCustomValidity(`The image is too large (at most ${Math.floor(max / 1024)} KiB and ${maxPixels} pixels) and this browser could not scale it down: choose a smaller one.`);
        file.reportValidity();
      } finally {
        submit.disabled = false;
      }
    });
    form.addEventListener("submit", (event) => {
      if (!file.checkValidity()) {
        event.preventDefault();
        file.reportValidity();
        return;
      }
      document.getElementById("submit").disabled = true;
    });
    const errors = document.getElementById("form-errors");
    if (errors) {
      const first = form.querySelector("[aria-invalid=true]");
      (first || errors).focus();
    }
  }

  function init() {
    if (home) loadGallery();
    bindDetails();
    bindWatch();
    bindForm();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
