// The Altostratus run viewer: sign-in, the runs list, a run's page and a browser session's page, drawn from the
// viewer's own JSON calls. Everything is built with DOM calls (never from HTML strings), so
// what a run recorded is always shown as text.
"use strict";

(function () {
  const body = document.body;
  const BASE = body.dataset.base || "";
  const PAGE = body.dataset.page;
  const main = document.getElementById("main");
  const live = document.getElementById("status-live");
  const TERMINAL = new Set(["completed", "failed", "terminated", "timed_out", "canceled"]);
  const STATUSES = ["created", "queued", "running", "completed", "failed", "terminated", "timed_out", "canceled"];
  const POLL_MS = 1500;

  // -- helpers --

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function csrfToken() {
    for (const part of document.cookie.split(";")) {
      const [name, ...rest] = part.trim().split("=");
      if (name === "__Host-alto_csrf" || name === "alto_csrf") return rest.join("=");
    }
    return "";
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(method, path, payload) {
    const headers = { "x-alto-csrf": csrfToken(), accept: "application/json" };
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const reply = await fetch(BASE + path, init);
    let data = null;
    try {
      data = await reply.json();
    } catch (_) {
      data = null;
    }
    if (!reply.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : `The server answered ${reply.status}.`;
      if (reply.status === 403 && PAGE !== "signin") {
        location.assign(`${BASE}/signin?next=${encodeURIComponent(location.pathname.slice(BASE.length))}`);
      }
      throw new ApiError(reply.status, detail);
    }
    return data;
  }

  function when(value) {
    if (!value) return "—";
    const date = new Date(value.endsWith("Z") ? value : value + "Z");
    if (Number.isNaN(date.getTime())) return value;
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function seconds(value) {
    if (value === null || value === undefined) return "—";
    if (value < 60) return `${value.toFixed(1)} s`;
    const minutes = Math.floor(value / 60);
    return `${minutes} min ${Math.round(value % 60)} s`;
  }

  function between(start, end) {
    if (!start) return null;
    const from = new Date(start + "Z").getTime();
    const to = end ? new Date(end + "Z").getTime() : Date.now();
    return Math.max(0, (to - from) / 1000);
  }

  function dollars(value) {
    return `$${Number(value || 0).toFixed(4)}`;
  }

  function badge(status) {
    return el("span", { class: `badge status-${status}`, text: status.replace("_", " ") });
  }

  function json(value) {
    return el("pre", { class: "json", tabindex: "0" }, JSON.stringify(value, null, 2));
  }

  // The one renderer of every list the viewer draws as a table (the runs, a session's runs, a
  // run's webhook deliveries). A column is its heading, its cell's content from an item, and
  // whether the cell is labelled on narrow screens (where the heading row is hidden).
  function listTable(className, caption, columns, items, rowAttrs) {
    return el(
      "table",
      { class: className },
      el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: c.head })))),
      el(
        "tbody",
        {},
        items.map((item) =>
          el(
            "tr",
            rowAttrs ? rowAttrs(item) : {},
            columns.map((c) => el("td", { class: c.cls, "data-label": c.labelled ? c.head : null }, c.cell(item))),
          ),
        ),
      ),
    );
  }

  // The columns a list of runs starts with: its status, and a link to it under its title.
  function runColumns() {
    return [
      { head: "Status", cell: (run) => badge(run.status) },
      {
        head: "Run",
        cls: "run-cell",
        cell: (run) => [
          el("a", { href: `${BASE}/runs/${encodeURIComponent(run.run_id)}`, text: run.title || run.prompt || run.run_id }),
          run.title && run.prompt ? el("span", { class: "prompt", text: run.prompt }) : null,
          el("span", { class: "run-id", text: run.run_id }),
        ],
      },
    ];
  }

  // A list of stored files (downloads, recordings), each a link to its bytes; `href` may swap a
  // file's signed link for the first one seen of it, so a redraw does not refetch.
  function fileList(files, empty, what, href) {
    if (!files.length) return el("p", { class: "empty", text: empty });
    return el(
      "ul",
      {},
      files.map((f) =>
        el(
          "li",
          {},
          el("a", { href: href ? href(f) : f.url, download: f.filename || "", class: what, text: f.filename || f.artifact_id || "file" }),
          f.file_size !== null && f.file_size !== undefined ? ` (${f.file_size} bytes)` : "",
          f.modified_at ? ` — ${when(f.modified_at)}` : "",
        ),
      ),
    );
  }

  function runRow(run) {
    return { "data-run-id": run.run_id };
  }

  function fill(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  }

  function announce(text) {
    live.textContent = text;
  }

  function safeNext(value) {
    return value && /^\/(runs(\/[A-Za-z0-9_.-]+)?|browser-session\/[A-Za-z0-9_.-]+)$/.test(value) ? value : "/runs";
  }

  async function showAccount() {
    try {
      const who = await api("GET", "/viewer/api/session");
      document.getElementById("who").textContent = `Organization ${who.org_id}`;
      document.getElementById("account").hidden = false;
    } catch (_) {
      /* redirected to sign-in */
    }
  }

  document.getElementById("signout").addEventListener("click", async () => {
    try {
      await api("DELETE", "/viewer/api/session");
    } finally {
      location.assign(`${BASE}/signin`);
    }
  });

  // -- sign-in --

  function signinPage() {
    document.title = "Sign in — Altostratus";
    const error = el("p", { class: "error", role: "alert", id: "signin-error" });
    const input = el("input", {
      id: "api-key",
      name: "api_key",
      type: "password",
      autocomplete: "current-password",
      required: true,
      spellcheck: "false",
      "aria-describedby": "api-key-help signin-error",
    });
    const form = el(
      "form",
      { class: "card signin", method: "post", action: "#", "aria-labelledby": "signin-title" },
      el("h1", { id: "signin-title", text: "Sign in to the run viewer" }),
      el("label", { for: "api-key", text: "API key" }),
      input,
      el("p", {
        id: "api-key-help",
        class: "help",
        text: "A key from `alto keys create`. It is exchanged for a session cookie and never stored in this page.",
      }),
      el("button", { type: "submit", class: "primary", text: "Sign in" }),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const key = input.value;
      input.value = "";
      try {
        await api("POST", "/viewer/api/session", { api_key: key });
        location.assign(BASE + safeNext(new URLSearchParams(location.search).get("next")));
      } catch (exc) {
        error.textContent = exc.message;
        input.focus();
      }
    });
    fill(main, form);
    input.focus();
  }

  // -- the runs list --

  function runsPage() {
    document.title = "Runs — Altostratus";
    showAccount();
    const params = new URLSearchParams(location.search);
    const state = {
      status: params.get("status") || "",
      search: params.get("search") || "",
      pageSize: params.get("page_size") || "",
      cursors: [null],
    };

    const statusSelect = el(
      "select",
      { id: "filter-status", name: "status" },
      el("option", { value: "", text: "Any status" }),
      STATUSES.map((s) => el("option", { value: s, selected: s === state.status, text: s.replace("_", " ") })),
    );
    const searchInput = el("input", {
      id: "filter-search",
      name: "search",
      type: "search",
      value: state.search,
      placeholder: "Run id, or the start of a title or prompt",
    });
    const filters = el(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter runs" },
      el("div", {}, el("label", { for: "filter-status", text: "Status" }), statusSelect),
      el("div", { class: "grow" }, el("label", { for: "filter-search", text: "Search" }), searchInput),
      el("button", { type: "submit", text: "Apply" }),
    );
    const tableWrap = el("div", { class: "table-wrap" });
    const empty = el("p", { class: "empty", hidden: true, text: "No runs match." });
    const prev = el("button", { type: "button", id: "page-prev", text: "Previous page", disabled: true });
    const next = el("button", { type: "button", id: "page-next", text: "Next page", disabled: true });
    const pager = el("nav", { class: "pager", "aria-label": "Pages of runs" }, prev, next);
    const error = el("p", { class: "error", role: "alert" });
    fill(main, 
      el("h1", { text: "Runs" }),
      filters,
      error,
      tableWrap,
      empty,
      pager,
    );

    let timer = null;

    async function load() {
      clearTimeout(timer);
      const query = new URLSearchParams();
      if (state.status) query.append("status", state.status);
      if (state.search) query.set("search", state.search);
      if (state.pageSize) query.set("page_size", state.pageSize);
      const cursor = state.cursors[state.cursors.length - 1];
      if (cursor) query.set("cursor", cursor);
      let page;
      try {
        page = await api("GET", `/viewer/api/runs?${query}`);
        error.textContent = "";
      } catch (exc) {
        error.textContent = exc.message;
        return;
      }
      drawTable(page.runs);
      empty.hidden = page.runs.length > 0;
      prev.disabled = state.cursors.length <= 1;
      next.disabled = !page.next_cursor;
      next.dataset.cursor = page.next_cursor || "";
      if (page.runs.some((r) => !TERMINAL.has(r.status))) timer = setTimeout(load, POLL_MS * 2);
    }

    const columns = [
      ...runColumns(),
      { head: "Engine", labelled: true, cell: (run) => run.engine || "—" },
      { head: "Steps", labelled: true, cell: (run) => run.step_count },
      { head: "Duration", labelled: true, cell: (run) => seconds(run.duration_s ?? between(run.started_at, run.finished_at)) },
      { head: "Cost", labelled: true, cell: (run) => dollars(run.cost_usd) },
      { head: "Created", labelled: true, cell: (run) => when(run.created_at) },
    ];

    function drawTable(runs) {
      fill(tableWrap, listTable("runs", "Runs, newest first", columns, runs, runRow));
    }

    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      state.status = statusSelect.value;
      state.search = searchInput.value.trim();
      state.cursors = [null];
      const query = new URLSearchParams();
      if (state.status) query.set("status", state.status);
      if (state.search) query.set("search", state.search);
      if (state.pageSize) query.set("page_size", state.pageSize);
      history.replaceState(null, "", `${location.pathname}${query.toString() ? "?" + query : ""}`);
      load();
    });
    next.addEventListener("click", () => {
      if (!next.dataset.cursor) return;
      state.cursors.push(next.dataset.cursor);
      load();
    });
    prev.addEventListener("click", () => {
      if (state.cursors.length > 1) state.cursors.pop();
      load();
    });
    load();
  }

  // -- one run --

  function runPage() {
    const runId = decodeURIComponent(location.pathname.slice(BASE.length).split("/")[2] || "");
    showAccount();
    const links = new Map(); // artifact id -> the first signed link seen, so images are not refetched
    let video = null;
    let lastVersion = null;
    let lastStatus = null;
    let afterTerminal = 3; // a few more looks once finished, for the webhook's outcome
    const dialog = el("dialog", { class: "zoom", "aria-label": "Enlarged screenshot" });
    const zoomImg = el("img", { alt: "" });
    dialog.append(
      el("form", { method: "dialog" }, el("button", { type: "submit", class: "close", text: "Close" })),
      zoomImg,
    );
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    const actions = el("div", { class: "actions" });
    const notice = el("p", { class: "notice", role: "alert" });
    const heading = el("h1", { id: "run-title", text: runId });
    const statusLine = el("p", { class: "status-line" });
    const sections = el("div", { class: "sections" });
    fill(main, 
      el("nav", { "aria-label": "Breadcrumb", class: "crumbs" }, el("a", { href: `${BASE}/runs`, text: "All runs" })),
      heading,
      statusLine,
      actions,
      notice,
      sections,
      dialog,
    );

    function link(id, fallback) {
      if (!id) return fallback;
      if (!links.has(id) && fallback) links.set(id, fallback);
      return links.get(id);
    }

    // Screenshot buttons are kept across redraws, so a redraw neither refetches nor flickers.
    const shotNodes = new Map();
    function screenshot(id, url, label, where) {
      const src = link(id, url);
      if (!src) return null;
      const key = `${where}:${id}`;
      if (shotNodes.has(key)) return shotNodes.get(key);
      const img = el("img", { src, alt: label, class: "shot" });
      const node = el(
        "button",
        {
          type: "button",
          class: "thumb",
          id: `shot-${where}-${id}`,
          "aria-label": `Enlarge: ${label}`,
          onclick: () => {
            zoomImg.src = src;
            zoomImg.alt = label;
            dialog.showModal();
          },
        },
        img,
      );
      shotNodes.set(key, node);
      return node;
    }

    function section(id, title, ...content) {
      return el(
        "section",
        { "aria-labelledby": `${id}-h`, id },
        el("h2", { id: `${id}-h`, text: title }),
        ...content,
      );
    }

    function summary(detail) {
      const run = detail.run;
      const usage = detail.usage;
      const rows = [
        ["Status", badge(run.status)],
        ["Run id", run.run_id],
        ["Engine", detail.engine || "—"],
        ["Steps", String(run.step_count ?? 0)],
        ["Created", when(run.created_at)],
        ["Started", when(run.started_at)],
        ["Finished", when(run.finished_at)],
        ["Duration", seconds(between(run.started_at, run.finished_at))],
        ["Cost", dollars(usage.cost_usd)],
        ["Model calls", String(usage.llm_calls)],
        ["Input tokens", `${usage.input_tokens} (${usage.cached_input_tokens} cached, ${usage.cache_write_tokens} written to cache)`],
        ["Output tokens", String(usage.output_tokens)],
      ];
      if (run.workflow_permanent_id) {
        rows.push(["Workflow", el("code", { class: "workflow-id", text: run.workflow_permanent_id })]);
      }
      if (run.script_run) {
        const took = detail.script_fallback;
        const after = took && took.steps_done ? ` after step ${took.steps_done}` : " from the first step";
        const fallback = run.script_run.ai_fallback_triggered ? `; the agent took over${took ? after : ""}${took && took.reason ? ` (${took.reason})` : ""}` : "";
        rows.push(["Runs as", `code: script ${run.script_run.script_id}, revision ${run.script_run.script_revision_id}${fallback}`]);
      }
      return el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
    }

    function step(entry, detail) {
      const block = entry.block;
      const shots = (block.screenshot_artifact_ids || []).map((id, i) =>
        screenshot(id, detail.artifacts[id] && detail.artifacts[id].signed_url, `${block.label}, screenshot ${i + 1}`, "step"),
      );
      const acts = (block.actions || []).map((action) => {
        const effect = detail.effects[`${action.step_id}#${action.action_order}`];
        return el(
          "li",
          { class: "action" },
          el(
            "p",
            { class: "action-head" },
            el("strong", { text: action.action_type }),
            " ",
            el("span", { class: `badge status-${action.status}`, text: action.status }),
            action.created_by === "script" ? el("span", { class: "badge created-by-script", text: "code", title: "Replayed from the workflow's script, not chosen by the model" }) : null,
            action.text ? el("span", { class: "action-text", text: ` “${action.text}”` }) : null,
          ),
          action.reasoning ? el("p", { class: "reasoning" }, el("span", { class: "label", text: "Reasoning: " }), action.reasoning) : null,
          action.intention ? el("p", { class: "intention" }, el("span", { class: "label", text: "Intention: " }), action.intention) : null,
          effect
            ? el(
                "div",
                { class: "effect" },
                el("p", {}, el("span", { class: "label", text: "Effect: " }), effect.summary),
                effect.error ? el("p", { class: "error-text", text: effect.error }) : null,
                Object.keys(effect.effect || {}).length ? el("details", {}, el("summary", { text: "Effect report" }), json(effect.effect)) : null,
              )
            : null,
          action.screenshot_artifact_id
            ? screenshot(
                action.screenshot_artifact_id,
                detail.artifacts[action.screenshot_artifact_id] && detail.artifacts[action.screenshot_artifact_id].signed_url,
                `${block.label}, after ${action.action_type}`,
                "action",
              )
            : null,
        );
      });
      return el(
        "li",
        { class: "step" },
        el("h3", {}, `${block.label} `, badge(block.status)),
        block.url ? el("p", { class: "url" }, el("span", { class: "label", text: "Page: " }), block.url) : null,
        block.failure_reason ? el("p", { class: "error-text", text: block.failure_reason }) : null,
        acts.length ? el("ol", { class: "actions-list" }, acts) : null,
        shots.length ? el("div", { class: "shots" }, shots) : null,
        (entry.children || []).map((child) => thought(child)),
      );
    }

    function thought(entry) {
      const t = entry.thought;
      if (!t) return null;
      return el(
        "div",
        { class: "thought" },
        el("p", {}, el("span", { class: "label", text: `${t.thought_type || "thought"}: ` }), t.thought || ""),
        t.observation ? el("p", { class: "observation", text: t.observation }) : null,
        t.answer ? el("p", { class: "answer", text: t.answer }) : null,
      );
    }

    const deliveryColumns = [
      { head: "When", cell: (d) => when(d.at) },
      { head: "Attempt", cell: (d) => d.attempt },
      { head: "Answer", cell: (d) => d.status_code ?? "—" },
      { head: "Latency", cell: (d) => (d.latency_ms !== null ? `${d.latency_ms} ms` : "—") },
      { head: "Error", cell: (d) => d.error || "" },
    ];

    function draw(detail) {
      const focused = document.activeElement && document.activeElement.id;
      const run = detail.run;
      const title = run.title || (run.run_request && run.run_request.prompt) || run.run_id;
      document.title = `${title} — Altostratus`;
      heading.textContent = title;
      fill(statusLine, badge(run.status), ` ${run.run_id}`, detail.cancel_requested && !TERMINAL.has(run.status) ? " — stopping…" : "");
      fill(actions, 
        el("button", {
          type: "button",
          id: "cancel-run",
          class: "danger",
          text: "Cancel run",
          disabled: TERMINAL.has(run.status) || detail.cancel_requested,
          onclick: cancel,
        }),
        el("button", {
          type: "button",
          id: "retry-webhook",
          text: "Retry webhook",
          disabled: !TERMINAL.has(run.status) || !detail.webhook_url,
          onclick: retryWebhook,
        }),
      );
      const timelineItems = detail.timeline.map((entry) => (entry.type === "block" ? step(entry, detail) : el("li", { class: "step" }, thought(entry))));
      const recording = run.recording_url
        ? (() => {
            if (!video) {
              video = el("video", { controls: true, preload: "metadata", src: run.recording_url, id: "recording", "aria-label": "Recording of the run's browser" });
            }
            return section("recording-section", "Recording", video);
          })()
        : null;
      const finals = (detail.screenshot_ids || []).map((id, i) =>
        screenshot(id, run.screenshot_urls[i], `Screenshot ${i + 1} of the run (newest first)`, "latest"),
      );
      const files = run.downloaded_files || [];
      const deliveries = detail.deliveries || [];
      const failure = run.failure_reason
        ? section("failure", "Failure", el("p", { class: "error-text", text: run.failure_reason }))
        : null;
      const about = section("summary", "Summary", summary(detail));
      const request = section(
          "request",
          "Prompt and request",
          el("p", { class: "prompt-text", text: (run.run_request && run.run_request.prompt) || "" }),
          el("details", {}, el("summary", { text: "The request as submitted (secrets masked)" }), json(run.run_request || {})),
        );
      const steps = section("timeline", "Timeline", timelineItems.length ? el("ol", { class: "timeline" }, timelineItems) : el("p", { class: "empty", text: "No steps yet." }));
      const latest = finals.length ? section("screenshots", "Latest screenshots", el("div", { class: "shots" }, finals)) : null;
      const output = section("output", "Output", run.output === null || run.output === undefined ? el("p", { class: "empty", text: "No output yet." }) : json(run.output));
      const downloads = section(
          "files",
          "Downloaded files",
          fileList(files, "No files were downloaded.", "download", (f) => link(f.artifact_id, f.url)),
        );
      const webhook = section(
          "webhook",
          "Webhook",
          detail.webhook_url
            ? el(
                "div",
                {},
                el("p", {}, el("span", { class: "label", text: "Sent to: " }), detail.webhook_url),
                el("p", {}, el("span", { class: "label", text: "Status: " }), run.webhook_status || "pending", run.webhook_failure_reason ? ` — ${run.webhook_failure_reason}` : ""),
                deliveries.length
                  ? el(
                      "div",
                      { class: "table-wrap" },
                      listTable("deliveries", "Webhook deliveries", deliveryColumns, deliveries),
                    )
                  : el("p", { class: "empty", text: "No delivery attempts yet." }),
              )
            : el("p", { class: "empty", text: "This run has no webhook_url." }),
        );
      // What the run is first (a side column on wide screens), then what it did.
      fill(
        sections,
        el("div", { class: "col-side" }, failure, about, request, output, downloads, webhook),
        el("div", { class: "col-main" }, recording, steps, latest),
      );
      if (focused) {
        const again = document.getElementById(focused);
        if (again && again !== document.activeElement) again.focus();
      }
    }

    async function cancel() {
      notice.textContent = "";
      try {
        const result = await api("POST", `/viewer/api/runs/${encodeURIComponent(runId)}/cancel`);
        notice.textContent = result.status === "canceled" ? "The run was canceled." : "The run was asked to stop.";
      } catch (exc) {
        notice.textContent = exc.message;
      }
      refresh(true);
    }

    async function retryWebhook() {
      notice.textContent = "";
      try {
        const report = await api("POST", `/viewer/api/runs/${encodeURIComponent(runId)}/retry_webhook`);
        notice.textContent = report.error ? `The webhook could not be delivered: ${report.error}` : `The webhook was sent again (answer ${report.status_code}).`;
      } catch (exc) {
        notice.textContent = exc.message;
      }
      afterTerminal = 2;
      refresh(true);
    }

    let timer = null;
    async function refresh(force) {
      clearTimeout(timer);
      let detail;
      try {
        detail = await api("GET", `/viewer/api/runs/${encodeURIComponent(runId)}`);
      } catch (exc) {
        notice.textContent = exc.message;
        if (exc.status === 404) return;
        timer = setTimeout(refresh, POLL_MS * 2);
        return;
      }
      const run = detail.run;
      const version = `${run.modified_at}|${run.status}|${run.webhook_status}`;
      if (force || version !== lastVersion) {
        draw(detail);
        lastVersion = version;
      }
      if (run.status !== lastStatus) {
        if (lastStatus !== null) announce(`The run is now ${run.status.replace("_", " ")}.`);
        lastStatus = run.status;
      }
      if (!TERMINAL.has(run.status)) timer = setTimeout(refresh, POLL_MS);
      else if (afterTerminal-- > 0) timer = setTimeout(refresh, POLL_MS);
    }
    refresh(true);
  }

  // -- one browser session --

  function sessionPage() {
    const sessionId = decodeURIComponent(location.pathname.slice(BASE.length).split("/")[2] || "");
    showAccount();
    const SESSION_FINAL = new Set(["completed", "failed", "timeout"]);
    const heading = el("h1", { id: "session-title", text: `Browser session ${sessionId}` });
    const statusLine = el("p", { class: "status-line" });
    const notice = el("p", { class: "notice", role: "alert" });
    const sections = el("div", { class: "sections" });
    fill(main,
      el("nav", { "aria-label": "Breadcrumb", class: "crumbs" }, el("a", { href: `${BASE}/runs`, text: "All runs" })),
      heading,
      statusLine,
      notice,
      sections,
    );
    let lastVersion = null;
    let shotNode = null; // kept across redraws while the screenshot is the same one

    function section(id, title, ...content) {
      return el("section", { "aria-labelledby": `${id}-h`, id }, el("h2", { id: `${id}-h`, text: title }), ...content);
    }

    const runsColumns = [
      ...runColumns(),
      { head: "Steps", labelled: true, cell: (run) => run.step_count },
      { head: "Created", labelled: true, cell: (run) => when(run.created_at) },
      { head: "Finished", labelled: true, cell: (run) => when(run.finished_at) },
    ];

    function draw(detail) {
      const session = detail.session;
      document.title = `Browser session ${session.browser_session_id} — Altostratus`;
      fill(statusLine, badge(session.status), ` ${session.browser_session_id}`, session.runnable_id ? ` — in use by ${session.runnable_id}` : "");
      const facts = [
        ["Status", badge(session.status)],
        ["Session id", session.browser_session_id],
        ["Timeout", `${session.timeout} min`],
        ["In use by", session.runnable_id ? el("a", { href: `${BASE}/runs/${encodeURIComponent(session.runnable_id)}`, text: session.runnable_id }) : "—"],
        ["Created", when(session.created_at)],
        ["Started", when(session.started_at)],
        ["Ended", when(session.completed_at)],
        ["CDP address", session.browser_address || "—"],
      ];
      if (detail.live_view_url) {
        // A presigned link valid for minutes: every poll puts a fresh one in (see refresh).
        facts.push(["Live view", el("a", { href: detail.live_view_url, id: "live-view", target: "_blank", rel: "noopener noreferrer", text: "Watch the browser" })]);
      }
      if (detail.closed_reason) facts.push(["Reason", detail.closed_reason]);
      const about = section("summary", "Summary", el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])));
      const latest = detail.latest_screenshot;
      if (latest && (!shotNode || shotNode.dataset.artifactId !== latest.artifact_id)) {
        shotNode = el("img", {
          src: latest.url,
          alt: `The session's latest screenshot, taken by run ${latest.run_id}`,
          class: "latest-shot",
          id: "latest-screenshot",
          "data-artifact-id": latest.artifact_id,
        });
      }
      const screen = section(
        "screenshot",
        "Latest screenshot",
        latest ? shotNode : el("p", { class: "empty", text: "No run in this session has taken a screenshot yet." }),
      );
      const runs = detail.runs.length
        ? el(
            "div",
            { class: "table-wrap" },
            listTable("runs", "Runs of this session, newest first", runsColumns, detail.runs, runRow),
          )
        : el("p", { class: "empty", text: "No run has used this session yet." });
      fill(
        sections,
        el("div", { class: "col-side" }, about,
          section("files", "Downloaded files", fileList(session.downloaded_files || [], "No files were downloaded.", "download")),
          section("recordings", "Recordings", fileList(session.recordings || [], "No recordings yet.", "recording")),
        ),
        el("div", { class: "col-main" }, section("session-runs", "Runs", runs), screen),
      );
    }

    let timer = null;
    async function refresh() {
      clearTimeout(timer);
      let detail;
      try {
        detail = await api("GET", `/viewer/api/browser_sessions/${encodeURIComponent(sessionId)}`);
        notice.textContent = "";
      } catch (exc) {
        notice.textContent = exc.message;
        if (exc.status !== 404) timer = setTimeout(refresh, POLL_MS * 2);
        return;
      }
      const session = detail.session;
      const version = `${session.modified_at}|${session.status}|${detail.runs.map((r) => r.run_id + r.status).join(",")}|${detail.latest_screenshot && detail.latest_screenshot.artifact_id}`;
      if (version !== lastVersion) {
        draw(detail);
        lastVersion = version;
      }
      const liveLink = document.getElementById("live-view");
      if (liveLink && detail.live_view_url) liveLink.href = detail.live_view_url;
      const busy = detail.runs.some((r) => !TERMINAL.has(r.status));
      if (!SESSION_FINAL.has(session.status) || busy) timer = setTimeout(refresh, POLL_MS * 2);
    }
    refresh();
  }

  if (PAGE === "signin") signinPage();
  else if (PAGE === "runs") runsPage();
  else if (PAGE === "run") runPage();
  else if (PAGE === "session") sessionPage();
})();
