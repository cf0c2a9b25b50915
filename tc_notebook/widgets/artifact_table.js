// The artifact table (ArtifactTable, artifact_table.py): one row per artifact,
// its name a link that opens a new tab, and preview / download buttons that
// ask the kernel. A private artifact's link is signed by the kernel at the
// click (the `_sign` command), never before. Links to a sandbox on the
// kernel's loopback go through the Jupyter server where only that works
// (reach.js, prepended).

const SIGN_TIMEOUT_MS = 60000; // a busy kernel may take a while to answer

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = text;
  return element;
}

// Download `url` as `basename`; if the browser will not, a new tab, never this one.
function save(url, basename) {
  const anchor = node("a");
  anchor.href = url;
  anchor.download = basename;
  anchor.target = "_blank";
  anchor.rel = "noopener";
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

// Open a tab now, while the click's user gesture lasts: a tab opened later,
// when the kernel answers, would meet the popup blocker.
function openPlaceholder(name) {
  const win = window.open("", "_blank");
  if (win) {
    try {
      win.opener = null;
      win.document.title = name;
      win.document.body.textContent = "Signing " + name + "…";
    } catch (error) {
      /* not ours to write into: the location is still set later */
    }
  }
  return win;
}

function render({ model, el, experimental }) {
  const root = node("div", "tc-artifacts");
  el.appendChild(root);

  // A click on a private artifact's link: "open" shows it in a new tab, "save" downloads it.
  function signOnClick(row, link, mode) {
    return async (event) => {
      event.preventDefault();
      const win = mode === "open" ? openPlaceholder(row.name) : null;
      link.classList.add("tc-signing");
      let reply;
      try {
        [reply] = await experimental.invoke(
          "_sign",
          { name: row.name, runId: row.runId },
          { signal: AbortSignal.timeout(SIGN_TIMEOUT_MS) }
        );
      } catch (error) {
        reply = { error: "the kernel did not answer: " + error };
      }
      link.classList.remove("tc-signing");
      if (reply.url) {
        const url = new URL(await reachableUrl(reply.url), document.baseURI).href;
        if (mode === "save") save(url, row.basename);
        else if (win && !win.closed) win.location.href = url;
        else window.open(url, "_blank");
      } else {
        if (win && !win.closed) win.close();
        link.title = reply.error || "could not sign this link";
        link.classList.add("tc-failed");
      }
    };
  }

  function action(label, title, type, row) {
    const button = node("button", "tc-action tc-" + type, label);
    button.title = title;
    button.addEventListener("click", () => model.send({ type, name: row.name }));
    return button;
  }

  function drawRow(row) {
    const tr = node("tr", "tc-artifact tc-kind-" + row.kind);
    const icon = node("td", "tc-icon", row.icon);
    icon.title = row.kind;
    const name = node("td", "tc-name");
    const actions = node("td", "tc-actions");
    if (row.error) {
      name.append(node("span", "tc-plain", row.name), node("span", "tc-error", row.error));
    } else {
      // Like the Taskcluster UI: the name opens the artifact in a new tab.
      const link = node("a", "tc-link", row.name);
      link.target = "_blank";
      link.rel = "noopener";
      if (row.href) {
        link.href = row.href;
      } else {
        link.href = "#";
        link.title = "private: the kernel signs a 15-minute link when you click";
        link.addEventListener("click", signOnClick(row, link, "open"));
        name.append(node("span", "tc-lock", "🔒"));
      }
      name.append(link);
      if (row.previewable) {
        const title = "show the start of " + row.name + " below the list";
        actions.append(action("preview", title, "preview", row));
      }
      actions.append(
        action("download", "save " + row.basename + " on the kernel's machine", "download", row)
      );
    }
    tr.append(
      icon,
      name,
      node("td", "tc-size", row.size),
      node("td", "tc-type", row.contentType),
      actions
    );
    return tr;
  }

  function drawNotice(notice) {
    const box = node("div", "tc-notice tc-tone-" + (notice.tone || "info"));
    box.append(node("span", "tc-notice-text", notice.text));
    if (notice.path) box.append(" ", node("code", "tc-path", notice.path));
    if (notice.offer) {
      const link = node("a", "tc-save", "download it in your browser too");
      link.title = "save " + notice.basename + " on this computer";
      if (notice.href) {
        link.href = notice.href;
        link.download = notice.basename;
        link.target = "_blank";
        link.rel = "noopener";
      } else {
        const row = { name: notice.name, runId: notice.runId, basename: notice.basename };
        link.href = "#";
        link.addEventListener("click", signOnClick(row, link, "save"));
      }
      box.append(" · ", link);
    }
    return box;
  }

  function draw() {
    root.replaceChildren();
    const message = model.get("message");
    if (message) root.append(node("div", "tc-artifacts-message", message));
    const rows = model.get("rows") || [];
    const limit = model.get("limit");
    const expanded = model.get("expanded");
    const shown = expanded || rows.length <= limit ? rows : rows.slice(0, limit);
    if (shown.length) {
      const table = node("table", "tc-artifacts-table");
      for (const row of shown) table.append(drawRow(row));
      root.append(table);
    }
    if (rows.length > limit) {
      const label = expanded ? "show fewer" : "show all (" + rows.length + ")";
      const toggle = node("button", "tc-artifacts-toggle", label);
      toggle.addEventListener("click", () => {
        model.set("expanded", !model.get("expanded"));
        model.save_changes();
      });
      root.append(toggle);
    }
    const notice = model.get("notice") || {};
    if (notice.text) root.append(drawNotice(notice));
    reachLinks(root);
  }

  const events = ["rows", "limit", "expanded", "message", "notice"].map((n) => "change:" + n);
  for (const event of events) model.on(event, draw);
  draw();
  // On the page, even inside another widget's box: the kernel lists, if it has not yet.
  model.send({ type: "shown" });
  return () => {
    for (const event of events) model.off(event, draw);
  };
}

export default { render };
