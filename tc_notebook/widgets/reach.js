// Links the browser can follow, wherever the page is (prepended to the views
// of ShownHTML and ArtifactTable). The kernel hands out a queue's own URLs.
// When that queue is on the kernel's loopback (an embedded sandbox), a browser
// on another machine (Binder) cannot reach it directly, but the Jupyter server
// may relay it (jupyter-server-proxy: <base>proxy/<port>/...). Whether it does
// is asked once per port, with the queue's ping through that path (once more
// a little later after a "no": the server may have been busy). A page with no
// Jupyter server behind it (standalone Voilà, a static copy), or a server
// without the proxy, keeps the direct URL.

const LOOPBACK_URL = /^https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)(\/.*)?$/;
const PROBE_TIMEOUT_MS = 10000;
const ASK_AGAIN_MS = 15000; // after a "no": the server may have been busy, or the queue starting
// One answer per port for the whole page, shared by every view.
const proxyProbes = (globalThis.__tcNotebookProxyProbes ??= new Map());

// The Jupyter server's base URL ("/", "/user/name/"), from its page config; null without one.
function jupyterBaseUrl() {
  const config = document.getElementById("jupyter-config-data");
  if (!config) return null;
  try {
    const base = JSON.parse(config.textContent || "{}").baseUrl;
    return typeof base === "string" && base.startsWith("/") ? base.replace(/\/?$/, "/") : null;
  } catch (error) {
    return null;
  }
}

// `<base>proxy/<port>` if the Jupyter server relays that port to a queue that answers, else null.
function proxyFor(port) {
  const base = jupyterBaseUrl();
  if (base === null || !location.protocol.startsWith("http")) return Promise.resolve(null);
  const prefix = base + "proxy/" + port;
  if (!proxyProbes.has(prefix)) {
    const probe = fetch(prefix + "/api/queue/v1/ping", {
      credentials: "same-origin",
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
      .then((reply) => (reply.ok ? reply.json() : null))
      .then((answer) => (answer && answer.alive === true ? prefix : null))
      .catch(() => null);
    proxyProbes.set(prefix, probe);
    probe.then((found) => {
      if (found === null) setTimeout(() => proxyProbes.delete(prefix), ASK_AGAIN_MS);
    });
  }
  return proxyProbes.get(prefix);
}

// `url`, or the same place through the Jupyter server when only that way works.
async function reachableUrl(url) {
  const parts = LOOPBACK_URL.exec(url);
  if (!parts) return url;
  const prefix = await proxyFor(parts[1]);
  return prefix === null ? url : prefix + (parts[2] || "/");
}

// Rewrite the loopback links inside `root`, and the URLs shown as their text;
// a link the server did not relay is asked about once more, a little later.
function reachLinks(root) {
  for (const anchor of root.querySelectorAll("a[href]")) {
    const direct = anchor.getAttribute("href");
    if (LOOPBACK_URL.test(direct)) reachLink(anchor, direct, 1);
  }
  for (const shown of root.querySelectorAll("[data-tc-url]")) {
    const direct = shown.getAttribute("data-tc-url");
    reachableUrl(direct).then((url) => {
      if (shown.getAttribute("data-tc-url") === direct) shown.textContent = url;
    });
  }
}

function reachLink(anchor, direct, retries) {
  reachableUrl(direct).then((url) => {
    if (anchor.getAttribute("href") !== direct) return;
    if (url === direct) {
      if (retries > 0) setTimeout(() => reachLink(anchor, direct, retries - 1), ASK_AGAIN_MS);
      return;
    }
    anchor.setAttribute("href", url);
    if (anchor.title === direct) anchor.title = url;
    if (anchor.textContent === direct) anchor.textContent = url;
  });
}
